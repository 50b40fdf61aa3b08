import {
  BIGINT,
  BOOLEAN,
  DATE,
  DOUBLE,
  DuckDBAppender,
  DuckDBConnection,
  DuckDBDataChunk,
  DuckDBDateValue,
  DuckDBInstance,
  DuckDBTimestampValue,
  DuckDBType,
  DuckDBValue,
  TIMESTAMP,
  VARCHAR,
} from '@duckdb/node-api';
import { Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AppConfig } from '../../config/app-config';
import { ColumnType, Row, RowValue, SqlCatalog, TableDef } from '../contracts';
import { Warehouse } from '../warehouse.factory';
import { TIMED_OUT, within } from '../within';
import { assertReadOnly, CalendarDate, QueryParams, QueryStats } from '../warehouse-reader';
import { Deadline } from './deadline';
import { DUCKDB_TYPES, Layout, layoutOf, toChunks } from './duckdb-chunks';
import { DUCKDB_MACROS, toDuckDb } from './duckdb-dialect';
import { timeoutError, writeError } from './failures';

/** How long close() waits for a call still under way. */
export const CLOSE_WAIT_MS = 500;

/** A table's appender inputs, kept across batches: see toChunks() for why the chunks are reused. */
interface TableAppend {
  layout: Layout;
  chunks: DuckDBDataChunk[];
}

/** The embedded warehouse: a DuckDB file (or :memory:) in the API's own process. */
export class DuckDbWarehouse implements Warehouse {
  private readonly logger = new Logger(DuckDbWarehouse.name);
  private instance?: DuckDBInstance;
  private connection?: DuckDBConnection;
  /** One connection runs one statement at a time; this queue keeps writes and reads in turn. It never rejects. */
  private queue: Promise<void> = Promise.resolve();
  private opened?: Promise<void>;
  /** The file's catalog: an appender needs it spelled out when it has the dataset's name (analytics.duckdb). */
  private catalogName?: string;
  /** Per table, what its appends reuse: where each column goes (read once from the file), and the data chunks. */
  private readonly appends = new Map<string, TableAppend>();

  constructor(
    private readonly config: AppConfig,
    private readonly catalog: SqlCatalog,
  ) {}

  /** The API owns its embedded file: opening it applies sql/ (once per process), as warehouse:setup would. */
  open(): Promise<void> {
    this.opened ??= this.applySchema().then(
      () => undefined,
      (error: unknown) => {
        this.opened = undefined;
        throw error;
      },
    );
    return this.opened;
  }

  applySchema(): Promise<string[]> {
    return this.serialized('schema change', async (db, deadline) => {
      const run = (sql: string) => deadline.interruptible(db, () => db.run(sql));
      const schema = this.config.dataset;
      const done: string[] = [];
      this.appends.clear();
      for (const macro of DUCKDB_MACROS) await run(macro);
      for (const table of this.catalog.tables) {
        const existing = await deadline.interruptible(db, () => this.columnsOf(db, table.name));
        if (existing.length === 0) {
          await run(toDuckDb(table.sql));
          done.push(`created table ${schema}.${table.name}`);
          continue;
        }
        for (const column of table.columns.filter((c) => !existing.includes(c.name))) {
          await run(`ALTER TABLE "${table.name}" ADD COLUMN "${column.name}" ${DUCKDB_TYPES[column.type].toString()}`);
          done.push(`added column ${schema}.${table.name}.${column.name}`);
        }
      }
      const applied = await deadline.interruptible(db, () => this.viewFingerprints(db));
      for (const view of this.catalog.views) {
        const sql = toDuckDb(view.sql);
        const fingerprint = createHash('sha256').update(sql).digest('hex');
        if (applied.get(view.name) === fingerprint) continue;
        await run(sql);
        // DuckDB keeps a view's SQL only in normalized form, so the comment records what was applied.
        await run(`COMMENT ON VIEW "${view.name}" IS '${fingerprint}'`);
        done.push(`${applied.has(view.name) ? 'replaced' : 'created'} view ${schema}.${view.name}`);
      }
      return done;
    });
  }

