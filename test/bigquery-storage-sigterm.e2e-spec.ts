// Before anything can load a client: no metadata server probe.
process.env.METADATA_SERVER_DETECTION = 'none';
import './fake-bigquery/loopback-guard';
import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { FakeBigQuery } from './fake-bigquery/fake-bigquery';
import { freshFake, tableRef } from './fake-bigquery/env';
import { FakeBigQueryStorage } from './fake-bigquery-storage/fake-bigquery-storage';
import { storageWriteEnv } from './fake-bigquery-storage/env';
import { appBeacon, BROWSER_UA, websitePageview } from './support/payloads';
import { freePort, untilListening } from './support/app';

const ROOT = join(__dirname, '..');
const GUARD = join(__dirname, 'fake-bigquery/loopback-guard.js');

describe('The built API writing through the Storage Write API, as a process (e2e)', () => {
  let rest: FakeBigQuery;
  let storage: FakeBigQueryStorage;
  beforeAll(async () => {
    rest = await freshFake();
    storage = await new FakeBigQueryStorage(rest).start();
  });
  afterAll(async () => {
    await storage.stop();
    await rest.stop();
  });

  it('flushes every pending event on SIGTERM through lost answers and UNAVAILABLE, once each, and finalizes its streams', async () => {
    const port = await freePort();
    const child: ChildProcess = spawn(process.execPath, ['-r', GUARD, 'dist/main.js'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        PORT: String(port),
        LOOPBACK_GUARD_REPORT: '1',
        ...storageWriteEnv(rest, storage, { FLUSH_INTERVAL_MS: '600000', BATCH_SIZE: '25', SHUTDOWN_FLUSH_TIMEOUT_MS: '15000' }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout!.resume();
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));

    const url = `http://127.0.0.1:${port}`;
    await untilListening(url, () => stderr);
    const post = (path: string, body: unknown) =>
      fetch(`${url}${path}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'User-Agent': BROWSER_UA },
        body: JSON.stringify(body),
      });
    // Under load: batches of 25 are written while events keep arriving, and every third append fails.
    storage.inject('lose', { every: 3 });
    storage.inject('unavailable', { every: 4 });
    const answers = await Promise.all([
      ...Array.from({ length: 400 }, (_, i) => post('/events/website', { ...websitePageview, path: `/p/${i}` })),
      ...Array.from({ length: 60 }, (_, i) => post('/events/telemetry', { ...appBeacon, version: `v${i}` })),
    ]);
    expect(answers.every((a) => a.status === 204)).toBe(true);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).not.toContain('loopback-guard');
    expect(storage.counters.lost).toBeGreaterThan(0);
    expect(
      rest
        .rows(tableRef('website_events'))
        .map((r) => r.path)
        .sort(),
    ).toEqual(Array.from({ length: 400 }, (_, i) => `/p/${i}`).sort());
    expect(
      rest
        .rows(tableRef('telemetry'))
        .map((r) => r.version)
        .sort(),
    ).toEqual(Array.from({ length: 60 }, (_, i) => `v${i}`).sort());
    expect(storage.streamList().every((s) => s.finalized)).toBe(true);
  }, 60_000);
});
