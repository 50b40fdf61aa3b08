import { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { Logger } from '@nestjs/common';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppConfig, ConfigError } from '../../config/app-config';
import { Row, SqlCatalog, telemetry, websiteEvents } from '../contracts';
import { WarehouseWriteError } from '../warehouse-sink';
import { unopenableDuckDbPath } from '../../../test/support/app';
import { INTERRUPT_REPEAT_MS } from './deadline';
import { DUCKDB_TYPES } from './duckdb-chunks';
import { CLOSE_WAIT_MS, DuckDbWarehouse } from './duckdb.warehouse';

const catalog = SqlCatalog.load();
const website = catalog.table('website_events');
// The real statements, run by the spies below with each connection as `this`.
// eslint-disable-next-line @typescript-eslint/unbound-method
const { run: realRun, runAndReadAll: realRunAndReadAll } = DuckDBConnection.prototype;
const tempPath = () => join(mkdtempSync(join(tmpdir(), 'duckdb-spec-')), 'analytics.duckdb');
const row = (path: string, at = '2024-05-01T00:00:00Z') => websiteEvents.toRow({ type: 'pageview', path }, { receivedAt: new Date(at) });
const rows = (n: number) => Array.from({ length: n }, (_, i) => row(`/${i}`));

async function failure(promise: Promise<unknown>): Promise<WarehouseWriteError> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WarehouseWriteError);
  return error as WarehouseWriteError;
}

/** Rows of the website table, in path order. */
async function stored(warehouse: DuckDbWarehouse): Promise<string[]> {
  const found = await warehouse.read<{ path: string }>('SELECT path FROM `{{dataset}}.website_events` ORDER BY path');
  return found.map((r) => r.path);
}

