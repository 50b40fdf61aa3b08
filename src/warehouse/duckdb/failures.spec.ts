import { WarehouseWriteError } from '../warehouse-sink';
import { RefusedValue } from './duckdb-chunks';
import { timeoutError, writeError } from './failures';

/** Which DuckDB failures BatchWriter retries and which split the batch; the messages are DuckDB's own. */
describe('DuckDB write failures', () => {
  it.each([
    ['Constraint Error: NOT NULL constraint failed: website_events.path', false],
    ['Failed to append: NOT NULL constraint failed: website_events.legacy', false],
    ['Conversion Error: Could not convert string to INT64', false],
    ['Binder Error: Referenced column "x" not found', false],
    ['Parser Error: syntax error at or near "x"', false],
    ['Invalid Input Error: Attempting to execute an unsuccessful or closed pending query result', false],
    ['IO Error: Could not write file "analytics.duckdb.wal": No space left on device', true],
    ['Out of Memory Error: failed to allocate data of size 8.0 MiB (30.2 MiB/30.5 MiB used)', true],
    ['TransactionContext Error: cannot start a transaction within a transaction', true],
    ['INTERRUPT Error: Interrupted!', true],
  ])('%s: retryable=%s, reported as it is', (message, retryable) => {
    const cause = new Error(message);
    const error = writeError(cause);
    expect(error).toMatchObject({ message, reason: message, retryable, cause });
  });

  it('drops the "Error: " the binding may put before DuckDB\'s own kind, and keeps the first line as the reason', () => {
    expect(writeError(new Error('Error: Constraint Error: NOT NULL constraint failed: telemetry.os\nLINE 1: ...'))).toMatchObject({
      reason: 'Constraint Error: NOT NULL constraint failed: telemetry.os',
      retryable: false,
    });
  });

  it('calls a value its column refuses permanent, and passes a WarehouseWriteError through', () => {
    expect(writeError(new RefusedValue('Conversion Error: t.c (INT64) cannot hold the row value (a string)'))).toMatchObject({
      reason: 'Conversion Error: t.c (INT64) cannot hold the row value (a string)',
      retryable: false,
    });
    const timeout = new WarehouseWriteError('late', 'timeout', true);
    expect(writeError(timeout)).toBe(timeout);
  });

  it('makes a late write a retryable WarehouseWriteError, and a late read or schema change a plain error', () => {
    const cause = new Error('INTERRUPT Error: Interrupted!');
    expect(timeoutError('write', 30_000, cause)).toMatchObject({
      constructor: WarehouseWriteError,
      message: 'DuckDB write did not finish within 30000 ms (WAREHOUSE_TIMEOUT_MS)',
      reason: 'timeout',
      retryable: true,
      cause,
    });
    for (const what of ['read', 'schema change'] as const) {
      const error = timeoutError(what, 50, cause);
      expect(error).not.toBeInstanceOf(WarehouseWriteError);
      expect(error).toMatchObject({ message: `DuckDB ${what} did not finish within 50 ms (WAREHOUSE_TIMEOUT_MS)`, cause });
    }
  });
});
