// Before anything can load a client: no metadata server probe, and no traffic off loopback.
process.env.METADATA_SERVER_DETECTION = 'none';
import * as guard from './fake-bigquery/loopback-guard';
import { credentials } from '@grpc/grpc-js';
import { managedwriter } from '@google-cloud/bigquery-storage';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { AppConfig } from '../src/config/app-config';
import { protoDescriptor } from '../src/warehouse/bigquery-storage/storage-write.sink';
import { SqlCatalog, websiteEvents } from '../src/warehouse/contracts';
import { createWarehouse } from '../src/warehouse/warehouse.factory';
import { FakeBigQuery } from './fake-bigquery/fake-bigquery';
import { bigQueryEnv, tableRef } from './fake-bigquery/env';
import { FakeBigQueryStorage } from './fake-bigquery-storage/fake-bigquery-storage';

/**
 * The traps of @google-cloud/bigquery-storage 5.1.2's managed writer that StorageWriteSink works
 * around, each shown biting through the real client against the fake. If an upgrade fixes one,
 * its test fails: then the workaround can go.
 */
const catalog = SqlCatalog.load();
const ROOT = join(__dirname, '..');
const PROBE = join(__dirname, 'fake-bigquery-storage/client-probe.js');
const GUARD = join(__dirname, 'fake-bigquery/loopback-guard.js');

describe('Traps of the Storage Write client, v5.1.2 (e2e)', () => {
  let rest: FakeBigQuery;
  let storage: FakeBigQueryStorage;
  let client: managedwriter.WriterClient;
  const parent = `projects/test-project/datasets/analytics/tables/website_events`;
  const row = (path: string) => websiteEvents.toRow({ type: 'pageview', path }, { receivedAt: new Date('2024-05-01T10:00:00.123Z') });

  beforeAll(async () => {
    rest = await new FakeBigQuery().start();
    storage = await new FakeBigQueryStorage(rest).start();
    const setup = await createWarehouse(AppConfig.fromEnv(bigQueryEnv(rest)), catalog);
    await setup.applySchema();
    await setup.close();
    const [host, port] = storage.endpoint.split(':');
    client = new managedwriter.WriterClient({
      servicePath: host,
      port: Number(port),
      sslCreds: credentials.createInsecure(),
      universeDomain: 'googleapis.com',
    });
  });
  afterAll(async () => {
    client.close();
    await storage.stop();
    await rest.stop();
  });

  async function jsonWriter() {
    const streamId = await client.createWriteStream({ streamType: managedwriter.CommittedStream, destinationTable: parent });
    const connection = await client.createStreamConnection({ streamId });
    connection.onConnectionError(() => undefined);
    const writer = new managedwriter.JSONWriter({ connection, protoDescriptor: protoDescriptor(catalog.table('website_events').columns) });
    return { streamId, connection, writer };
  }

  function probe(scenario: string, streamId: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const child = spawn(process.execPath, ['-r', GUARD, PROBE, scenario], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: '/nonexistent',
        METADATA_SERVER_DETECTION: 'assume-present',
        PROBE_PORT: storage.endpoint.split(':')[1],
        PROBE_STREAM: streamId,
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
  }

  it('resolves getResult() of an append refused in-band (ALREADY_EXISTS, OUT_OF_RANGE) with an error field, instead of rejecting', async () => {
    const { writer, connection } = await jsonWriter();
    expect((await writer.appendRows([row('/a')], 0).getResult()).appendResult?.offset?.value).toBe('0');
    const replay = await writer.appendRows([row('/a')], 0).getResult();
    expect(replay.error).toMatchObject({ code: 6 });
    expect(replay.appendResult).toBeFalsy();
    const gap = await writer.appendRows([row('/b')], 5).getResult();
    expect(gap.error).toMatchObject({ code: 11 });
    connection.close();
  });

  it('matches answers to writes by order alone, and close() leaves a write in flight unsettled forever', async () => {
    const { writer, connection, streamId } = await jsonWriter();
    storage.inject('swallow', { times: 1 });
    const first = writer.appendRows([row('/1')], 0); // written, its answer swallowed
    const second = writer.appendRows([row('/2')], 1);
    // The second append's answer settles the first write...
    expect((await first.getResult()).appendResult?.offset?.value).toBe('1');
    expect(connection.getPendingWrites()).toHaveLength(1);
    let settled = false;
    second.getResult().then(
      () => (settled = true),
      () => (settled = true),
    );
    connection.close();
    // ...and after close() the second never settles, even once a later append on a new connection has gone all the way.
    const next = await client.createStreamConnection({ streamId });
    next.onConnectionError(() => undefined);
    const again = new managedwriter.JSONWriter({
      connection: next,
      protoDescriptor: protoDescriptor(catalog.table('website_events').columns),
    });
    expect((await again.appendRows([row('/3')], 2).getResult()).appendResult?.offset?.value).toBe('2');
    expect(settled).toBe(false);
    next.close();
  });

  it('encodes a TIMESTAMP from a Date only: an ISO string throws inside appendRows', async () => {
    const { writer, connection } = await jsonWriter();
    const before = rest.rows(tableRef('website_events')).length;
    expect(() => writer.appendRows([{ ...row('/iso'), date: '2024-05-01T10:00:00.123Z' }])).toThrow();
    await writer.appendRows([row('/date')]).getResult();
    expect(rest.rows(tableRef('website_events')).slice(before)).toMatchObject([
      { path: '/date', date: new Date('2024-05-01T10:00:00.123Z') },
    ]);
    connection.close();
  });

  it('throws an uncaught exception when a call ends with a non-retryable status and nobody listens with onConnectionError', async () => {
    const streamId = await client.createWriteStream({ streamType: managedwriter.CommittedStream, destinationTable: parent });
    const crashed = await probe('non-retryable-without-listener', streamId);
    expect(crashed.code).not.toBe(0);
    expect(crashed.stderr).toMatch(/INVALID_ARGUMENT|AppendRows request too large/);
    const handled = await probe('non-retryable-with-listener', streamId);
    expect(handled).toMatchObject({ code: 0 });
    expect(JSON.parse(handled.stdout)).toEqual({ outcome: 'rejected 3', violations: [] });
  });

  it('reaches a plaintext endpoint only with host and port apart, insecure credentials and an explicit universe domain', async () => {
    const streamId = await client.createWriteStream({ streamType: managedwriter.CommittedStream, destinationTable: parent });
    const results = Object.fromEntries(
      await Promise.all(
        ['host-and-port-together', 'no-insecure-credentials', 'no-universe-domain', 'plaintext'].map(
          async (s) => [s, JSON.parse((await probe(s, streamId)).stdout)] as const,
        ),
      ),
    );
    expect(results['plaintext']).toEqual({ outcome: 'ok', violations: [] });
    expect(results['host-and-port-together'].violations).toContain(`dns ${storage.endpoint}:443`);
    expect(results['no-insecure-credentials'].violations).toContain('connect 169.254.169.254');
    expect(results['no-universe-domain'].violations).toContain('connect 169.254.169.254');
    expect(guard.violations()).toEqual([]);
  });
});
