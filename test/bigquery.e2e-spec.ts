// Before anything can load the client: no metadata server probe, and no traffic off loopback.
process.env.METADATA_SERVER_DETECTION = 'none';
import * as guard from './fake-bigquery/loopback-guard';
import request from 'supertest';
import { AppConfig } from '../src/config/app-config';
import { IngestStats } from '../src/stats/ingest-stats';
import { BatchWriter } from '../src/warehouse/batch-writer.service';
import { SqlCatalog } from '../src/warehouse/contracts';
import { createWarehouse } from '../src/warehouse/warehouse.factory';
import { DML_WINDOW_MS, FakeBigQuery } from './fake-bigquery/fake-bigquery';
import { ACCESS_TOKEN, bigQueryEnv, freshFake, tableRef } from './fake-bigquery/env';
import { startApp, waitFor } from './support/app';
import { appBeacon, BROWSER_UA, olderAppJson, websiteDownload, websitePageview } from './support/payloads';

const duplicates = (values: unknown[]) => values.length - new Set(values).size;

describe('Ingestion on BigQuery, through the real client and a fake BigQuery (e2e)', () => {
  const fakes: FakeBigQuery[] = [];
  const track = async () => {
    const fake = await freshFake();
    fakes.push(fake);
    return fake;
  };
  afterAll(async () => {
    for (const fake of fakes) await fake.stop();
  });

  describe('typed parameters', () => {
    let fake: FakeBigQuery;
    let before: Date;
    let after: Date;

    beforeAll(async () => {
      fake = await track();
      // Jobs report RUNNING until the adapter has polled once, so it has to poll: the fake's clock
      // stands still until the first jobs.get has been answered, then jumps past the run time.
      fake.jobRunMs = 150;
      const frozen = Date.now();
      fake.now = () => frozen;
      void fake.nextAnswer('jobs.get').then(() => (fake.now = () => Date.now() + 1000));
      const t = await startApp(bigQueryEnv(fake));
      const http = request(t.app.getHttpServer());
      before = new Date();
      await http
        .post('/events/telemetry')
        .set('Content-Type', 'text/plain;charset=UTF-8')
        .set('X-Appengine-Country', 'de')
        .send(JSON.stringify(appBeacon))
        .expect(204);
      await http.post('/events/telemetry').send(olderAppJson).expect(204);
      await http.post('/events/website').set('User-Agent', BROWSER_UA).set('X-Appengine-Country', 'ZZ').send(websitePageview).expect(204);
      await http.post('/events/website').set('User-Agent', BROWSER_UA).set('X-Appengine-Country', 'BR').send(websiteDownload).expect(204);
      after = new Date();
      await t.app.close();
    });

    it('stores telemetry with exact timestamps, integers, booleans and typed nulls', () => {
      const rows = fake.rows(tableRef('telemetry')).sort((a, b) => String(b.version).localeCompare(String(a.version)));
      expect(rows.map((r) => ({ ...r, receivedAt: undefined }))).toEqual([
        {
          installationId: appBeacon.installationId,
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
          receivedAt: undefined,
        },
        {
          installationId: olderAppJson.installationId,
          startTime: new Date('2024-04-30T22:15:03.512Z'),
          endTime: new Date('2024-04-30T23:01:44.004Z'),
          firstSession: true,
          version: '1.9.3',
          os: 'darwin',
          country: 'FR',
          environmentsCount: 0,
          app: null,
          auth: null,
          paid: null,
          receivedAt: undefined,
        },
      ]);
      for (const row of rows) {
        expect((row.receivedAt as Date).getTime()).toBeGreaterThanOrEqual(before.getTime());
        expect((row.receivedAt as Date).getTime()).toBeLessThanOrEqual(after.getTime());
      }
    });

    it('stores website events with the type column intact and null event fields', () => {
      const rows = fake.rows(tableRef('website_events')).sort((a, b) => String(b.type).localeCompare(String(a.type)));
      expect(rows.map((r) => ({ ...r, date: r.date instanceof Date }))).toEqual([
        {
          type: 'pageview',
          eventName: null,
          eventCategory: null,
          date: true,
          path: '/docs/getting-started',
          entryPage: '/',
          referrer: 'news.ycombinator.com/item',
          country: null,
          visitorId: expect.stringMatching(/^[0-9a-f]{16}$/),
          utmSource: null,
          utmMedium: null,
          utmCampaign: null,
        },
        {
          type: 'event',
          eventName: 'download',
          eventCategory: 'mac',
          date: true,
          path: '/download',
          entryPage: '/download',
          referrer: 'direct',
          country: 'BR',
          visitorId: expect.stringMatching(/^[0-9a-f]{16}$/),
          utmSource: null,
          utmMedium: null,
          utmCampaign: null,
        },
      ]);
    });

    it('reads rows back through query() as plain JS values (npm run report)', async () => {
      const warehouse = await createWarehouse(AppConfig.fromEnv(bigQueryEnv(fake)), SqlCatalog.load());
      const rows = await warehouse.read('SELECT * FROM `{{dataset}}.telemetry`');
      await warehouse.close();
      const older = rows.find((r) => r.version === '1.9.3')!;
      expect({ ...older, receivedAt: older.receivedAt instanceof Date }).toEqual({
        installationId: olderAppJson.installationId,
        startTime: new Date('2024-04-30T22:15:03.512Z'),
        endTime: new Date('2024-04-30T23:01:44.004Z'),
        firstSession: true,
        version: '1.9.3',
        os: 'darwin',
        country: 'FR',
        environmentsCount: 0,
        app: null,
        auth: null,
        paid: null,
        receivedAt: true,
      });
    });

    it('sends one INSERT per batch with a single typed ARRAY<STRUCT> parameter and a job id, no data in the SQL', () => {
      const inserts = fake.requests.filter((r) => r.route === 'jobs.insert' && /INSERT/.test(r.body?.configuration?.query?.query));
      expect(inserts.length).toBeGreaterThanOrEqual(2); // at least one per table; a batch may close between two requests
      const website = inserts.find((r) => r.body.configuration.query.query.includes('website_events'))!;
      const query = website.body.configuration.query;
      expect(query.query).toBe(
        'INSERT INTO `test-project.analytics.website_events` (`type`, `eventName`, `eventCategory`, `date`, `path`, `entryPage`, `referrer`, `country`, `visitorId`, `utmSource`, `utmMedium`, `utmCampaign`) ' +
          'SELECT s.`type`, s.`eventName`, s.`eventCategory`, s.`date`, s.`path`, s.`entryPage`, s.`referrer`, s.`country`, s.`visitorId`, s.`utmSource`, s.`utmMedium`, s.`utmCampaign` FROM UNNEST(@rows) AS s',
      );
      expect(query.queryParameters).toHaveLength(1);
      expect(query.queryParameters[0].parameterType.arrayType.structTypes.map((s: any) => `${s.name}:${s.type.type}`)).toEqual([
        'type:STRING',
        'eventName:STRING',
        'eventCategory:STRING',
        'date:TIMESTAMP',
        'path:STRING',
        'entryPage:STRING',
        'referrer:STRING',
        'country:STRING',
        'visitorId:STRING',
        'utmSource:STRING',
        'utmMedium:STRING',
        'utmCampaign:STRING',
      ]);
      expect(website.body.jobReference.jobId).toMatch(/^ingest_website_events_[0-9a-f-]{36}_0$/);
      for (const r of inserts) expect(r.body.configuration.query.query).not.toMatch(/win32|download|news\.ycombinator/);
      expect(fake.requests.filter((r) => r.route === 'jobs.get').length).toBeGreaterThan(0);
    });
  });

  describe('limits and faults', () => {
    it('lands a burst of 2,000 events within one rate-limit window completely, through 403 rate limits, without duplicates', async () => {
      const fake = await track();
      // The whole burst arrives within one 10 s window of the fake's clock, which stands still
      // until BigQuery has refused at least one INSERT: 2,000 rows in batches of at most 50 need
      // 40 INSERTs against a limit of 25, so the refusal is certain on any machine. Then the
      // clock moves on, one window later, at real speed.
      const frozen = Date.now();
      fake.now = () => frozen;
      const t = await startApp(
        // 2,000 events from one address: above the default rate limit, which is not under test here.
        bigQueryEnv(fake, {
          BATCH_SIZE: '50',
          FLUSH_INTERVAL_MS: '1000',
          RETRY_BASE_DELAY_MS: '200',
          WRITE_MAX_ATTEMPTS: '12',
          RATE_LIMIT_REQUESTS: '100000',
        }),
      );
      const http = request(t.app.getHttpServer());
      for (let wave = 0; wave < 10; wave++) {
        await Promise.all(
          Array.from({ length: 200 }, (_, i) =>
            http
              .post('/events/website')
              .set('User-Agent', BROWSER_UA)
              .send({ ...websitePageview, path: `/burst/${wave * 200 + i}` })
              .expect(204),
          ),
        );
      }
      expect(await waitFor(() => fake.counters.dmlRateLimited > 0, 60_000)).toBe(true);
      const thawed = Date.now();
      fake.now = () => frozen + DML_WINDOW_MS + (Date.now() - thawed);
      const writer = t.app.get(BatchWriter);
      expect(await waitFor(() => writer.pending('website_events') === 0, 60_000)).toBe(true);
      const stats = t.app.get(IngestStats).snapshot().website_events;
      await t.app.close();

      expect(
        t.logs.matching(
          'warn',
          /^Batch write failed table=website_events rows=\d+ attempt=\d+ maxAttempts=12 reason=rateLimitExceeded retryable=true$/,
        ).length,
      ).toBeGreaterThan(0);
      expect(stats).toMatchObject({ accepted: 2000, written: 2000, dropped: 0 });
      const paths = fake.rows(tableRef('website_events')).map((r) => r.path);
      expect(paths).toHaveLength(2000);
      expect(duplicates(paths)).toBe(0);
    }, 150_000);

    it('loses and duplicates nothing through 503s and lost responses', async () => {
      const fake = await track();
      fake.inject({ route: 'jobs.insert', mode: 'status', status: 503, every: 4 });
      fake.inject({ route: 'jobs.insert', mode: 'lose', every: 3 });
      fake.inject({ route: 'jobs.get', mode: 'status', status: 503, every: 5 });
      fake.inject({ route: 'jobs.get', mode: 'lose', every: 6 });
      // Full batches only: 10 INSERTs, well under the DML rate limit, so that only the faults are tested.
      const t = await startApp(
        bigQueryEnv(fake, { BATCH_SIZE: '20', FLUSH_INTERVAL_MS: '600000', RETRY_BASE_DELAY_MS: '10', WRITE_MAX_ATTEMPTS: '20' }),
      );
      const http = request(t.app.getHttpServer());
      for (let i = 0; i < 200; i++)
        await http
          .post('/events/telemetry')
          .send({ ...appBeacon, version: `v${i}` })
          .expect(204);
      const writer = t.app.get(BatchWriter);
      expect(await waitFor(() => writer.pending('telemetry') === 0, 30_000)).toBe(true);
      const stats = t.app.get(IngestStats).snapshot().telemetry;
      await t.app.close();

      expect(fake.counters.injected).toBeGreaterThan(0);
      expect(fake.counters.lost).toBeGreaterThan(0);
      expect(fake.counters.conflicts).toBeGreaterThan(0); // a retry after a lost answer hit its own job
      expect(stats).toMatchObject({ accepted: 200, written: 200, dropped: 0 });
      const versions = fake.rows(tableRef('telemetry')).map((r) => r.version);
      expect(versions).toHaveLength(200);
      expect(duplicates(versions)).toBe(0);
    }, 60_000);

    it('gives a batch whose job finished failed a new job id, and writes it once', async () => {
      const fake = await track();
      fake.inject({ route: 'jobs.insert', mode: 'fail-job', reason: 'backendError', times: 1 });
      const t = await startApp(bigQueryEnv(fake, { FLUSH_INTERVAL_MS: '600000' }));
      await request(t.app.getHttpServer()).post('/events/telemetry').send(appBeacon).expect(204);
      await t.app.close();
      const jobIds = fake.requests.filter((r) => r.route === 'jobs.insert').map((r) => r.body.jobReference.jobId);
      expect(jobIds).toHaveLength(2);
      expect(jobIds[0]).toMatch(/_0$/);
      expect(jobIds[1]).toBe(jobIds[0].replace(/_0$/, '_1'));
      expect(fake.rows(tableRef('telemetry'))).toHaveLength(1);
      expect(
        t.logs.matching('warn', /^Batch write failed table=telemetry rows=1 attempt=1 maxAttempts=8 reason=backendError retryable=true$/),
      ).toHaveLength(1);
    });

    it('keeps answering 204 with BigQuery down, bounds memory, and logs and counts the drops', async () => {
      const fake = await track();
      fake.inject({ route: 'jobs.insert', mode: 'status', status: 503 });
      const t = await startApp(
        bigQueryEnv(fake, {
          MAX_BUFFERED_EVENTS: '100',
          BATCH_SIZE: '50',
          WRITE_MAX_ATTEMPTS: '3',
          RETRY_BASE_DELAY_MS: '50',
          SHUTDOWN_FLUSH_TIMEOUT_MS: '500',
        }),
      );
      const http = request(t.app.getHttpServer());
      const writer = t.app.get(BatchWriter);
      // BigQuery holds its answers until all 300 events are in: the first batch stays in flight,
      // so exactly 100 rows wait and 200 are refused at the door, however fast the machine is.
      const gate = fake.hold('jobs.insert');
      for (let i = 0; i < 300; i++) {
        await http.post('/events/website').set('User-Agent', BROWSER_UA).send(websitePageview).expect(204);
        expect(writer.pending('website_events')).toBeLessThanOrEqual(100);
      }
      expect(writer.pending('website_events')).toBe(100);
      expect(t.app.get(IngestStats).snapshot().website_events.dropped).toBe(200);
      gate.release();
      expect(await waitFor(() => writer.pending('website_events') === 0, 30_000)).toBe(true);
      const stats = t.app.get(IngestStats).snapshot().website_events;
      await t.app.close();
      expect(stats).toMatchObject({ accepted: 300, written: 0, dropped: 300 });
      expect(
        t.logs.matching('error', /^Events dropped table=website_events rows=\d+ reason=more than 100 rows waiting$/).length,
      ).toBeGreaterThan(0);
      expect(
        t.logs.matching(
          'warn',
          /^Batch write failed table=website_events rows=\d+ attempt=1 maxAttempts=3 reason=backendError retryable=true$/,
        ).length,
      ).toBeGreaterThan(0);
      expect(
        t.logs.matching('error', /^Batch dropped table=website_events rows=\d+ attempt=3 maxAttempts=3 reason=backendError batchId=\S+$/)
          .length,
      ).toBeGreaterThan(0);
      expect(fake.rows(tableRef('website_events'))).toHaveLength(0);
    }, 60_000);

    it('does not retry a batch BigQuery rejects as invalid', async () => {
      const fake = await track();
      fake.inject({ route: 'jobs.insert', mode: 'status', status: 400, reason: 'invalidQuery' });
      const t = await startApp(bigQueryEnv(fake, { WRITE_MAX_ATTEMPTS: '5' }));
      await request(t.app.getHttpServer()).post('/events/telemetry').send(appBeacon).expect(204);
      const writer = t.app.get(BatchWriter);
      expect(await waitFor(() => writer.pending('telemetry') === 0)).toBe(true);
      await t.app.close();
      expect(fake.requests.filter((r) => r.route === 'jobs.insert')).toHaveLength(1);
      expect(
        t.logs.matching('warn', /^Batch write failed table=telemetry rows=1 attempt=1 maxAttempts=5 reason=invalidQuery retryable=false$/),
      ).toHaveLength(1);
      expect(
        t.logs.matching('error', /^Batch dropped table=telemetry rows=1 attempt=1 maxAttempts=5 reason=invalidQuery batchId=\S+$/),
      ).toHaveLength(1);
    });
  });

  describe('loopback only', () => {
    it('sent every request of this file to the fake, authenticated with the given token', () => {
      const all = fakes.flatMap((f) => f.requests);
      expect(all.length).toBeGreaterThan(100);
      expect(all.filter((r) => r.route === 'unknown')).toEqual([]);
      expect(new Set(all.map((r) => r.authorization))).toEqual(new Set([`Bearer ${ACCESS_TOKEN}`]));
      expect(guard.violations()).toEqual([]);
    });

    it('catches a client that tries to leave loopback (the guard can fail)', async () => {
      // Without a token, on what looks like Google Cloud, the auth library asks GCE's metadata
      // server for one: the guard must see and block that. (assume-present, rather than letting
      // the library probe for the server, keeps its MetadataLookupWarning out of the test output.)
      const fake = fakes[0];
      const detection = process.env.METADATA_SERVER_DETECTION;
      process.env.METADATA_SERVER_DETECTION = 'assume-present';
      try {
        const env = { ...bigQueryEnv(fake), BIGQUERY_ACCESS_TOKEN: '', METADATA_SERVER_DETECTION: 'assume-present' };
        const warehouse = await createWarehouse(AppConfig.fromEnv(env), SqlCatalog.load());
        // The client falls back to an unauthenticated request when auth fails: the probe is what counts.
        await warehouse.read('SELECT * FROM `{{dataset}}.telemetry`').catch(() => undefined);
        await warehouse.close();
      } finally {
        process.env.METADATA_SERVER_DETECTION = detection;
      }
      expect(guard.violations().length).toBeGreaterThan(0);
      expect(guard.violations().every((v) => /169\.254\.169\.254|metadata\.google\.internal/.test(v))).toBe(true);
      guard.clearViolations();
    });
  });
});
