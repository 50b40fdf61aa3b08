import { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppConfig } from '../../config/app-config';
import { Row, SqlCatalog, telemetry, websiteEvents } from '../contracts';
import { WarehouseWriteError } from '../warehouse-sink';
import { unopenableDuckDbPath } from '../../../test/support/app';
import { DUCKDB_TYPES } from './duckdb-chunks';
import { DuckDbWarehouse } from './duckdb.warehouse';

const catalog = SqlCatalog.load();
const website = catalog.table('website_events');
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
