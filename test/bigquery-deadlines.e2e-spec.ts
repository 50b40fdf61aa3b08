// Before anything can load the client: no metadata server probe, and no traffic off loopback.
process.env.METADATA_SERVER_DETECTION = 'none';
import * as guard from './fake-bigquery/loopback-guard';
import request from 'supertest';
import { AppConfig } from '../src/config/app-config';
import { IngestStats } from '../src/stats/ingest-stats';
import { BatchWriter } from '../src/warehouse/batch-writer.service';
import { SqlCatalog, websiteEvents } from '../src/warehouse/contracts';
import { BigQueryWarehouse } from '../src/warehouse/bigquery/bigquery.warehouse';
import { RequestTimeoutError, withDeadlines } from '../src/warehouse/bigquery/deadlines';
import { BigQuery } from '@google-cloud/bigquery';
import { OAuth2Client } from 'google-auth-library';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import { ACCESS_TOKEN, bigQueryEnv, freshFake, PROJECT, tableRef } from './fake-bigquery/env';
import { FakeBigQuery, Route } from './fake-bigquery/fake-bigquery';
import { startApp, TestApp } from './support/app';
import { appBeacon } from './support/payloads';

/**
 * A BigQuery request that is never answered (issue 13): every request has a deadline,
 * WAREHOUSE_TIMEOUT_MS; past it the socket is destroyed and the attempt fails retryably, so a hung
 * request delays its table by at most the deadline plus backoff. The real client against the fake.
 */
const TIMEOUT_MS = 300;
const RETRY_BASE_DELAY_MS = 20;
/** Room for a loaded machine; without a deadline the table waits forever. */
const SLACK_MS = 2_000;
const EVENTS = 10;

