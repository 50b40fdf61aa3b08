// Before anything can load the client: no metadata server probe, and no traffic off loopback.
process.env.METADATA_SERVER_DETECTION = 'none';
import * as guard from '../../../test/fake-bigquery/loopback-guard';
import { bigQueryEnv, tableRef } from '../../../test/fake-bigquery/env';
import { FakeBigQuery } from '../../../test/fake-bigquery/fake-bigquery';
import { AppConfig } from '../../config/app-config';
import { SqlCatalog, websiteEvents } from '../contracts';
import { estimateRowBytes } from '../row-size';
import { WarehouseWriteError } from '../warehouse-sink';
import { BigQueryWarehouse } from './bigquery.warehouse';
import { FAILURES, isRetryable } from './failures';

/** How the adapter classifies failed writes, through the real client against the fake BigQuery. */
describe('BigQueryWarehouse failure classification', () => {
  let fake: FakeBigQuery;
  let warehouse: BigQueryWarehouse;
  const catalog = SqlCatalog.load();
  const table = catalog.table('website_events');
  const rows = [websiteEvents.toRow({ type: 'pageview', path: '/' }, { receivedAt: new Date() })];
  let batches = 0;
  const nextBatch = () => `batch-${++batches}`;

  beforeAll(async () => {
    fake = await new FakeBigQuery().start();
    warehouse = new BigQueryWarehouse(AppConfig.fromEnv(bigQueryEnv(fake)), catalog);
    await warehouse.applySchema();
  });
  beforeEach(() => {
    fake.clearFaults();
    fake.jobsGetNotFoundFirst = 0;
  });
  afterAll(async () => {
    await warehouse.close();
    await fake.stop();
    expect(guard.violations()).toEqual([]);
  });

  async function failedWrite(batchId = nextBatch()): Promise<WarehouseWriteError> {
    const error: unknown = await warehouse.write(table, rows, batchId).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WarehouseWriteError);
    return error as WarehouseWriteError;
  }

  const inserts = () => fake.requests.filter((r) => r.route === 'jobs.insert');

  describe('each row of the table, as an HTTP error on jobs.insert and as a failed job', () => {
    it.each(FAILURES.map((f) => [f.reason, f.status, f.retryable, f.doc] as const))(
      '%s (HTTP %i): retryable=%s — %s',
      async (reason, status, retryable) => {
        fake.inject({ route: 'jobs.insert', mode: 'status', status: status === 200 ? 400 : status, reason, times: 1 });
        expect(await failedWrite()).toMatchObject({ reason, retryable });
        fake.inject({ route: 'jobs.insert', mode: 'fail-job', reason, times: 1 });
        expect(await failedWrite()).toMatchObject({ reason, retryable, message: expect.stringMatching(/^job \S+ failed: /) });
      },
    );
  });

  describe('rate limits in every shape', () => {
    it.each([
      [
        'a failed job, reason rateLimitExceeded',
        'rateLimitExceeded',
        'Exceeded rate limits: too many table dml insert operations for this table',
      ],
      [
        'a failed job, reason jobRateLimitExceeded',
        'jobRateLimitExceeded',
        'Job exceeded rate limits: too many table dml insert operations',
      ],
      [
        'a failed job, reason quotaExceeded',
        'quotaExceeded',
        'Quota exceeded: Your table exceeded quota for imports or query appends per table',
      ],
      [
        'a failed job whose reason says nothing but whose message does',
        'invalid',
        'Exceeded rate limits: too many api requests per user per method',
      ],
      ['a failed job with another reason and "Job exceeded rate limits"', 'jobInternalError', 'Job exceeded rate limits: ...'],
    ])('%s: retryable', async (_, reason, message) => {
      fake.inject({ route: 'jobs.insert', mode: 'fail-job', reason, message, times: 1 });
      expect(await failedWrite()).toMatchObject({ reason, retryable: true });
    });

    it.each([
      [403, 'rateLimitExceeded'],
      [403, 'quotaExceeded'],
      [429, 'rateLimitExceeded'],
      [429, 'tooManyRequests'],
    ])('HTTP %i %s on jobs.insert: retryable', async (status, reason) => {
      fake.inject({ route: 'jobs.insert', mode: 'status', status, reason, times: 1 });
      expect(await failedWrite()).toMatchObject({ reason, retryable: true });
    });

    it('the DML limit as BigQuery reports it in each shape the fake knows: retryable, and a failed job gets a new id', async () => {
      for (const shape of ['http403', 'jobRateLimitExceeded', 'failedJob'] as const) {
        const fresh = await new FakeBigQuery().start();
        try {
          const frozen = Date.now();
          fresh.now = () => frozen;
          fresh.dmlRateLimitAs = shape;
          const w = new BigQueryWarehouse(AppConfig.fromEnv(bigQueryEnv(fresh)), catalog);
          await w.applySchema();
          for (let i = 0; i < 25; i++) await w.write(table, rows, `fill-${i}`);
          const error = await w.write(table, rows, 'late').then(
            () => undefined,
            (e: unknown) => e as WarehouseWriteError,
          );
          expect(error).toMatchObject({ retryable: true });
          fresh.now = () => frozen + 10_000;
          await w.write(table, rows, 'late');
          const ids = fresh.requests.filter((r) => r.route === 'jobs.insert').map((r) => r.body.jobReference.jobId as string);
          // A job that exists (failed) can never run again: its retry has the next suffix; no job, same id.
          expect(ids.slice(-2)).toEqual(
            shape === 'http403'
              ? ['ingest_website_events_late_0', 'ingest_website_events_late_0']
              : ['ingest_website_events_late_0', 'ingest_website_events_late_1'],
          );
          expect(fresh.rows(tableRef('website_events'))).toHaveLength(26);
        } finally {
          await fresh.stop();
        }
      }
    });
  });

  describe('by HTTP status, when the reason is not in the table', () => {
    it.each([
      [401, 'authError', true], // an access token that expired mid-flight: the next attempt gets a fresh one
      [408, 'requestTimeout', true],
      [429, 'somethingNew', true],
      [500, 'somethingNew', true],
      [502, 'badGateway', true],
      [400, 'somethingNew', false],
      [403, 'somethingNew', false],
    ])('HTTP %i %s: retryable=%s', async (status, reason, retryable) => {
      fake.inject({ route: 'jobs.insert', mode: 'status', status, reason, times: 1 });
      expect(await failedWrite()).toMatchObject({ reason, retryable });
    });

    it('retries a jobs.insert whose answer never came', async () => {
      const before = fake.rows(tableRef('website_events')).length;
      fake.inject({ route: 'jobs.insert', mode: 'lose', times: 1 });
      // No HTTP answer at all (a reset, a lost response): worth another attempt under the same job id.
      const error = await failedWrite('lost-insert');
      expect(error.retryable).toBe(true);
      await warehouse.write(table, rows, 'lost-insert'); // 409: the job the lost answer created
      expect(fake.rows(tableRef('website_events')).length - before).toBe(1);
      expect(fake.counters.conflicts).toBeGreaterThan(0);
    });
  });

  it('isRetryable: the message beats the reason, the reason beats the status', () => {
    expect(isRetryable({ reason: 'invalidQuery', status: 400, message: 'Exceeded rate limits: too many concurrent queries' })).toBe(true);
    expect(isRetryable({ reason: 'accessDenied', status: 403 })).toBe(false);
    expect(isRetryable({ reason: 'backendError', status: 400 })).toBe(true);
    expect(isRetryable({ status: 503 })).toBe(true);
    expect(isRetryable({})).toBe(true);
  });

  describe('transient jobs.get failures retry the poll, not the batch', () => {
    const stored = () => fake.rows(tableRef('website_events')).length;

    it.each([
      ['404s just after creation', () => (fake.jobsGetNotFoundFirst = 3)],
      ['a 503', () => fake.inject({ route: 'jobs.get', mode: 'status', status: 503, reason: 'backendError', times: 2 })],
      ['a 429', () => fake.inject({ route: 'jobs.get', mode: 'status', status: 429, reason: 'rateLimitExceeded', times: 1 })],
      ['a lost answer', () => fake.inject({ route: 'jobs.get', mode: 'lose', times: 2 })],
    ])('%s: one jobs.insert, the rows stored once', async (_, arrange) => {
      arrange();
      const before = { inserts: inserts().length, rows: stored() };
      await expect(warehouse.write(table, rows, nextBatch())).resolves.toEqual({ affectedRows: 1 });
      expect(inserts().length - before.inserts).toBe(1);
      expect(stored() - before.rows).toBe(1);
    });

    it('a 403 on jobs.get is not transient: the write fails, classified', async () => {
      fake.inject({ route: 'jobs.get', mode: 'status', status: 403, reason: 'accessDenied', times: 1 });
      expect(await failedWrite()).toMatchObject({ reason: 'accessDenied', retryable: false });
    });
  });

  it('returns the affected-row count BigQuery reports', async () => {
    fake.reportAffectedRows = (n) => n + 1;
    try {
      await expect(warehouse.write(table, [...rows, ...rows], nextBatch())).resolves.toEqual({ affectedRows: 3 });
    } finally {
      fake.reportAffectedRows = (n) => n;
    }
  });

  it('sends no more bytes per row than BatchWriter estimates', async () => {
    const big = websiteEvents.toRow(
      {
        type: 'event',
        eventName: 'é'.repeat(64),
        eventCategory: '\\'.repeat(128),
        path: '/'.padEnd(2048, '"'),
        entryPage: '/'.padEnd(2048, '\\'),
      },
      { receivedAt: new Date(), country: 'de' },
    );
    const small = websiteEvents.toRow({ type: 'pageview', path: '/' }, { receivedAt: new Date() });
    for (const [row, n] of [
      [big, 200],
      [small, 2000],
    ] as const) {
      const batch = Array.from({ length: n }, () => row);
      await warehouse.write(table, batch, nextBatch());
      const request = inserts().at(-1)!;
      const queryText = JSON.stringify(request.body.configuration.query.query).length;
      const estimate = n * estimateRowBytes(row);
      // The rows take at most their estimate; the rest of the request (SQL, types, job reference) is small and fixed.
      expect(request.bytes! - queryText - 2048).toBeLessThanOrEqual(estimate);
      expect(request.bytes!).toBeGreaterThan(estimate * 0.6); // and the estimate is not wildly pessimistic
    }
  });
});
