// Before anything can load a client: no metadata server probe, and no traffic off loopback.
process.env.METADATA_SERVER_DETECTION = 'none';
import * as guard from './fake-bigquery/loopback-guard';
import request from 'supertest';
import { AppConfig } from '../src/config/app-config';
import { IngestStats } from '../src/stats/ingest-stats';
import { BatchWriter } from '../src/warehouse/batch-writer.service';
import { StorageWriteSink, withSink } from '../src/warehouse/bigquery-storage/storage-write.sink';
import { Row, SqlCatalog, telemetry, websiteEvents } from '../src/warehouse/contracts';
import { createWarehouse, Warehouse } from '../src/warehouse/warehouse.factory';
import { WarehouseWriteError } from '../src/warehouse/warehouse-sink';
import { FakeBigQuery } from './fake-bigquery/fake-bigquery';
import { bigQueryEnv, tableRef } from './fake-bigquery/env';
import { FakeBigQueryStorage, MAX_APPEND_BYTES } from './fake-bigquery-storage/fake-bigquery-storage';
import { storageWriteEnv } from './fake-bigquery-storage/env';
import { startApp, waitFor } from './support/app';
import { appBeacon, BROWSER_UA, olderAppJson, websiteDownload, websitePageview } from './support/payloads';

const catalog = SqlCatalog.load();
const duplicates = (values: unknown[]) => values.length - new Set(values).size;

interface Fakes {
  rest: FakeBigQuery;
  storage: FakeBigQueryStorage;
}
const all: Fakes[] = [];

/** A REST fake with the tables set up, and a Storage Write fake writing into it. */
async function freshFakes(): Promise<Fakes> {
  const rest = await new FakeBigQuery().start();
  const storage = await new FakeBigQueryStorage(rest).start();
  const setup = await createWarehouse(AppConfig.fromEnv(bigQueryEnv(rest)), catalog);
  await setup.applySchema();
  await setup.close();
  all.push({ rest, storage });
  return { rest, storage };
}

/** The storage-write warehouse as the factory builds it, with a short append deadline where a test needs one. */
async function storageWarehouse(f: Fakes, appendDeadlineMs?: number): Promise<Warehouse> {
  const config = AppConfig.fromEnv(storageWriteEnv(f.rest, f.storage));
  if (appendDeadlineMs === undefined) return createWarehouse(config, catalog);
  const { BigQueryWarehouse } = await import('../src/warehouse/bigquery/bigquery.warehouse');
  return withSink(new BigQueryWarehouse(config, catalog), new StorageWriteSink(config, catalog, { appendDeadlineMs }));
}

const pageview = (path: string): Row =>
  websiteEvents.toRow(
    { type: 'pageview', path, referrer: 'https://news.ycombinator.com/item?id=1' },
    { receivedAt: new Date(), country: 'de' },
  );

/** Writes a batch as BatchWriter does: the same batch id on every attempt, until it lands or fails for good. */
async function writeWithRetries(w: Warehouse, rows: Row[], batchId: string, attempts = 20): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    try {
      await w.write(catalog.table(tableOf(rows)), rows, batchId);
      return attempt;
    } catch (error) {
      if (!(error instanceof WarehouseWriteError) || !error.retryable || attempt >= attempts) throw error;
    }
  }
}
const tableOf = (rows: Row[]) => ('installationId' in rows[0] ? 'telemetry' : 'website_events');

afterAll(async () => {
  for (const f of all) {
    await f.storage.stop();
    await f.rest.stop();
  }
});