describe('Deadlines on BigQuery requests (e2e)', () => {
  let fake: FakeBigQuery;
  let t: TestApp;

  beforeEach(async () => {
    fake = await freshFake();
    // One batch of EVENTS rows, written as soon as it is full.
    t = await startApp(
      bigQueryEnv(fake, {
        WAREHOUSE_TIMEOUT_MS: String(TIMEOUT_MS),
        RETRY_BASE_DELAY_MS: String(RETRY_BASE_DELAY_MS),
        BATCH_SIZE: String(EVENTS),
        FLUSH_INTERVAL_MS: '600000',
      }),
    );
  });
  afterEach(async () => {
    await t.app.close();
    await fake.stop();
  });
  afterAll(() => expect(guard.violations()).toEqual([]));

  async function sendEvents(): Promise<void> {
    const http = request(t.app.getHttpServer());
    for (let i = 0; i < EVENTS; i++)
      await http
        .post('/events/telemetry')
        .send({ ...appBeacon, version: `v${i}` })
        .expect(204);
  }

  /**
   * The next request on the route is left unanswered: waits for it, and for the client to give up
   * on it (its connection closes); then `settle` lets the write finish.
   */
  async function hangOnce(route: Route, mode: 'hang' | 'hang-after-work', settle = async () => {}) {
    fake.inject({ route, mode, times: 1 });
    const hang = fake.nextHang(route);
    await sendEvents();
    const hung = await hang;
    const closedAt = await hung.closed; // the client destroyed the socket: nothing stays open
    await settle();
    await t.app.get(BatchWriter).whenSettled();
    const next = fake.requests.slice(fake.requests.indexOf(hung.seen) + 1).find((r) => r.route === route)!;
    return { hung, closedAt, next };
  }

  function expectStoredOnce(): void {
    expect(t.app.get(IngestStats).snapshot().telemetry).toMatchObject({ accepted: EVENTS, written: EVENTS, dropped: 0 });
    const versions = fake
      .rows(tableRef('telemetry'))
      .map((r) => r.version)
      .sort();
    expect(versions).toEqual(Array.from({ length: EVENTS }, (_, i) => `v${i}`).sort());
  }

  const insertIds = () => fake.requests.filter((r) => r.route === 'jobs.insert').map((r) => r.body.jobReference.jobId as string);

  it.each([
    ['after creating the job: the retry finds it (409) and takes its outcome', 'hang-after-work', 409],
    ['without creating the job: the retry creates it', 'hang', 200],
  ] as const)('jobs.insert that never answers, %s; every event stored once', async (_, mode, retryStatus) => {
    const { hung, closedAt, next } = await hangOnce('jobs.insert', mode);

    // A hung request delays its table by at most the deadline plus backoff.
    expect(closedAt - hung.arrivedAt).toBeLessThan(TIMEOUT_MS + SLACK_MS);
    expect(next.at! - hung.arrivedAt).toBeLessThan(TIMEOUT_MS + RETRY_BASE_DELAY_MS + SLACK_MS);
    // The same job id both times, so that a job the lost attempt created is found, never run twice.
    expect(next.status).toBe(retryStatus);
    expect(insertIds()).toEqual([hung.seen.body.jobReference.jobId, hung.seen.body.jobReference.jobId]);
    expect(fake.counters).toMatchObject({ hung: 1, hungClosed: 1, insertsExecuted: 1 });
    expectStoredOnce();
    expect(
      t.logs.matching('warn', new RegExp(`^BigQuery request timed out, aborted request=POST /jobs timeoutMs=${TIMEOUT_MS}$`)),
    ).toHaveLength(1);
    expect(
      t.logs.matching('warn', /^Batch write failed table=telemetry rows=10 attempt=1 maxAttempts=8 reason=requestTimeout retryable=true$/),
    ).toHaveLength(1);
  });

  it('jobs.get that never answers: the job is polled again (the batch is not retried), every event stored once', async () => {
    // The job runs until the test moves the fake's clock: each poll before that finds it RUNNING.
    const frozen = Date.now();
    fake.now = () => frozen;
    fake.jobRunMs = 60_000;
    const { hung, closedAt, next } = await hangOnce('jobs.get', 'hang', async () => {
      expect((await fake.nextAnswer('jobs.get')).body).toBeUndefined(); // a poll after the timeout, answered: RUNNING
      expect(fake.jobState('test-project', hung0())).toBe('RUNNING');
      fake.now = () => frozen + 60_000;
    });
    expect(closedAt - hung.arrivedAt).toBeLessThan(TIMEOUT_MS + SLACK_MS);
    expect(next.at! - hung.arrivedAt).toBeLessThan(TIMEOUT_MS + 1_000 + SLACK_MS); // the deadline, plus at most one poll interval
    expect(next.status).toBe(200);
    expect(insertIds()).toHaveLength(1);
    expectStoredOnce();
    expect(
      t.logs.matching(
        'warn',
        new RegExp(`^BigQuery request timed out, aborted request=GET /jobs/ingest_telemetry_\\S+_0 timeoutMs=${TIMEOUT_MS}$`),
      ),
    ).toHaveLength(1);
    expect(t.logs.matching('warn', /^Batch write failed/)).toEqual([]);
  });

  const hung0 = () => insertIds()[0];
});

