import { Row, TableDef } from './sql-catalog';

/**
 * Injection token for a function that loads the selected adapter. Adapters pull in heavy
 * client libraries, so BatchWriter loads one only after the server listens (see warmUp).
 */
export const WAREHOUSE_LOADER = Symbol('WAREHOUSE_LOADER');
export type WarehouseLoader = () => Promise<Warehouse>;

/**
 * The port every warehouse engine implements. Batching, retries and limits live above it,
 * in BatchWriter; an adapter only knows how to write one batch and how to apply sql/.
 */
export interface Warehouse {
  /** Readies the client for writes. Called lazily and again after a failure, so it must be idempotent. */
  prepare(): Promise<void>;

  /**
   * Writes one batch as one parameterized multi-row INSERT. `batchId` is the same on every
   * retry of a batch, so that an engine that can deduplicate on it never stores a batch twice.
   */
  insert(table: TableDef, rows: readonly Row[], batchId: string): Promise<void>;

  /** Creates what is missing (dataset, tables, new nullable columns, views) and says what it did. */
  applySchema(): Promise<string[]>;

  /**
   * Runs a read-only query written in BigQuery SQL with the {{dataset}} placeholder (the
   * adapter renders it for its engine), e.g. for `npm run report`. Values come back as JS values.
   */
  query(sql: string): Promise<Record<string, unknown>[]>;

  close(): Promise<void>;
}

/** What an adapter throws when a write fails; `retryable` tells BatchWriter whether to try again. */
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