/** The embedded engine on a real DuckDB file. */
describe('DuckDbWarehouse', () => {
  let warehouse: DuckDbWarehouse;
  const open = async (env: Record<string, string> = {}, path = tempPath()) => {
    warehouse = new DuckDbWarehouse(AppConfig.fromEnv({ DUCKDB_PATH: path, ...env }), catalog);
    await warehouse.open();
    return warehouse;
  };
  afterEach(async () => {
    jest.useRealTimers();
    jest.restoreAllMocks();
    await warehouse?.close();
  });

  it('calls a batch that breaks a constraint permanent: it would fail again however often it is retried', async () => {
    await open();
    const error = await failure(warehouse.write(website, [{ ...row('/'), path: null }]));
    expect(error).toMatchObject({ retryable: false });
    expect(error.reason).toMatch(/^Constraint Error/);
  });

  it('leaves a file that cannot be opened to retries: the batch is not at fault', async () => {
    const broken = new DuckDbWarehouse(AppConfig.fromEnv({ DUCKDB_PATH: unopenableDuckDbPath() }), catalog);
    const error: unknown = await broken.write(website, [row('/')]).catch((e: unknown) => e);
    // Anything but a WarehouseWriteError is retried by BatchWriter.
    expect(String(error)).toMatch(/not a valid DuckDB database file/);
    expect(error).not.toBeInstanceOf(WarehouseWriteError);
  });

  it('reads with @parameters, returns plain JS values, and refuses anything but one SELECT', async () => {
    await open();
    await warehouse.write(website, [row('/a', '2024-05-01T10:00:00Z'), row('/b', '2024-05-02T10:00:00Z')]);
    const found = await warehouse.read<{ path: string; date: Date; n: number }>(
      'SELECT path, date, COUNT(*) OVER () AS n FROM `{{dataset}}.website_events` WHERE date >= @from AND path <> @not ORDER BY date LIMIT @limit',
      { from: new Date('2024-05-01T00:00:00Z'), not: '/c', limit: 1 },
    );
    expect(found).toEqual([{ path: '/a', date: new Date('2024-05-01T10:00:00Z'), n: 2 }]);
    await expect(warehouse.read('DELETE FROM `{{dataset}}.website_events`')).rejects.toThrow(/one SELECT/);
    await expect(warehouse.read('SELECT 1; DROP TABLE `{{dataset}}.website_events`')).rejects.toThrow(/one SELECT/);
  });

  describe('a batch is stored whole or not at all', () => {
    it('writes a batch of several data chunks (2,048 rows each) value by value', async () => {
      await open();
      const session = telemetry.toRow(
        {
          installationId: '6C3B6F7A-1A8E-4F4E-9D2B-1F0E8E5C2A11',
          startTime: '2024-05-01T10:00:00.123Z',
          endTime: '2024-05-01T10:42:17.250Z',
          firstSession: true,
          version: '2.4.0',
          os: 'win32',
          environmentsCount: 7,
          country: null,
          app: 'desktop',
          auth: null,
          paid: false,
        },
        { receivedAt: new Date('2024-05-01T10:42:18.001Z') },
      );
      await warehouse.write(
        catalog.table('telemetry'),
        Array.from({ length: 5000 }, (_, i) => ({ ...session, environmentsCount: i })),
      );
      const [summary] = await warehouse.read<Record<string, unknown>>(
        'SELECT COUNT(*) AS n, COUNT(DISTINCT environmentsCount) AS counts, MAX(environmentsCount) AS top FROM `{{dataset}}.telemetry`',
      );
      expect(summary).toEqual({ n: 5000, counts: 5000, top: 4999 });
      const [first] = await warehouse.read('SELECT * FROM `{{dataset}}.telemetry` WHERE environmentsCount = 0');
      expect(first).toEqual({ ...session, environmentsCount: 0 });
    });

    it('stores nothing of a batch with one row that breaks a constraint, even in its last data chunk', async () => {
      await open();
      const batch: Row[] = rows(5000);
      batch[4500] = { ...batch[4500], referrer: null };
      const error = await failure(warehouse.write(website, batch));
      expect(error).toMatchObject({ retryable: false, reason: 'Constraint Error: NOT NULL constraint failed: website_events.referrer' });
      expect(await stored(warehouse)).toEqual([]);
      await warehouse.write(website, [row('/after')]);
      expect(await stored(warehouse)).toEqual(['/after']);
    });

    it('calls a value its column cannot hold permanent, and names the column but never the value', async () => {
      await open();
      const table = catalog.table('telemetry');
      const good = telemetry.toRow(
        {
          installationId: '6c3b6f7a-1a8e-4f4e-9d2b-1f0e8e5c2a11',
          startTime: '2024-05-01T10:00:00Z',
          endTime: '2024-05-01T10:10:00Z',
          firstSession: false,
          version: '1',
          os: 'linux',
          environmentsCount: 1,
        },
        { receivedAt: new Date('2024-05-01T10:10:00Z') },
      );
      for (const [column, value] of [
        ['environmentsCount', 1.5],
        ['environmentsCount', 'secret-1'],
        ['version', 12345],
        ['startTime', new Date('not a date')],
        ['firstSession', 'secret-2'],
      ] as const) {
        const error = await failure(warehouse.write(table, [good, { ...good, [column]: value }]));
        expect(error).toMatchObject({ retryable: false });
        expect(error.reason).toMatch(new RegExp(`^Conversion Error: telemetry\\.${column} \\(`));
        expect(error.message).not.toMatch(/secret|1\.5|12345/);
      }
      const [{ n }] = await warehouse.read<{ n: number }>('SELECT COUNT(*) AS n FROM `{{dataset}}.telemetry`');
      expect(n).toBe(0);
    });

    it('calls what DuckDB itself refuses permanent, and stores none of the batch', async () => {
      // A column sql/ no longer has, still NOT NULL in the file: only DuckDB knows it, and refuses every row.
      const path = tempPath();
      await withDuckDb(path, async (db) => {
        await db.run('CREATE SCHEMA analytics');
        await db.run('SET schema = analytics');
        await db.run(`CREATE TABLE website_events (legacy VARCHAR NOT NULL, ${website.columns.map(ddl).join(', ')})`);
      });
      await open({}, path);
      const error = await failure(warehouse.write(website, rows(3000)));
      expect(error).toMatchObject({ retryable: false });
      expect(error.reason).toMatch(/NOT NULL constraint failed: website_events\.legacy/);
      expect(await stored(warehouse)).toEqual([]);
    });

    it('puts each value in its column by name, in whatever order the file keeps the columns', async () => {
      const path = tempPath();
      const reversed = [...website.columns].reverse();
      await withDuckDb(path, async (db) => {
        await db.run('CREATE SCHEMA analytics');
        await db.run('SET schema = analytics');
        await db.run(`CREATE TABLE website_events (${reversed.map(ddl).join(', ')}, old VARCHAR)`);
      });
      await open({}, path);
      const written = { ...row('/docs'), referrer: 'news.ycombinator.com/item', country: 'DE', utmSource: 'hn' };
      await warehouse.write(website, [written]);
      const [back] = await warehouse.read('SELECT * FROM `{{dataset}}.website_events`');
      expect(back).toEqual({ ...written, old: null });
    });
  });

  describe('WAREHOUSE_TIMEOUT_MS', () => {
    // Runs for hours unless interrupted.
    const endless = 'SELECT COUNT(*) AS n FROM range(1000000000000) AS t(i) WHERE i % 7 = 3';

    /** The deadline is jest's fake clock; DuckDB runs for real. Resolves with how the call ended once it has. */
    async function pastDeadline<T>(call: Promise<T>): Promise<T | Error> {
      let outcome: { value: T | Error } | undefined;
      call.then(
        (value) => (outcome = { value }),
        (error: Error) => (outcome = { value: error }),
      );
      await new Promise((resolve) => setImmediate(resolve)); // the statement is under way
      jest.advanceTimersByTime(30_000);
      // An interrupt that reaches DuckDB before the statement starts is lost, hence the repeats.
      while (!outcome) {
        jest.advanceTimersByTime(INTERRUPT_REPEAT_MS);
        await new Promise((resolve) => setImmediate(resolve));
      }
      return outcome.value;
    }

    it('interrupts a read that runs past the deadline, and the queue moves on', async () => {
      await open();
      await warehouse.write(website, [row('/before')]);
      jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
      const interrupt = jest.spyOn(DuckDBConnection.prototype, 'interrupt');
      const error = await pastDeadline(warehouse.read(endless));
      expect(error).toBeInstanceOf(Error);
      expect(error).toMatchObject({ message: 'DuckDB read did not finish within 30000 ms (WAREHOUSE_TIMEOUT_MS)' });
      expect(String(((error as Error).cause as Error).message)).toMatch(/INTERRUPT Error/);
      expect(interrupt).toHaveBeenCalled();
      await warehouse.write(website, [row('/next')]);
      expect(await stored(warehouse)).toEqual(['/before', '/next']);
    });

    it('interrupts a write whose statement runs past the deadline: a retryable timeout, nothing stored, and the retry goes in', async () => {
      await open();
      jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
      // The write's first statement (where the file keeps the table's columns) made endless.
      jest.spyOn(DuckDBConnection.prototype, 'runAndReadAll').mockImplementationOnce(function (this: DuckDBConnection) {
        return realRunAndReadAll.call(this, endless);
      });
      const error = await pastDeadline(warehouse.write(website, [row('/late')]));
      expect(error).toBeInstanceOf(WarehouseWriteError);
      expect(error).toMatchObject({
        reason: 'timeout',
        retryable: true,
        message: 'DuckDB write did not finish within 30000 ms (WAREHOUSE_TIMEOUT_MS)',
      });
      expect(String(((error as Error).cause as Error).message)).toMatch(/INTERRUPT Error/);
      await warehouse.write(website, [row('/late')]);
      expect(await stored(warehouse)).toEqual(['/late']);
    });

    it('never starts a COMMIT past the deadline: that write rolls back, the one queued behind it never runs, and both are retryable', async () => {
      await open();
      await warehouse.write(website, [row('/before')]);
      jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
      const run = jest.spyOn(DuckDBConnection.prototype, 'run').mockImplementation(function (this: DuckDBConnection, sql, ...rest) {
        const result = realRun.call(this, sql, ...rest);
        // The deadline passes while the first write's BEGIN is under way, with the second one queued.
        if (sql === 'BEGIN TRANSACTION') jest.advanceTimersByTime(30_000);
        return result;
      });
      const [first, second] = await Promise.all([
        failure(warehouse.write(website, rows(3))),
        failure(warehouse.write(website, [row('/x')])),
      ]);
      expect(first).toMatchObject({ reason: 'timeout', retryable: true });
      expect(second).toMatchObject({ reason: 'timeout', retryable: true });
      expect(run.mock.calls.map(([sql]) => sql)).toEqual(['BEGIN TRANSACTION', 'ROLLBACK']);
      jest.restoreAllMocks();
      expect(await stored(warehouse)).toEqual(['/before']);
    });

    it('never interrupts a COMMIT (DuckDB would call it failed even when it stored the rows): one under way at the deadline stands', async () => {
      await open();
      jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
      const interrupt = jest.spyOn(DuckDBConnection.prototype, 'interrupt');
      jest.spyOn(DuckDBConnection.prototype, 'run').mockImplementation(function (this: DuckDBConnection, sql, ...rest) {
        const result = realRun.call(this, sql, ...rest);
        if (sql === 'COMMIT') jest.advanceTimersByTime(30_000);
        return result;
      });
      await warehouse.write(website, [row('/committed')]);
      expect(interrupt).not.toHaveBeenCalled();
      jest.restoreAllMocks();
      expect(await stored(warehouse)).toEqual(['/committed']);
    });
  });

  it('closes within CLOSE_WAIT_MS when a COMMIT hangs (a stalled disk), leaving its handles to the process exit', async () => {
    await open();
    let commit!: () => void;
    jest.spyOn(DuckDBConnection.prototype, 'run').mockImplementation(function (this: DuckDBConnection, sql, ...rest) {
      if (sql !== 'COMMIT') return realRun.call(this, sql, ...rest);
      return new Promise((resolve, reject) => {
        commit = () => void realRun.call(this, sql, ...rest).then(resolve, reject);
      });
    });
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const write = warehouse.write(website, [row('/slow-disk')]);
    while (!commit) await new Promise((resolve) => setImmediate(resolve));
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const closed = warehouse.close();
    jest.advanceTimersByTime(CLOSE_WAIT_MS);
    await closed;
    expect(warn).toHaveBeenCalledWith(expect.objectContaining({ message: expect.stringMatching(/^DuckDB still busy at close/) }));
    // The disk comes back: the COMMIT ends as DuckDB ends it, on handles nobody closed under it.
    commit();
    await write;
    expect(await stored(warehouse)).toEqual(['/slow-disk']);
  });

  describe('DuckDB settings for an F1 instance', () => {
    const settings = () =>
      warehouse.read<{ memory: string; threads: number; purging: boolean; vacuum: number }>(
        "SELECT current_setting('memory_limit') AS memory, current_setting('threads') AS threads, current_setting('allocator_background_threads') AS purging, current_setting('max_vacuum_tasks') AS vacuum",
      );

    it('gives DuckDB 64 MB and one thread by default, and DUCKDB_MEMORY_LIMIT and DUCKDB_THREADS when set', async () => {
      await open();
      expect(await settings()).toEqual([{ memory: '61.0 MiB', threads: 1, purging: true, vacuum: 0 }]); // DuckDB's MB are 10^6 bytes
      await warehouse.close();
      await open({ DUCKDB_MEMORY_LIMIT: '200MB', DUCKDB_THREADS: '2' });
      expect(await settings()).toEqual([{ memory: '190.7 MiB', threads: 2, purging: true, vacuum: 0 }]);
    });

    it('merges, when it closes, the row groups that earlier checkpoints left partly filled', async () => {
      const path = tempPath();
      const rowGroups = () => warehouse.read("SELECT COUNT(DISTINCT row_group_id) AS groups FROM pragma_storage_info('website_events')");
      await open({}, path);
      await warehouse.write(website, rows(3000));
      await warehouse.close();
      await open({}, path);
      await warehouse.write(website, rows(3000));
      // Rows written after a checkpoint start a row group of their own: without vacuum, it stays.
      expect(await rowGroups()).toEqual([{ groups: 2 }]);
      await warehouse.close();
      await open({}, path);
      expect(await rowGroups()).toEqual([{ groups: 1 }]);
      expect(await warehouse.read('SELECT COUNT(*) AS n FROM `{{dataset}}.website_events`')).toEqual([{ n: 6000 }]);
    });

    it.each([
      [{ DUCKDB_MEMORY_LIMIT: 'lots' }, 'DUCKDB_MEMORY_LIMIT="lots": must be a size such as 64MB or 1GB'],
      [{ DUCKDB_MEMORY_LIMIT: '64' }, 'DUCKDB_MEMORY_LIMIT="64": must be a size such as 64MB or 1GB'],
      [{ DUCKDB_THREADS: '0' }, 'DUCKDB_THREADS="0": must not be less than 1'],
      [{ WAREHOUSE_TIMEOUT_MS: '50' }, 'WAREHOUSE_TIMEOUT_MS="50": must not be less than 100'],
    ])('refuses %j at startup', (env, line) => {
      expect(() => AppConfig.fromEnv(env)).toThrow(ConfigError);
      expect(() => AppConfig.fromEnv(env)).toThrow(`Invalid configuration: ${line}`);
    });
  });
});

const ddl = (column: { name: string; type: keyof typeof DUCKDB_TYPES }) => `"${column.name}" ${DUCKDB_TYPES[column.type].toString()}`;

async function withDuckDb(path: string, use: (db: DuckDBConnection) => Promise<void>): Promise<void> {
  const instance = await DuckDBInstance.create(path);
  const db = await instance.connect();
  try {
    await use(db);
  } finally {
    db.closeSync();
    instance.closeSync();
  }
}
