import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import {
  bufferTime,
  catchError,
  concat,
  concatMap,
  defer,
  EMPTY,
  filter,
  map,
  Observable,
  retry,
  Subject,
  Subscription,
  tap,
  throwError,
  timer,
} from 'rxjs';
import { AppConfig } from '../config/app-config';
import { Row, SqlCatalog, TABLE_NAMES, TableName, TableRow } from './contracts';
import { WAREHOUSE, WarehouseLoader } from './warehouse.factory';
import { estimateRowBytes } from './row-size';
import { WarehouseSink, WarehouseWriteError, WriteResult } from './warehouse-sink';
import { TIMED_OUT, within } from './within';

const MAX_RETRY_DELAY_MS = 60_000;
const RETRY_DELAY_WHILE_CLOSING_MS = 250;
const DROP_LOG_INTERVAL_MS = 10_000;
/** How often tables are checked for a stalled oldest row. */
const STALL_CHECK_INTERVAL_MS = 10_000;
/** The least time between two ERROR lines about one stalled table. */
const STALL_LOG_INTERVAL_MS = 60_000;

/** Where BatchWriter counts what became of rows; the stats module provides it. */
export const WRITE_COUNTS = Symbol('WRITE_COUNTS');
export interface WriteCounts {
  add(table: TableName, counter: 'written' | 'retried' | 'dropped' | 'miscounted' | 'inserts', n?: number): void;
}

/** What the health routes read from the writer. */
export const WRITER_STATUS = Symbol('WRITER_STATUS');
export interface WriterStatus {
  /** Loads and opens the warehouse; rejects while it cannot. */
  ensureReady(): Promise<unknown>;
  /** Rows accepted per table and not yet written or dropped. */
  pendingByTable(): Record<TableName, number>;
  /** Tables whose oldest pending row has waited longer than STALLED_TABLE_MS, with that row's age. */
  stalledTables(): Partial<Record<TableName, { oldestPendingMs: number }>>;
}

/** A queued row, its share of an INSERT request (estimated once, when it is queued) and when it was queued. */
interface Entry {
  readonly row: Row;
  readonly bytes: number;
  readonly queuedAt: number;
}

interface TableQueue {
  readonly input: Subject<Entry>;
  /** Rows of closed batches that wait for the write in flight to end. */
  readonly backlog: Entry[];
  /** The batch being written (and retried, or split), if any: its first row is the oldest pending. */
  writing?: readonly Entry[];
  /** When the table's stall was last logged, while it lasts. */
  stallLoggedAt?: number;
  /** Rows accepted but not yet written or dropped: what bounds memory. */
  pending: number;
  /** Rows ever accepted, and ever written or dropped after acceptance: what whenSettled() compares. */
  accepted: number;
  settled: number;
  readonly drained: Promise<void>;
  subscription?: Subscription;
  /** Drops not logged yet in this log window, per reason. */
  readonly unloggedDrops: Map<string, number>;
  dropLogTimer?: NodeJS.Timeout;
}

/**
 * Fire-and-forget writes: one RxJS pipeline per table buffers rows and writes them as one
 * INSERT per batch, closed at BATCH_SIZE rows or after FLUSH_INTERVAL_MS, and never larger than
 * BATCH_MAX_BYTES (each row's size is estimated once, when it is queued). concatMap keeps at most
 * one write in flight per table, and batches that close meanwhile are merged. A batch that fails
 * retryably is retried with jittered backoff under the same batch id; one that fails permanently
 * is split in halves, each with its own id derived from its parent's, until the rows the
 * warehouse refuses stand alone: only those are dropped. Past MAX_BUFFERED_EVENTS pending rows
 * in a table, or MAX_BUFFERED_BYTES pending in all, new rows are dropped and counted.
 */
@Injectable()
export class BatchWriter implements WriterStatus, OnApplicationShutdown {
  private readonly logger = new Logger(BatchWriter.name);
  private readonly queues = new Map<TableName, TableQueue>();
  private readonly settledWaiters = new Set<{ targets: Map<TableQueue, number>; resolve: () => void }>();
  private sink?: WarehouseSink;
  private closing = false;
  /** Bytes of every row accepted and not yet written or dropped, all tables together. */
  private pendingBytes = 0;
  private readonly stallTimer: NodeJS.Timeout;

