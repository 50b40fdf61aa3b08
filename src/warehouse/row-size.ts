import { Row } from './contracts';

/** Around each row: `{"structValues":{` ... `}},` in the query parameter. */
const ROW_OVERHEAD_BYTES = 24;
/** Around each value: `"name":{"value":` ... `},` (numbers and booleans travel as JSON literals). */
const COLUMN_OVERHEAD_BYTES = 16;
/** A TIMESTAMP as the client sends it, e.g. "2024-05-01T10:00:00.000Z", with room to spare. */
const DATE_BYTES = 40;
/** What JSON.stringify escapes (quote, backslash, control characters) or may (a lone surrogate): the slow path. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what JSON escapes
const ESCAPED = /["\\\u0000-\u001f\ud800-\udfff]/;
/** Column names and their share of a row: a few names, met on every row. */
const nameBytes = new Map<string, number>();
const MAX_NAMES = 256;

/**
 * An upper bound of a row's share of the serialized INSERT request, in bytes: each value as JSON
 * (strings JSON-escaped, in UTF-8), its name and the wrapping the query parameter puts around it.
 * Computed once per row, when it is queued; BatchWriter sums it to keep each request under
 * BATCH_MAX_BYTES. DuckDB binds values directly; the same bound serves it as a memory bound.
 * Exact for text, without building the JSON: a string with nothing to escape is its UTF-8 length
 * and two quotes (Buffer.byteLength does not copy it); only one that JSON escapes is serialized.
 */
export function estimateRowBytes(row: Row): number {
  let bytes = ROW_OVERHEAD_BYTES;
  for (const name in row) {
    let named = nameBytes.get(name);
    if (named === undefined) {
      named = jsonBytes(name) - 2 + COLUMN_OVERHEAD_BYTES;
      if (nameBytes.size < MAX_NAMES) nameBytes.set(name, named);
    }
    bytes += named;
    const value = row[name];
    if (value === null || value === undefined) bytes += 4;
    else if (typeof value === 'string') bytes += jsonBytes(value);
    else if (value instanceof Date) bytes += DATE_BYTES;
    else bytes += String(value).length + 2;
  }
  return bytes;
}

/** Bytes of a string as a JSON string literal, in UTF-8. */
function jsonBytes(text: string): number {
  return ESCAPED.test(text) ? Buffer.byteLength(JSON.stringify(text)) : Buffer.byteLength(text) + 2;
}
