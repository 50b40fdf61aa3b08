import { Row, TableDef } from './contracts';

/**
 * The ingest role: what BatchWriter needs from an engine. Batching, retries and limits live
 * above it, in BatchWriter; a sink only knows how to write one batch.
 */
export interface WarehouseSink {
  /**
   * Makes the engine ready to take writes, so that the first batch does not wait for it: BigQuery
   * builds its client (no network); DuckDB opens its file and applies sql/, since nothing else sets
   * up an embedded file. Called once per process by the warehouse module, and again after a failure.
   */
  open(): Promise<void>;

  /**
   * Writes one batch, all or nothing. `batchId` is the same on every retry of a batch, so that an
   * engine that can deduplicate on it never stores a batch twice. Throws a WarehouseWriteError.
   * Resolves with what the engine says it did, when it says (BigQuery: numDmlAffectedRows).
   */
  write(table: TableDef, rows: readonly Row[], batchId: string): Promise<WriteResult | void>;

  close(): Promise<void>;
}

/** What an engine reports of a finished write. */
export interface WriteResult {
  /** Rows the engine says the statement inserted, when it says. */
  readonly affectedRows?: number;
}

/** What a sink throws when a write fails; `retryable` tells BatchWriter whether to try again. */
export class WarehouseWriteError extends Error {
  constructor(
    message: string,
    readonly reason: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