  constructor(
    @Inject(WAREHOUSE) private readonly loadSink: WarehouseLoader<WarehouseSink>,
    private readonly catalog: SqlCatalog,
    private readonly config: AppConfig,
    @Inject(WRITE_COUNTS) private readonly counts: WriteCounts,
  ) {
    for (const table of TABLE_NAMES) this.queues.set(table, this.startPipeline(table));
    this.stallTimer = setInterval(() => this.logStalledTables(), STALL_CHECK_INTERVAL_MS).unref();
  }

  /** Queues a row for its table. Never throws and never waits; false when the row was dropped. */
  enqueue<T extends TableName>(table: T, row: TableRow<T>): boolean {
    const queue = this.queues.get(table)!;
    const { maxBufferedEvents, maxBufferedBytes } = this.config;
    if (this.closing || queue.pending >= maxBufferedEvents) {
      this.countDrop(table, queue, this.closing ? 'shutting down' : `more than ${maxBufferedEvents} rows waiting`);
      return false;
    }
    const bytes = estimateRowBytes(row);
    if (this.pendingBytes + bytes > maxBufferedBytes) {
      this.countDrop(table, queue, `more than ${maxBufferedBytes} bytes waiting`);
      return false;
    }
    queue.pending++;
    queue.accepted++;
    this.pendingBytes += bytes;
    queue.input.next({ row, bytes, queuedAt: Date.now() });
    return true;
  }

  /** Rows accepted for a table and not yet written or dropped. */
  pending(table: TableName): number {
    return this.queues.get(table)!.pending;
  }

  pendingByTable(): Record<TableName, number> {
    return Object.fromEntries(TABLE_NAMES.map((t) => [t, this.pending(t)])) as Record<TableName, number>;
  }

  /** Bytes of the rows waiting for the warehouse, all tables together: what MAX_BUFFERED_BYTES bounds. */
  bufferedBytes(): number {
    return this.pendingBytes;
  }

  stalledTables(): Partial<Record<TableName, { oldestPendingMs: number }>> {
    const now = Date.now();
    const stalled: Partial<Record<TableName, { oldestPendingMs: number }>> = {};
    for (const [table, queue] of this.queues) {
      const oldest = queue.writing?.[0]?.queuedAt ?? queue.backlog[0]?.queuedAt;
      if (oldest !== undefined && now - oldest > this.config.stalledTableMs) stalled[table] = { oldestPendingMs: now - oldest };
    }
    return stalled;
  }

  /** Resolves once every row accepted before the call has been written or dropped (at the latest, at shutdown). */
  whenSettled(): Promise<void> {
    const targets = new Map([...this.queues.values()].map((q) => [q, q.accepted]));
    return new Promise((resolve) => {
      const waiter = { targets, resolve };
      this.settledWaiters.add(waiter);
      this.resolveSettled();
    });
  }

  /** Loads and opens the warehouse once; a failure is retried by the next caller. */
  async ensureReady(): Promise<WarehouseSink> {
    this.sink = await this.loadSink();
    return this.sink;
  }

  /**
   * Readies the warehouse in the background. main.ts calls it shortly after the server
   * listens, so that loading a heavy client library never delays an instance's first answer.
   */
  warmUp(): void {
    this.ensureReady().catch((error: unknown) =>
      this.logger.error({ message: 'Warehouse not ready yet, events are buffered', reason: describe(error).message }),
    );
  }

  /** Runs after the HTTP server has stopped taking requests: flushes every buffered row, within a deadline. */
  async onApplicationShutdown(): Promise<void> {
    this.closing = true;
    clearInterval(this.stallTimer);
    for (const queue of this.queues.values()) queue.input.complete();
    const drained = Promise.all([...this.queues.values()].map((q) => q.drained));
    if ((await within(drained, this.config.shutdownFlushTimeoutMs)) === TIMED_OUT) {
      for (const [table, queue] of this.queues) {
        // Counted as dropped below: no write or retry of these rows may start after that.
        queue.subscription?.unsubscribe();
        if (queue.pending > 0) {
          this.counts.add(table, 'dropped', queue.pending);
          this.logger.error({
            message: 'Shutdown flush deadline passed, rows not written',
            table,
            rows: queue.pending,
            deadlineMs: this.config.shutdownFlushTimeoutMs,
          });
        }
      }
    }
    // The last drops before the signal would otherwise wait for a log window that never ends.
    for (const [table, queue] of this.queues) {
      clearTimeout(queue.dropLogTimer);
      queue.dropLogTimer = undefined;
      this.logDrops(table, queue);
    }
    for (const waiter of this.settledWaiters) waiter.resolve();
    this.settledWaiters.clear();
    await this.sink?.close();
  }