describe('Deadlines on every request of the adapter (e2e)', () => {
  let fake: FakeBigQuery;
  const catalog = SqlCatalog.load();
  const open = () => new BigQueryWarehouse(AppConfig.fromEnv(bigQueryEnv(fake, { WAREHOUSE_TIMEOUT_MS: String(TIMEOUT_MS) })), catalog);
  const rows = [websiteEvents.toRow({ type: 'pageview', path: '/' }, { receivedAt: new Date('2024-05-01T10:00:00Z') })];

  beforeEach(async () => {
    fake = await new FakeBigQuery().start();
  });
  afterEach(() => fake.stop());

  it('bounds the setup requests too (tables.get): RequestTimeoutError, and the socket is closed', async () => {
    const warehouse = open();
    await warehouse.applySchema();
    fake.inject({ route: 'tables.get', mode: 'hang', times: 1 });
    const hang = fake.nextHang('tables.get');
    const error: unknown = await warehouse.applySchema().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RequestTimeoutError);
    expect((error as RequestTimeoutError).message).toMatch(
      new RegExp(`^GET /datasets/analytics/tables/\\w+: no answer within ${TIMEOUT_MS} ms \\(WAREHOUSE_TIMEOUT_MS\\), request aborted$`),
    );
    await (
      await hang
    ).closed;
    await warehouse.close();
  });

  it('classifies a timed-out write as retryable, reason requestTimeout', async () => {
    const warehouse = open();
    await warehouse.applySchema();
    fake.inject({ route: 'jobs.insert', mode: 'hang', times: 1 });
    await expect(warehouse.write(catalog.table('website_events'), rows, 'timed-out')).rejects.toMatchObject({
      reason: 'requestTimeout',
      retryable: true,
      message: expect.stringMatching(/^jobs\.insert: POST \/jobs: no answer within 300 ms/),
    });
    await warehouse.close();
  });

  it('close() aborts what is in flight at once, rather than waiting for the deadline', async () => {
    const warehouse = new BigQueryWarehouse(AppConfig.fromEnv(bigQueryEnv(fake, { WAREHOUSE_TIMEOUT_MS: '600000' })), catalog);
    await warehouse.applySchema();
    fake.inject({ route: 'jobs.insert', mode: 'hang', times: 1 });
    const hang = fake.nextHang('jobs.insert');
    const write = warehouse.write(catalog.table('website_events'), rows, 'closing').catch((e: unknown) => e);
    const hung = await hang;
    await warehouse.close();
    await hung.closed;
    expect(await write).toMatchObject({ retryable: true, message: expect.stringMatching(/BigQuery client closed/) });
  });

  it('counts the token in the deadline: a token that comes too late fails the call, and its request is destroyed as it is sent', async () => {
    // An auth client whose token arrives when the test says (as a metadata server that hangs would never).
    let giveToken!: () => void;
    const tokenGiven = new Promise<void>((resolve) => (giveToken = resolve));
    class SlowAuth extends OAuth2Client {
      override async getRequestHeaders(url?: string | URL) {
        await tokenGiven;
        return super.getRequestHeaders(url);
      }
    }
    const authClient = new SlowAuth();
    authClient.setCredentials({ access_token: ACCESS_TOKEN });
    const client = new BigQuery({ projectId: PROJECT, apiEndpoint: fake.url, authClient, autoRetry: false });
    const timedOut: RequestTimeoutError[] = [];
    withDeadlines(client, TIMEOUT_MS, (error) => timedOut.push(error));
    const sent: ClientRequest[] = [];
    let onSent = (_: ClientRequest) => {};
    const onStart = (message: unknown) => {
      const { request } = message as { request: ClientRequest };
      sent.push(request);
      onSent(request);
    };
    subscribe('http.client.request.start', onStart);
    try {
      const error = await client
        .dataset('analytics')
        .getMetadata()
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).toBeInstanceOf(RequestTimeoutError);
      expect(timedOut.map((e) => e.request)).toEqual(['GET /datasets/analytics']);
      expect(sent).toEqual([]); // still waiting for its token
      const started = new Promise<ClientRequest>((resolve) => (onSent = resolve));
      giveToken();
      const request = await started;
      await new Promise((resolve) => (request.closed ? resolve(undefined) : request.once('close', resolve)));
      expect(request.destroyed).toBe(true);
      expect((request as ClientRequest & { res: unknown }).res).toBeNull(); // no answer was read (res is not in @types/node 20)
      expect(fake.requests.filter((r) => r.route === 'datasets.get' && r.status !== undefined)).toEqual([]);
    } finally {
      unsubscribe('http.client.request.start', onStart);
    }
  });
});
