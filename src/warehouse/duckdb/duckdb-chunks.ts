import {
  BIGINT,
  BOOLEAN,
  DATE,
  DOUBLE,
  DuckDBDataChunk,
  DuckDBDateValue,
  DuckDBTimestampValue,
  DuckDBType,
  DuckDBValue,
  DuckDBVector,
  TIMESTAMP,
  VARCHAR,
} from '@duckdb/node-api';
import { Column, ColumnType, Row, RowValue, TableDef } from '../contracts';

export const DUCKDB_TYPES: Record<ColumnType, DuckDBType> = {
  STRING: VARCHAR,
  INT64: BIGINT,
  FLOAT64: DOUBLE,
  BOOL: BOOLEAN,
  TIMESTAMP,
  DATE,
};

/** A value its column cannot hold: the batch would fail again however often it is retried. */
export class RefusedValue extends Error {}

/**
 * A table's columns in the order DuckDB stores them, each the contract's column of that name, or
 * undefined for a column sql/ no longer has (written NULL). It is sql/'s order only for a table
 * created from it: applySchema adds later columns at the end, and an appender fills every column.
 */
export type Layout = readonly (Column | undefined)[];

export function layoutOf(table: TableDef, storedColumns: readonly string[]): Layout {
  const missing = table.columns.find((c) => !storedColumns.includes(c.name));
  if (missing) throw new Error(`DuckDB table ${table.name} has no column ${missing.name}: sql/ is not applied`);
  return storedColumns.map((name) => table.columns.find((c) => c.name === name));
}

/** Each returns undefined for a value the column cannot hold. */
const TO_DUCKDB: Record<ColumnType, (value: RowValue) => DuckDBValue | undefined> = {
  STRING: (v) => (typeof v === 'string' ? v : undefined),
  INT64: (v) => (typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : undefined),
  FLOAT64: (v) => (typeof v === 'number' ? v : undefined),
  BOOL: (v) => (typeof v === 'boolean' ? v : undefined),
  TIMESTAMP: (v) => (isDate(v) ? new DuckDBTimestampValue(BigInt(v.getTime()) * 1000n) : undefined),
  DATE: (v) => (isDate(v) ? new DuckDBDateValue(Math.floor(v.getTime() / 86_400_000)) : undefined),
};

/**
 * The rows as DuckDB data chunks (at most 2,048 rows each), column by column, for an appender.
 * Every value is checked against its column first, so that a refusal is known to be the batch's
 * fault, and is reported without the value (logs never carry event data).
 * `kept`: chunks of this layout that an appender has copied already; they are emptied and filled
 * again, and the ones created here are added to it. A chunk's memory is DuckDB's, freed only when
 * V8 collects its wrapper: a new chunk per batch would leave its memory to V8's next full collection.
 */
export function toChunks(table: TableDef, layout: Layout, rows: readonly Row[], kept: DuckDBDataChunk[] = []): DuckDBDataChunk[] {
  const size = DuckDBVector.standardSize();
  const types = layout.map((column) => (column ? DUCKDB_TYPES[column.type] : VARCHAR));
  const chunkCount = Math.ceil(rows.length / size);
  while (kept.length < chunkCount) kept.push(DuckDBDataChunk.create(types));
  const chunks = kept.slice(0, chunkCount);
  for (const [i, chunk] of chunks.entries()) {
    const start = i * size;
    const count = Math.min(size, rows.length - start);
    chunk.reset();
    chunk.rowCount = count; // also drops the vectors read for the previous rows
    layout.forEach((column, c) => {
      const vector = chunk.getColumnVector(c);
      for (let r = 0; r < count; r++) vector.setItem(r, column ? checked(table, column, rows[start + r][column.name]) : null);
      vector.flush();
    });
  }
  return chunks;
}

function checked(table: TableDef, column: Column, value: RowValue | undefined): DuckDBValue {
  if (value === null || value === undefined) {
    if (column.nullable) return null;
    throw new RefusedValue(`Constraint Error: NOT NULL constraint failed: ${table.name}.${column.name}`);
  }
  const converted = TO_DUCKDB[column.type](value);
  if (converted === undefined) {
    const what = value instanceof Date ? 'an invalid Date' : `a ${typeof value}`;
    throw new RefusedValue(`Conversion Error: ${table.name}.${column.name} (${column.type}) cannot hold the row's value (${what})`);
  }
  return converted;
}

function isDate(value: RowValue): value is Date {
  return value instanceof Date && !Number.isNaN(value.getTime());
}