  private startPipeline(table: TableName): TableQueue {
    const input = new Subject<Entry>();
    let resolveDrained!: () => void;
    const drained = new Promise<void>((resolve) => (resolveDrained = resolve));
    const queue: TableQueue = { input, backlog: [], pending: 0, accepted: 0, settled: 0, drained, unloggedDrops: new Map() };
    // Writes batches off the backlog, one after the other, until it is empty.
    const drain = (): Observable<void> =>
      defer(() => {
        if (queue.backlog.length === 0) return EMPTY;
        const batch = this.take(queue);
        queue.writing = batch;
        return concat(
          this.writeBatch(table, queue, batch, randomUUID()).pipe(tap({ finalize: () => (queue.writing = undefined) })),
          drain(),
        );
      });
    queue.subscription = input
      .pipe(
        bufferTime(this.config.flushIntervalMs, null, this.config.batchSize),
        filter((entries) => entries.length > 0),
        // Batches that close while a write is in flight (a slow or rate-limited warehouse) are
        // merged into the next INSERT, up to BATCH_SIZE rows: fewer statements when they count most.
        tap((entries) => queue.backlog.push(...entries)),
        concatMap(drain),
      )
      .subscribe({ complete: resolveDrained });
    return queue;
  }

  /** The next batch off the backlog: up to BATCH_SIZE rows, and up to BATCH_MAX_BYTES (at least one row). */
  private take(queue: TableQueue): Entry[] {
    const { batchSize, batchMaxBytes } = this.config;
    let n = 0;
    let bytes = 0;
    while (n < queue.backlog.length && n < batchSize && (n === 0 || bytes + queue.backlog[n].bytes <= batchMaxBytes)) {
      bytes += queue.backlog[n].bytes;
      n++;
    }
    return queue.backlog.splice(0, n);
  }

  /**
   * Writes one batch under its id, retrying what may succeed later. A permanent failure of more
   * than one row splits the batch in halves, `${batchId}-0` and `${batchId}-1`, written one after
   * the other: deterministic ids, so that a lost answer never stores a half twice.
   */
  private writeBatch(table: TableName, queue: TableQueue, entries: readonly Entry[], batchId: string): Observable<void> {
    const def = this.catalog.table(table);
    const rows = entries.map((entry) => entry.row);
    const maxAttempts = this.config.writeMaxAttempts;
    let attempt = 0;
    return defer(async () => {
      attempt++;
      const sink = await this.ensureReady();
      return sink.write(def, rows, batchId);
    }).pipe(
      retry({
        count: maxAttempts - 1,
        delay: (error: unknown) => {
          const { reason, retryable } = describe(error);
          this.logger.warn({ message: 'Batch write failed', table, rows: rows.length, attempt, maxAttempts, reason, retryable });
          if (!retryable) return throwError(() => error);
          this.counts.add(table, 'retried');
          return timer(this.retryDelay(attempt));
        },
      }),
      tap((result) => {
        this.counts.add(table, 'written', rows.length);
        this.counts.add(table, 'inserts');
        this.checkAffectedRows(table, rows.length, batchId, result);
        this.settle(queue, entries);
      }),
      map(() => undefined),
      catchError((error: unknown) => {
        const { reason, retryable } = describe(error);
        if (!retryable && rows.length > 1) {
          const half = Math.ceil(entries.length / 2);
          this.logger.warn({ message: 'Batch split to isolate the rows the warehouse refuses', table, rows: rows.length, batchId, reason });
          return concat(
            this.writeBatch(table, queue, entries.slice(0, half), `${batchId}-0`),
            this.writeBatch(table, queue, entries.slice(half), `${batchId}-1`),
          );
        }
        // Never the values: the batch id finds the job in the warehouse's own logs.
        this.counts.add(table, 'dropped', rows.length);
        this.logger.error({ message: 'Batch dropped', table, rows: rows.length, attempt, maxAttempts, reason, batchId });
        this.settle(queue, entries);
        return EMPTY;
      }),
    );
  }

