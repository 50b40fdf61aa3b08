import { Row } from './contracts';

/** Around each row: `{"structValues":{` ... `}},` in the query parameter. */
const ROW_OVERHEAD_BYTES = 24;
/** Around each value: `"name":{"value":` ... `},` (numbers and booleans travel as strings). */
const COLUMN_OVERHEAD_BYTES = 16;
/** A TIMESTAMP as the client sends it, e.g. "2024-05-01T10:00:00.000000Z", with room to spare. */
const DATE_BYTES = 40;

/**
 * An upper bound of a row's share of the serialized INSERT request, in bytes: each value as JSON
 * (strings JSON-escaped, in UTF-8), its name and the wrapping the query parameter puts around it.
 * Computed once per row, when it is queued; BatchWriter sums it to keep each request under
 * BATCH_MAX_BYTES. DuckDB binds values directly; the same bound serves it as a memory bound.
 */
export function estimateRowBytes(row: Row): number {
  let bytes = ROW_OVERHEAD_BYTES;
  for (const [name, value] of Object.entries(row)) {
    bytes += Buffer.byteLength(name) + COLUMN_OVERHEAD_BYTES;
    if (value === null || value === undefined) bytes += 4;
    else if (value instanceof Date) bytes += DATE_BYTES;
    else if (typeof value === 'string') bytes += Buffer.byteLength(JSON.stringify(value));
    else bytes += String(value).length + 2;
  }
  return bytes;
}