describe('Ingestion through the Storage Write API, with the real client and a fake (e2e)', () => {
  describe('the same events both ways', () => {
    it('read back identical through DML and through the Storage Write API, to the millisecond and the typed null', async () => {
      const received = new Date('2024-05-01T10:43:00.987Z');
      const rows: Row[] = [
        telemetry.toRow(appBeacon, { receivedAt: received, country: 'de' }),
        telemetry.toRow(olderAppJson, { receivedAt: new Date('1999-12-31T23:59:59.999Z') }),
        telemetry.toRow({ ...appBeacon, environmentsCount: 2 ** 40, startTime: '1970-01-01T00:00:00.001Z' }, { receivedAt: received }),
      ];
      const site: Row[] = [
        websiteEvents.toRow(websitePageview, { receivedAt: received, country: 'ZZ' }),
        websiteEvents.toRow(websiteDownload, { receivedAt: received, country: 'BR' }),
      ];
      const dmlFake = await freshFakes();
      const swFake = await freshFakes();
      const dml = await createWarehouse(AppConfig.fromEnv(bigQueryEnv(dmlFake.rest)), catalog);
      const sw = await storageWarehouse(swFake);
      for (const w of [dml, sw]) {
        await w.open();
        await w.write(catalog.table('telemetry'), rows, 'same-batch-1');
        await w.write(catalog.table('website_events'), site, 'same-batch-2');
      }
      for (const table of ['telemetry', 'website_events']) {
        const stored = swFake.rest.rows(tableRef(table));
        expect(stored).toHaveLength(table === 'telemetry' ? 3 : 2);
        expect(stored).toEqual(dmlFake.rest.rows(tableRef(table)));
        // ...and through the reader (the REST API), as npm run report sees them.
        const sql = `SELECT * FROM \`{{dataset}}.${table}\``;
        expect(await sw.read(sql)).toEqual(await dml.read(sql));
      }
      expect(swFake.rest.rows(tableRef('telemetry'))[2]).toMatchObject({ environmentsCount: 2 ** 40, startTime: new Date(1), paid: false });
      expect(swFake.rest.rows(tableRef('telemetry'))[1]).toMatchObject({ app: null, auth: null, paid: null, country: 'FR' });
      expect(swFake.storage.appends.map((a) => a.outcome)).toEqual(['ok', 'ok']);
      expect(swFake.rest.requests.filter((r) => r.route === 'jobs.insert')).toHaveLength(0);
      await dml.close();
      await sw.close();
    });

    it('stores what the app accepted over HTTP, one COMMITTED stream per table, and finalizes both at shutdown', async () => {
      const f = await freshFakes();
      const t = await startApp(storageWriteEnv(f.rest, f.storage));
      const http = request(t.app.getHttpServer());
      await http.post('/events/telemetry').set('Content-Type', 'text/plain;charset=UTF-8').send(JSON.stringify(appBeacon)).expect(204);
      await http.post('/events/website').set('User-Agent', BROWSER_UA).send(websitePageview).expect(204);
      await t.app.close();
      expect(f.rest.rows(tableRef('telemetry'))).toMatchObject([
        { installationId: appBeacon.installationId, startTime: new Date(appBeacon.startTime) },
      ]);
      expect(f.rest.rows(tableRef('website_events'))).toMatchObject([{ path: '/docs/getting-started', type: 'pageview' }]);
      expect(
        f.storage
          .streamList()
          .map((s) => [s.tableRef.split('.')[2], s.rows, s.finalized])
          .sort(),
      ).toEqual([
        ['telemetry', 1, true],
        ['website_events', 1, true],
      ]);
      expect(t.app.get(IngestStats).snapshot().telemetry).toMatchObject({ accepted: 1, written: 1, dropped: 0 });
    });
  });

  describe('limits and faults', () => {
    it('lands a burst of 2,000 events completely, once each', async () => {
      const f = await freshFakes();
      const t = await startApp(
        storageWriteEnv(f.rest, f.storage, { BATCH_SIZE: '50', FLUSH_INTERVAL_MS: '200', RETRY_BASE_DELAY_MS: '20' }),
      );
      const http = request(t.app.getHttpServer());
      for (let wave = 0; wave < 10; wave++) {
        await Promise.all(
          Array.from({ length: 200 }, (_, i) =>
            http
              .post('/events/website')
              .send({ ...websitePageview, path: `/burst/${wave * 200 + i}` })
              .expect(204),
          ),
        );
      }
      const writer = t.app.get(BatchWriter);
      expect(await waitFor(() => writer.pending('website_events') === 0, 60_000)).toBe(true);
      const stats = t.app.get(IngestStats).snapshot().website_events;
      await t.app.close();
      expect(stats).toMatchObject({ accepted: 2000, written: 2000, dropped: 0 });
      const paths = f.rest.rows(tableRef('website_events')).map((r) => r.path);
      expect(paths).toHaveLength(2000);
      expect(duplicates(paths)).toBe(0);
      expect(f.storage.appends.every((a) => a.rows <= 50 && a.outcome === 'ok')).toBe(true);
    }, 120_000);

    it('loses and duplicates nothing through 20% UNAVAILABLE, 10% lost answers and RESOURCE_EXHAUSTED', async () => {
      const f = await freshFakes();
      f.storage.inject('unavailable', { every: 5 });
      f.storage.inject('lose', { every: 10 });
      f.storage.inject('resource-exhausted', { every: 7 });
      const t = await startApp(
        storageWriteEnv(f.rest, f.storage, {
          BATCH_SIZE: '10',
          FLUSH_INTERVAL_MS: '600000',
          RETRY_BASE_DELAY_MS: '5',
          WRITE_MAX_ATTEMPTS: '30',
        }),
      );
      const http = request(t.app.getHttpServer());
      for (let i = 0; i < 300; i++)
        await http
          .post('/events/telemetry')
          .send({ ...appBeacon, version: `v${i}` })
          .expect(204);
      const writer = t.app.get(BatchWriter);
      expect(await waitFor(() => writer.pending('telemetry') === 0, 60_000)).toBe(true);
      const stats = t.app.get(IngestStats).snapshot().telemetry;
      await t.app.close();

      expect(f.storage.counters.injected).toBeGreaterThan(10);
      expect(f.storage.counters.lost).toBeGreaterThan(0);
      expect(f.storage.counters.alreadyExists).toBeGreaterThan(0); // a retry after a lost answer found its own rows at its offset
      expect(f.storage.counters.connections).toBeGreaterThan(f.storage.counters.injected / 2); // a new connection after each failure
      expect(stats).toMatchObject({ accepted: 300, written: 300, dropped: 0 });
      const versions = f.rest.rows(tableRef('telemetry')).map((r) => r.version);
      expect(versions).toHaveLength(300);
      expect(duplicates(versions)).toBe(0);
      expect(
        t.logs.matching('warn', /^Batch write failed table=telemetry rows=10 attempt=\d+ maxAttempts=30 reason=UNAVAILABLE retryable=true$/)
          .length,
      ).toBeGreaterThan(0);
      expect(t.logs.matching('warn', /reason=RESOURCE_EXHAUSTED retryable=true$/).length).toBeGreaterThan(0);
    }, 90_000);

    it('retries an append whose answer never comes, after its deadline, at the same offset, and stores it once', async () => {
      const f = await freshFakes();
      const w = await storageWarehouse(f, 300);
      await w.open();
      f.storage.inject('swallow', { times: 1 });
      const rows = [pageview('/a'), pageview('/b')];
      const attempts = await writeWithRetries(w, rows, 'batch-swallowed');
      await w.write(catalog.table('website_events'), [pageview('/c')], 'batch-next');
      await w.close();
      expect(attempts).toBe(2);
      expect(f.storage.appends.map((a) => [a.offset, a.outcome])).toEqual([
        [0, 'ok, answer swallowed'],
        [0, 'error 6'], // ALREADY_EXISTS: already written
        [2, 'ok'],
      ]);
      expect(f.rest.rows(tableRef('website_events')).map((r) => r.path)).toEqual(['/a', '/b', '/c']);
    });

    it.each([
      ['written before the answer was lost', 'lose' as const, ['/a', '/b', '/c']],
      ['refused before any work', 'unavailable' as const, ['/c', '/a', '/b']],
    ])('settles an unanswered append from the finalized row count before a new stream takes anything (%s)', async (_, fault, expected) => {
      const f = await freshFakes();
      const w = await storageWarehouse(f);
      await w.open();
      f.storage.inject(fault, { times: 1 });
      const rows = [pageview('/a'), pageview('/b')];
      await expect(w.write(catalog.table('website_events'), rows, 'batch-1')).rejects.toMatchObject({ retryable: true });
      // BatchWriter gives the batch up (or splits it: derived ids, the same row objects) while its outcome is unknown.
      await w.write(catalog.table('website_events'), [pageview('/c')], 'batch-2');
      await w.write(catalog.table('website_events'), rows.slice(0, 1), 'batch-1-0');
      await w.write(catalog.table('website_events'), rows.slice(1), 'batch-1-1');
      await w.close();
      expect(f.rest.rows(tableRef('website_events')).map((r) => r.path)).toEqual(expected);
      const streams = f.storage.streamList();
      expect(streams).toHaveLength(2);
      expect(streams[0]).toMatchObject({ finalized: true, rows: fault === 'lose' ? 2 : 0 });
      expect(f.storage.calls.filter((c) => c === 'FinalizeWriteStream').length).toBeGreaterThanOrEqual(2);
    });

    it('moves to a new stream when its stream was finalized behind its back, without a duplicate', async () => {
      const f = await freshFakes();
      const w = await storageWarehouse(f);
      await w.open();
      await w.write(catalog.table('website_events'), [pageview('/a')], 'b1');
      const [first] = f.storage.streamList();
      f.storage.finalizeBehindTheBack(first.name);
      const attempts = await writeWithRetries(w, [pageview('/b'), pageview('/c')], 'b2');
      await w.close();
      expect(attempts).toBe(2);
      expect(f.storage.appends.map((a) => a.outcome)).toEqual(['ok', 'error 9', 'ok']);
      expect(f.rest.rows(tableRef('website_events')).map((r) => r.path)).toEqual(['/a', '/b', '/c']);
      expect(f.storage.streamList().map((s) => s.rows)).toEqual([1, 2]);
    });

    it('splits a batch over 10 MB into appends under the limit, at consecutive offsets', async () => {
      const f = await freshFakes();
      const w = await storageWarehouse(f);
      await w.open();
      const big = 'x'.repeat(100_000);
      const rows = Array.from({ length: 250 }, (_, i) => pageview(`/${i}/${big}`)); // about 50 MB
      await w.write(catalog.table('website_events'), rows, 'big-batch');
      await w.close();
      expect(f.storage.appends.length).toBeGreaterThanOrEqual(5);
      expect(f.storage.appends.every((a) => a.bytes < MAX_APPEND_BYTES && a.outcome === 'ok')).toBe(true);
      expect(f.storage.appends.map((a) => a.offset)).toEqual(
        f.storage.appends.map((_, i) => f.storage.appends.slice(0, i).reduce((sum, a) => sum + a.rows, 0)),
      );
      expect(f.storage.counters.tooLarge).toBe(0);
      const paths = f.rest.rows(tableRef('website_events')).map((r) => r.path);
      expect(paths).toHaveLength(250);
      expect(duplicates(paths)).toBe(0);
    });

    it('does not retry rows the table refuses, and writes nothing of their append', async () => {
      const f = await freshFakes();
      const w = await storageWarehouse(f);
      await w.open();
      const bad = { ...pageview('/bad'), date: new Date('0000-06-01T00:00:00Z') }; // before 0001-01-01: out of TIMESTAMP's range
      await expect(w.write(catalog.table('website_events'), [pageview('/ok'), bad], 'bad-batch')).rejects.toMatchObject({
        reason: 'INVALID_ARGUMENT',
        retryable: false,
      });
      await w.write(catalog.table('website_events'), [pageview('/next')], 'next');
      await w.close();
      expect(f.rest.rows(tableRef('website_events')).map((r) => r.path)).toEqual(['/next']);
      expect(f.storage.appends.map((a) => [a.offset, a.outcome])).toEqual([
        [0, 'error 3'],
        [0, 'ok'],
      ]);
    });
  });

  describe('loopback only', () => {
    it('sent every call to the fakes in plaintext, without credentials, and nothing off loopback', () => {
      const metadata = all.flatMap((f) => f.storage.metadata);
      expect(metadata.length).toBeGreaterThan(20);
      expect(metadata.filter((m) => m.get('authorization').length > 0)).toEqual([]);
      expect(guard.violations()).toEqual([]);
    });
  });
});