  /**
   * One transaction per batch: the rows go through an appender as data chunks (no SQL to parse,
   * no value bound one by one), and COMMIT stores all of them or none. The work before COMMIT is
   * synchronous and bounded by BATCH_SIZE; COMMIT (the WAL write) runs on DuckDB's side.
   */
  write(table: TableDef, rows: readonly Row[]): Promise<void> {
    return this.serialized('write', async (db, deadline) => {
      const { layout, chunks: kept } = this.appends.get(table.name) ?? (await deadline.interruptible(db, () => this.appendOf(db, table)));
      let chunks: DuckDBDataChunk[];
      try {
        chunks = toChunks(table, layout, rows, kept);
      } catch (error) {
        throw writeError(error);
      }
      deadline.check();
      try {
        await db.run('BEGIN TRANSACTION');
        appendAll(await db.createAppender(table.name, this.config.dataset, this.catalogName), chunks);
        deadline.check();
        await db.run('COMMIT');
      } catch (error) {
        await this.rollback(db);
        throw writeError(error);
      }
    });
  }

  async read<R extends object = Record<string, unknown>>(sql: string, params: QueryParams = {}): Promise<R[]> {
    return (await this.readWithStats<R>(sql, params)).rows;
  }

  /** DuckDB reports nothing worth billing: the stats are empty. */
  async readWithStats<R extends object = Record<string, unknown>>(
    sql: string,
    params: QueryParams = {},
  ): Promise<{ rows: R[]; stats: QueryStats }> {
    assertReadOnly(sql);
    // BigQuery's @name parameters are DuckDB's $name.
    const duckSql = toDuckDb(sql).replace(/@(\w+)/g, (_, name: string) => `$${name}`);
    const values = Object.fromEntries(
      Object.entries(params).map(([k, v]) => [k, v instanceof CalendarDate ? dateValue(v) : toDuckDbValue(v, 'TIMESTAMP')]),
    );
    const types = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, paramType(v)]));
    return this.serialized('read', async (db, deadline) => {
      const rows = (await deadline.interruptible(db, () => db.runAndReadAll(duckSql, values, types))).getRowObjectsJS();
      return { rows: rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, fromDuckDb(v)])) as R), stats: {} };
    });
  }

  /**
   * Waits for the call under way at most CLOSE_WAIT_MS: on shutdown this comes after the flush
   * (SHUTDOWN_FLUSH_TIMEOUT_MS), inside App Engine's 3 s window. A call still running then is a
   * COMMIT (never interrupted, see Deadline) on a disk that stalls: closing the handles under it
   * is not safe, so they are left to the process's exit, and DuckDB's WAL keeps the file whole
   * however that COMMIT ends.
   */
  async close(): Promise<void> {
    this.opened = undefined;
    if ((await within(this.queue, CLOSE_WAIT_MS)) === TIMED_OUT) {
      this.logger.warn({
        message: 'DuckDB still busy at close: its handles are left open until the process exits',
        waitedMs: CLOSE_WAIT_MS,
      });
      return;
    }
    // DuckDB's default, for the checkpoint that closing the last connection runs (see connect()):
    // a merge that does not happen leaves the rows as they are, so a failure here is no reason not to close.
    await this.connection?.run('RESET max_vacuum_tasks').catch(() => undefined);
    this.connection?.closeSync();
    this.instance?.closeSync();
    this.connection = undefined;
    this.instance = undefined;
    this.appends.clear();
  }

  private async viewFingerprints(db: DuckDBConnection): Promise<Map<string, string>> {
    const reader = await db.runAndReadAll('SELECT view_name, comment FROM duckdb_views() WHERE NOT internal AND schema_name = $1', [
      this.config.dataset,
    ]);
    return new Map(reader.getRowObjectsJS().map((r) => [r.view_name as string, (r.comment as string | null) ?? '']));
  }

  /** A table's columns in the order DuckDB stores them. */
  private async columnsOf(db: DuckDBConnection, table: string): Promise<string[]> {
    const reader = await db.runAndReadAll(
      'SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position',
      [this.config.dataset, table],
    );
    return reader.getRowObjectsJS().map((r) => r.column_name as string);
  }

  private async appendOf(db: DuckDBConnection, table: TableDef): Promise<TableAppend> {
    const append = { layout: layoutOf(table, await this.columnsOf(db, table.name)), chunks: [] };
    this.appends.set(table.name, append);
    return append;
  }

  /** A failed statement may have ended the transaction already; a failed ROLLBACK leaves the connection in doubt, so the next call gets a new one. */
  private async rollback(db: DuckDBConnection): Promise<void> {
    try {
      await db.run('ROLLBACK');
    } catch (error) {
      if (/no transaction is active/.test(String(error))) return;
      db.closeSync();
      if (this.connection === db) this.connection = undefined;
    }
  }

  /**
   * Runs work on the connection after everything queued before it, within WAREHOUSE_TIMEOUT_MS
   * of the call (see Deadline): a call that misses it fails with a timeout error, having stored
   * nothing, and the queue moves on.
   */
  private serialized<T>(
    what: 'write' | 'read' | 'schema change',
    work: (db: DuckDBConnection, deadline: Deadline) => Promise<T>,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const ms = this.config.warehouseTimeoutMs;
      const deadline = new Deadline(
        ms,
        (cause) => timeoutError(what, ms, cause),
        (error) => reject(error),
      );
      this.queue = this.queue.then(async () => {
        if (!deadline.start()) return;
        const running = this.connect()
          .then((db) => work(db, deadline))
          .finally(() => deadline.clear());
        resolve(running);
        await running.catch(() => undefined);
      });
    });
  }

  private async connect(): Promise<DuckDBConnection> {
    if (!this.instance) {
      const path = this.config.duckdbPath;
      if (path !== ':memory:') await mkdir(dirname(path), { recursive: true });
      // These bound what DuckDB holds outside the V8 heap (README: DuckDB's memory). Without its
      // allocator's background thread, what checkpoints free stays in the process until later
      // allocations purge it (after 60 s of load: 195 MB RSS drained, 179 MB with it). Without
      // vacuum, a checkpoint under load does not read back the row groups that earlier checkpoints
      // left partly filled to merge them (30-40 MB for a few milliseconds, the peak of 60 s of
      // load): close() turns it back on, and the checkpoint on close merges them.
      this.instance = await DuckDBInstance.create(path, {
        memory_limit: this.config.duckdbMemoryLimit,
        threads: String(this.config.duckdbThreads),
        allocator_background_threads: 'true',
        max_vacuum_tasks: '0',
      });
    }
    if (!this.connection) {
      const connection = await this.instance.connect();
      // The dataset is a schema here, and the current one: sql/ is applied unqualified (see toDuckDb).
      await connection.run(`CREATE SCHEMA IF NOT EXISTS "${this.config.dataset}"`);
      await connection.run(`SET schema = '${this.config.dataset}'`);
      this.catalogName = (await connection.runAndReadAll('SELECT current_database() AS name')).getRowObjectsJS()[0].name as string;
      this.connection = connection;
    }
    return this.connection;
  }
}

