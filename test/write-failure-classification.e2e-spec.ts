// Before anything can load the client: no metadata server probe, and no traffic off loopback.
process.env.METADATA_SERVER_DETECTION = 'none';
import './fake-bigquery/loopback-guard';
import { AppConfig } from '../src/config/app-config';
import { Row, SqlCatalog } from '../src/warehouse/sql-catalog';
import { Warehouse, WarehouseWriteError } from '../src/warehouse/warehouse.port';
import { createWarehouse } from '../src/warehouse/warehouse.module';
import { FakeBigQuery } from './fake-bigquery/fake-bigquery';
import { bigQueryEnv } from './fake-bigquery/env';
import { tempDuckDbPath } from './support/app';
import { runInThisContext } from 'node:vm';

const catalog = SqlCatalog.load();

const session = (over: Row = {}): Row => ({
  installationId: '6c3b6f7a-1a8e-4f4e-9d2b-1f0e8e5c2a11',
  startTime: new Date('2024-05-01T10:00:00.000Z'),
  endTime: new Date('2024-05-01T10:42:17.250Z'),
  firstSession: false,
  version: '2.4.0',
  os: 'win32',
  country: 'DE',
  environmentsCount: 3,
  app: 'desktop',
  auth: true,
  paid: false,
  receivedAt: new Date('2024-05-01T10:42:18.000Z'),
  ...over,
});

/** The error a write fails with; fails the test if the write succeeds. */
async function failureOf(write: Promise<void>): Promise<WarehouseWriteError> {
  const error = await write.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WarehouseWriteError);
  return error as WarehouseWriteError;
}

/**
 * Each adapter tells BatchWriter whether a failed write is worth another attempt: a wrong
 * "permanent" drops a batch that the next attempt would have written, a wrong "retryable"
 * spends every attempt on a batch that can never be written. Real engines: the BigQuery client
 * against the fake REST server, and a DuckDB file.
 */
describe('Which write failures are retried (e2e)', () => {
  describe('BigQuery, through the real client', () => {
    let fake: FakeBigQuery;
    let warehouse: Warehouse;
    let batch = 0;
    const insert = () => warehouse.insert(catalog.table('telemetry'), [session()], `classification-${++batch}`);

    beforeAll(async () => {
      fake = await new FakeBigQuery().start();
      warehouse = await createWarehouse(AppConfig.fromEnv(bigQueryEnv(fake)), catalog);
      await warehouse.applySchema();
    });
    afterEach(() => fake.clearFaults());
    afterAll(async () => {
      await warehouse.close();
      await fake.stop();
    });

    it.each([
      [401, 'authError', true], // an access token that expired mid-flight: the next attempt gets a fresh one
      [403, 'rateLimitExceeded', true],
      [403, 'quotaExceeded', true],
      [408, 'timeout', true],
      [429, 'tooManyRequests', true],
      [500, 'internalError', true],
      [502, 'badGateway', true],
      [503, 'backendError', true],
      [400, 'invalidQuery', false],
      [400, 'invalid', false],
      [403, 'accessDenied', false],
      [404, 'notFound', false],
    ])('jobs.insert answering HTTP %i %s: retryable=%s', async (status, reason, retryable) => {
      fake.inject({ route: 'jobs.insert', mode: 'status', status, reason, times: 1 });
      const error = await failureOf(insert());
      expect({ reason: error.reason, retryable: error.retryable }).toEqual({ reason, retryable });
      expect(error.message).toMatch(/^jobs\.insert: /);
    });

    it('an answer lost on the way (connection cut after the job was created) is retryable', async () => {
      fake.inject({ route: 'jobs.get', mode: 'lose', times: 1 });
      const error = await failureOf(insert());
      expect(error.retryable).toBe(true);
      expect(error.message).toMatch(/^jobs\.get: /);
    });

    it('jobs.get answering 503 is retryable, 404 is not', async () => {
      fake.inject({ route: 'jobs.get', mode: 'status', status: 503, reason: 'backendError', times: 1 });
      expect((await failureOf(insert())).retryable).toBe(true);
      fake.inject({ route: 'jobs.get', mode: 'status', status: 404, reason: 'notFound', times: 1 });
      expect((await failureOf(insert())).retryable).toBe(false);
    });

    it.each([
      ['backendError', true],
      ['rateLimitExceeded', true],
      ['invalidQuery', false],
    ])('a job that finished failed with %s: retryable=%s', async (reason, retryable) => {
      fake.inject({ route: 'jobs.insert', mode: 'fail-job', reason, times: 1 });
      const error = await failureOf(insert());
      expect({ reason: error.reason, retryable: error.retryable }).toEqual({ reason, retryable });
    });

    it('a 409 on jobs.insert means an earlier attempt created the job: the write succeeds', async () => {
      const batchId = `classification-${++batch}`;
      fake.inject({ route: 'jobs.insert', mode: 'lose', times: 1 });
      await failureOf(warehouse.insert(catalog.table('telemetry'), [session({ version: 'lost-answer' })], batchId));
      await expect(warehouse.insert(catalog.table('telemetry'), [session({ version: 'lost-answer' })], batchId)).resolves.toBeUndefined();
      expect(fake.requests.filter((r) => r.route === 'jobs.insert').at(-1)?.status).toBe(409);
    });
  });

  describe('DuckDB', () => {
    let warehouse: Warehouse;

    /**
     * Jest runs each spec in a realm of its own, where the errors of DuckDB's native binding
     * (made in the main realm, where production runs the adapter) fail `instanceof Error`. Within
     * this call the spec's realm uses the main realm's Error, so the adapter sees them as production does.
     */
    async function asInProduction<T>(work: () => Promise<T>): Promise<T> {
      const specRealmError = globalThis.Error;
      globalThis.Error = runInThisContext('Error') as ErrorConstructor;
      try {
        return await work();
      } finally {
        globalThis.Error = specRealmError;
      }
    }

    beforeAll(async () => {
      warehouse = await createWarehouse(AppConfig.fromEnv({ DUCKDB_PATH: tempDuckDbPath() }), catalog);
      await warehouse.prepare();
    });
    afterAll(() => warehouse.close());

    it('a row the table refuses (NOT NULL) is permanent: retrying the same batch can only fail again', async () => {
      const error = await asInProduction(() =>
        failureOf(warehouse.insert(catalog.table('telemetry'), [session({ installationId: null })], 'b1')),
      );
      expect(error.reason).toBe('Constraint Error: NOT NULL constraint failed: telemetry.installationId');
      expect(error.retryable).toBe(false);
    });

    it('a good batch is still written after it', async () => {
      await warehouse.insert(catalog.table('telemetry'), [session()], 'b2');
      const rows = await warehouse.query('SELECT count(*) AS n FROM {{dataset}}.telemetry');
      expect(Number(rows[0].n)).toBe(1);
    });
  });
});
