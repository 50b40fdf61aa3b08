import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppConfig } from '../../config/app-config';
import { Row, SqlCatalog, websiteEvents } from '../contracts';
import { WarehouseWriteError } from '../warehouse-sink';
import { unopenableDuckDbPath } from '../../../test/support/app';
import { DuckDbWarehouse } from './duckdb.warehouse';

/** The embedded engine on a real DuckDB file. */
describe('DuckDbWarehouse', () => {
  const catalog = SqlCatalog.load();
  let warehouse: DuckDbWarehouse;
  beforeEach(async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'duckdb-spec-')), 'analytics.duckdb');
    warehouse = new DuckDbWarehouse(AppConfig.fromEnv({ DUCKDB_PATH: path }), catalog);
    await warehouse.open();
  });
  afterEach(() => warehouse.close());

  const row = (path: string, at: string) => websiteEvents.toRow({ type: 'pageview', path }, { receivedAt: new Date(at) });

  async function failedWrite(rows: Row[]): Promise<WarehouseWriteError> {
    const error: unknown = await warehouse.write(catalog.table('website_events'), rows).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WarehouseWriteError);
    return error as WarehouseWriteError;
  }

  it('calls a batch that breaks a constraint permanent: it would fail again however often it is retried', async () => {
    const error = await failedWrite([{ ...row('/', '2024-05-01T00:00:00Z'), path: null }]);
    expect(error).toMatchObject({ retryable: false });
    expect(error.reason).toMatch(/^Constraint Error/);
  });

  it('leaves a file that cannot be opened to retries: the batch is not at fault', async () => {
    const broken = new DuckDbWarehouse(AppConfig.fromEnv({ DUCKDB_PATH: unopenableDuckDbPath() }), catalog);
    const error: unknown = await broken.write(catalog.table('website_events'), [row('/', '2024-05-01T00:00:00Z')]).catch((e: unknown) => e);
    // Anything but a WarehouseWriteError is retried by BatchWriter.
    expect(String(error)).toMatch(/not a valid DuckDB database file/);
    expect(error).not.toBeInstanceOf(WarehouseWriteError);
  });

  it('reads with @parameters, returns plain JS values, and refuses anything but one SELECT', async () => {
    await warehouse.write(catalog.table('website_events'), [row('/a', '2024-05-01T10:00:00Z'), row('/b', '2024-05-02T10:00:00Z')]);
    const rows = await warehouse.read<{ path: string; date: Date; n: number }>(
      'SELECT path, date, COUNT(*) OVER () AS n FROM `{{dataset}}.website_events` WHERE date >= @from AND path <> @not ORDER BY date LIMIT @limit',
      { from: new Date('2024-05-01T00:00:00Z'), not: '/c', limit: 1 },
    );
    expect(rows).toEqual([{ path: '/a', date: new Date('2024-05-01T10:00:00Z'), n: 2 }]);
    await expect(warehouse.read('DELETE FROM `{{dataset}}.website_events`')).rejects.toThrow(/one SELECT/);
    await expect(warehouse.read('SELECT 1; DROP TABLE `{{dataset}}.website_events`')).rejects.toThrow(/one SELECT/);
  });
});