/** Appends every chunk and flushes them into the open transaction, or leaves nothing in the appender to flush later. */
function appendAll(appender: DuckDBAppender, chunks: readonly DuckDBDataChunk[]): void {
  try {
    for (const chunk of chunks) appender.appendDataChunk(chunk);
    appender.closeSync();
  } catch (error) {
    // Its finalizer would otherwise flush what is left into whatever transaction is open then.
    appender.clear();
    throw error;
  }
}

function paramType(value: QueryParams[string]): DuckDBType {
  if (value instanceof CalendarDate) return DATE;
  if (value instanceof Date) return TIMESTAMP;
  if (typeof value === 'number') return Number.isInteger(value) ? BIGINT : DOUBLE;
  return typeof value === 'boolean' ? BOOLEAN : VARCHAR;
}

/** COUNT(*) and BIGINT columns come back as bigint, which JSON cannot hold: plain numbers while they are exact. */
function fromDuckDb(value: unknown): unknown {
  if (typeof value !== 'bigint') return value;
  return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(value) : value.toString();
}

function dateValue(date: CalendarDate): DuckDBValue {
  return toDuckDbValue(new Date(`${date.iso}T00:00:00Z`), 'DATE');
}

function toDuckDbValue(value: RowValue, type: ColumnType): DuckDBValue {
  if (value === null) return null;
  if (value instanceof Date) {
    return type === 'DATE'
      ? new DuckDBDateValue(Math.floor(value.getTime() / 86_400_000))
      : new DuckDBTimestampValue(BigInt(value.getTime()) * 1000n);
  }
  return value;
}
