// Before anything can load the client: no metadata server probe, and no traffic off loopback.
process.env.METADATA_SERVER_DETECTION = 'none';
import * as guard from './fake-bigquery/loopback-guard';
import { AppConfig } from '../src/config/app-config';
import { BigQueryWarehouse } from '../src/warehouse/bigquery/bigquery.warehouse';
import { SqlCatalog, websiteEvents } from '../src/warehouse/contracts';
import { WarehouseWriteError } from '../src/warehouse/warehouse-sink';
import { bigQueryEnv, tableRef } from './fake-bigquery/env';
import { FakeBigQuery } from './fake-bigquery/fake-bigquery';

/**
 * Past jobs.insert, a write can still fail: while polling its job (jobs.get), or because the job
 * itself finished failed. Whether BatchWriter tries again decides between a batch written late
 * and a batch lost (or a batch retried in vain). The real client against the fake BigQuery.
 */
describe('BigQuery writes whose job fails (e2e)', () => {
  let fake: FakeBigQuery;
  let warehouse: BigQueryWarehouse;
  const catalog = SqlCatalog.load();
  const table = catalog.table('website_events');
  const rows = (path: string) => [websiteEvents.toRow({ type: 'pageview', path }, { receivedAt: new Date('2024-05-01T10:00:00Z') })];
  let batch = 0;

  async function failedWrite(batchId = `job-failures-${++batch}`, path = '/'): Promise<WarehouseWriteError> {
    const error: unknown = await warehouse.write(table, rows(path), batchId).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WarehouseWriteError);
    return error as WarehouseWriteError;
  }

  beforeAll(async () => {
    fake = await new FakeBigQuery().start();
    warehouse = new BigQueryWarehouse(AppConfig.fromEnv(bigQueryEnv(fake)), catalog);
    await warehouse.applySchema();
  });
  afterEach(() => fake.clearFaults());
  afterAll(async () => {
    await warehouse.close();
    await fake.stop();
    expect(guard.violations()).toEqual([]);
  });

  it.each([
    [503, 'backendError'],
    [500, 'internalError'],
    [429, 'rateLimitExceeded'],
    [404, 'notFound'], // just after creation, a job may not be visible to jobs.get yet
  ])('jobs.get answering HTTP %i %s once: the poll is retried, not the batch, and the rows land once', async (status, reason) => {
    const path = `/poll-${status}`;
    fake.inject({ route: 'jobs.get', mode: 'status', status, reason, times: 1 });
    await warehouse.write(table, rows(path), `job-failures-${++batch}`);
    expect(fake.rows(tableRef('website_events')).filter((r) => r.path === path)).toHaveLength(1);
  });

  it('jobs.get answering HTTP 403 accessDenied fails the write for good', async () => {
    fake.inject({ route: 'jobs.get', mode: 'status', status: 403, reason: 'accessDenied', times: 1 });
    const error = await failedWrite();
    expect(error).toMatchObject({ reason: 'accessDenied', retryable: false });
    expect(error.message).toMatch(/^jobs\.get: /);
  });

  it('jobs.get whose answer never came is polled again, and the rows land once', async () => {
    fake.inject({ route: 'jobs.get', mode: 'lose', times: 1 });
    await warehouse.write(table, rows('/poll-lost'), `job-failures-${++batch}`);
    expect(fake.rows(tableRef('website_events')).filter((r) => r.path === '/poll-lost')).toHaveLength(1);
  });

  it.each([
    ['backendError', true],
    ['internalError', true],
    ['rateLimitExceeded', true],
    ['quotaExceeded', true],
    ['invalidQuery', false],
    ['invalid', false],
  ])('a job that finished failed with %s: retryable=%s', async (reason, retryable) => {
    fake.inject({ route: 'jobs.insert', mode: 'fail-job', reason, times: 1 });
    const error = await failedWrite();
    expect(error).toMatchObject({ reason, retryable });
    expect(error.message).toMatch(/failed: /);
  });

  it('a retry whose jobs.insert answers 409 (the lost first answer had created the job) takes that job as its own', async () => {
    const batchId = `job-failures-${++batch}`;
    fake.inject({ route: 'jobs.insert', mode: 'lose', times: 1 });
    expect((await failedWrite(batchId, '/lost-answer')).retryable).toBe(true);
    await warehouse.write(table, rows('/lost-answer'), batchId);
    expect(fake.requests.filter((r) => r.route === 'jobs.insert').at(-1)?.status).toBe(409);
    expect(fake.rows(tableRef('website_events')).filter((r) => r.path === '/lost-answer')).toHaveLength(1);
  });
});
