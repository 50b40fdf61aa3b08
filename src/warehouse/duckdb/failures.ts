import { WarehouseWriteError } from '../warehouse-sink';
import { RefusedValue } from './duckdb-chunks';

/**
 * Errors that will fail again however often the same batch is retried. DuckDB's appender reports
 * its own without the "<Kind> Error:" prefix ("Failed to append: NOT NULL constraint failed: ...").
 */
const PERMANENT = /^(Conversion|Constraint|Binder|Parser|Invalid Input) Error|^Failed to append: .*constraint failed/;

/** What a failed write throws: permanent (the batch is split) or retryable. */
export function writeError(error: unknown): WarehouseWriteError {
  if (error instanceof WarehouseWriteError) return error;
  if (error instanceof RefusedValue) return new WarehouseWriteError(error.message, error.message, false);
  // The binding prefixes DuckDB's own "<Kind> Error: ..." with "Error: ".
  const message = (error instanceof Error ? error.message : String(error)).replace(/^Error: /, '');
  return new WarehouseWriteError(message, message.split('\n')[0], !PERMANENT.test(message), { cause: error });
}

/** What a call that missed WAREHOUSE_TIMEOUT_MS throws: a write's is retried like any transient failure. */
export function timeoutError(what: 'write' | 'read' | 'schema change', ms: number, cause: unknown): Error {
  const message = `DuckDB ${what} did not finish within ${ms} ms (WAREHOUSE_TIMEOUT_MS)`;
  return what === 'write' ? new WarehouseWriteError(message, 'timeout', true, { cause }) : new Error(message, { cause });
}