  /**
   * A statement that finished but says it inserted another number of rows than sent is not
   * retried (it may have written some of them): it is logged and the difference counted.
   */
  private checkAffectedRows(table: TableName, sent: number, batchId: string, result: WriteResult | void): void {
    const affected = result?.affectedRows;
    if (affected === undefined || affected === sent) return;
    this.counts.add(table, 'miscounted', Math.abs(affected - sent));
    this.logger.error({ message: 'Warehouse reports another row count than was sent', table, sent, affected, batchId });
  }

  private settle(queue: TableQueue, entries: readonly Entry[]): void {
    queue.pending -= entries.length;
    queue.settled += entries.length;
    for (const entry of entries) this.pendingBytes -= entry.bytes;
    this.resolveSettled();
  }

  /**
   * A table whose oldest row has waited too long (a warehouse down for minutes, a quota spent, a
   * request that never ends) is logged at ERROR, at most once a minute while it lasts, and once
   * more when it moves again.
   */
  private logStalledTables(): void {
    const stalled = this.stalledTables();
    const now = Date.now();
    for (const [table, queue] of this.queues) {
      const stall = stalled[table];
      if (!stall) {
        if (queue.stallLoggedAt !== undefined) this.logger.log({ message: 'Table no longer stalled', table, pending: queue.pending });
        queue.stallLoggedAt = undefined;
        continue;
      }
      if (queue.stallLoggedAt !== undefined && now - queue.stallLoggedAt < STALL_LOG_INTERVAL_MS) continue;
      queue.stallLoggedAt = now;
      this.logger.error({
        message: 'Table stalled: its oldest pending row waits longer than STALLED_TABLE_MS',
        table,
        oldestPendingMs: stall.oldestPendingMs,
        pending: queue.pending,
        thresholdMs: this.config.stalledTableMs,
      });
    }
  }

  private resolveSettled(): void {
    for (const waiter of this.settledWaiters) {
      if ([...waiter.targets].every(([queue, target]) => queue.settled >= target)) {
        this.settledWaiters.delete(waiter);
        waiter.resolve();
      }
    }
  }

  /** Exponential backoff with "equal jitter", so that instances retrying together spread out. */
  private retryDelay(attempt: number): number {
    if (this.closing) return RETRY_DELAY_WHILE_CLOSING_MS;
    const ceiling = Math.min(MAX_RETRY_DELAY_MS, this.config.retryBaseDelayMs * 2 ** (attempt - 1));
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }

  /**
   * Counts every drop and logs it: the first at once, the rest of a DROP_LOG_INTERVAL_MS window
   * at its end, one line per reason, so that a flood of drops cannot flood the logs.
   */
  private countDrop(table: TableName, queue: TableQueue, why: string): void {
    this.counts.add(table, 'dropped');
    queue.unloggedDrops.set(why, (queue.unloggedDrops.get(why) ?? 0) + 1);
    if (queue.dropLogTimer) return;
    this.logDrops(table, queue);
    queue.dropLogTimer = setTimeout(() => {
      queue.dropLogTimer = undefined;
      this.logDrops(table, queue);
    }, DROP_LOG_INTERVAL_MS).unref();
  }

  private logDrops(table: TableName, queue: TableQueue): void {
    for (const [reason, rows] of queue.unloggedDrops) this.logger.error({ message: 'Events dropped', table, rows, reason });
    queue.unloggedDrops.clear();
  }
}

function describe(error: unknown): { message: string; reason: string; retryable: boolean } {
  if (error instanceof WarehouseWriteError) return { message: error.message, reason: error.reason, retryable: error.retryable };
  const message = error instanceof Error ? error.message : String(error);
  return { message, reason: message, retryable: true };
}
