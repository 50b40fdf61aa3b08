// Before anything can load the client: no metadata server probe, and no traffic off loopback.
process.env.METADATA_SERVER_DETECTION = 'none';
import * as guard from '../../../test/fake-bigquery/loopback-guard';
import { bigQueryEnv } from '../../../test/fake-bigquery/env';
import { FakeBigQuery } from '../../../test/fake-bigquery/fake-bigquery';
import { AppConfig } from '../../config/app-config';
import { SqlCatalog, websiteEvents } from '../contracts';
import { WarehouseWriteError } from '../warehouse-sink';
import { BigQueryWarehouse } from './bigquery.warehouse';

/** How the adapter classifies failed writes, through the real client against the fake BigQuery. */
describe('BigQueryWarehouse failure classification', () => {
  let fake: FakeBigQuery;
  let warehouse: BigQueryWarehouse;
  const catalog = SqlCatalog.load();
  const rows = [websiteEvents.toRow({ type: 'pageview', path: '/' }, { receivedAt: new Date() })];

  beforeAll(async () => {
    fake = await new FakeBigQuery().start();
    warehouse = new BigQueryWarehouse(AppConfig.fromEnv(bigQueryEnv(fake)), catalog);
    await warehouse.applySchema();
  });
  afterAll(async () => {
    await warehouse.close();
    await fake.stop();
    expect(guard.violations()).toEqual([]);
  });

  async function failedWrite(): Promise<WarehouseWriteError> {
    const error: unknown = await warehouse.write(catalog.table('website_events'), rows, `batch-${Math.random()}`).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WarehouseWriteError);
    return error as WarehouseWriteError;
  }

  it.each([
    [401, 'authError', true], // an access token that expired mid-flight: the next attempt gets a fresh one
    [403, 'rateLimitExceeded', true],
    [403, 'quotaExceeded', true],
    [403, 'accessDenied', false],
    [404, 'notFound', false],
    [400, 'invalidQuery', false],
    [408, 'timeout', true],
    [429, 'tooManyRequests', true],
    [500, 'internalError', true],
    [503, 'unavailable', true],
  ])('HTTP %i %s: retryable=%s', async (status, reason, retryable) => {
    fake.inject({ route: 'jobs.insert', mode: 'status', status, reason, times: 1 });
    expect(await failedWrite()).toMatchObject({ reason, retryable });
  });

  it('retries a request whose answer never came', async () => {
    fake.inject({ route: 'jobs.insert', mode: 'lose', times: 1 });
    // No HTTP answer at all (a reset, a lost response): worth another attempt under the same job id.
    const error = await failedWrite();
    expect(error.retryable).toBe(true);
  });
});
