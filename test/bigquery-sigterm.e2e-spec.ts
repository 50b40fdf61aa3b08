// Before anything can load the client: no metadata server probe.
process.env.METADATA_SERVER_DETECTION = 'none';
import './fake-bigquery/loopback-guard';
import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { FakeBigQuery } from './fake-bigquery/fake-bigquery';
import { bigQueryEnv, freshFake, tableRef } from './fake-bigquery/env';
import { appBeacon, BROWSER_UA, websitePageview } from './support/payloads';
import { freePort, untilListening } from './support/app';

const ROOT = join(__dirname, '..');
const GUARD = join(__dirname, 'fake-bigquery/loopback-guard.js');

describe('The built API on BigQuery, as a process (e2e)', () => {
  let fake: FakeBigQuery;
  beforeAll(async () => {
    fake = await freshFake();
  });
  afterAll(() => fake.stop());

  it('flushes every pending event to BigQuery on SIGTERM, and talks to nothing but the fake', async () => {
    const port = await freePort();
    // dist/ is built by the jest global setup. The guard blocks and reports any non-loopback connection.
    const child: ChildProcess = spawn(process.execPath, ['-r', GUARD, 'dist/main.js'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        PORT: String(port),
        LOOPBACK_GUARD_REPORT: '1',
        ...bigQueryEnv(fake, { FLUSH_INTERVAL_MS: '600000', BATCH_SIZE: '10000', SHUTDOWN_FLUSH_TIMEOUT_MS: '8000' }),
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
    const answers = await Promise.all([
      ...Array.from({ length: 150 }, (_, i) => post('/events/website', { ...websitePageview, path: `/p/${i}` })),
      ...Array.from({ length: 20 }, (_, i) => post('/events/telemetry', { ...appBeacon, version: `v${i}` })),
    ]);
    expect(answers.every((a) => a.status === 204)).toBe(true);
    expect(fake.requests.filter((r) => r.route === 'jobs.insert')).toHaveLength(0); // all still pending
    fake.jobRunMs = 300; // the flush has to wait for its jobs

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).not.toContain('loopback-guard');
    expect(
      fake
        .rows(tableRef('website_events'))
        .map((r) => r.path)
        .sort(),
    ).toEqual(Array.from({ length: 150 }, (_, i) => `/p/${i}`).sort());
    expect(fake.rows(tableRef('telemetry'))).toHaveLength(20);
    expect(fake.requests.every((r) => r.authorization === 'Bearer fake-access-token')).toBe(true);
  }, 40_000);

  it('finishes the flush and exits 0 when a second SIGTERM arrives during it', async () => {
    const port = await freePort();
    const child: ChildProcess = spawn(process.execPath, ['dist/main.js'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        PORT: String(port),
        ...bigQueryEnv(fake, { FLUSH_INTERVAL_MS: '600000', BATCH_SIZE: '10000', SHUTDOWN_FLUSH_TIMEOUT_MS: '8000' }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const printed: { text: string; resolve: () => void }[] = [];
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      for (const wait of printed) if (stdout.includes(wait.text)) wait.resolve();
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const untilPrinted = (text: string) => new Promise<void>((resolve) => printed.push({ text, resolve }));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    await untilPrinted('Listening');
    const url = `http://127.0.0.1:${port}`;
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        fetch(`${url}/events/website`, {
          method: 'POST',
          headers: { 'Content-Type': 'text/plain', 'User-Agent': BROWSER_UA },
          body: JSON.stringify({ ...websitePageview, path: `/twice/${i}` }),
        }),
      ),
    );
    expect(answers.every((a) => a.status === 204)).toBe(true);

    // BigQuery holds the flush's INSERT: the shutdown window is open for as long as the test wants.
    const gate = fake.hold('jobs.insert');
    child.kill('SIGTERM');
    await gate.arrived();
    child.kill('SIGTERM');
    await Promise.race([untilPrinted('Already stopping'), exited]); // Node's default handler would end it here, with 143
    gate.release();
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(stderr).toBe('');
    expect(
      fake
        .rows(tableRef('website_events'))
        .map((r) => String(r.path))
        .filter((path) => path.startsWith('/twice/'))
        .sort(),
    ).toEqual(Array.from({ length: 30 }, (_, i) => `/twice/${i}`).sort());
  }, 40_000);

  it('exits 0 within App Engine’s 3 s window, with what it could not write counted and logged', async () => {
    const port = await freePort();
    // Default SHUTDOWN_FLUSH_TIMEOUT_MS; a long WAREHOUSE_TIMEOUT_MS so the request is still hung at the signal.
    const child: ChildProcess = spawn(process.execPath, ['dist/main.js'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        PORT: String(port),
        ...bigQueryEnv(fake, { FLUSH_INTERVAL_MS: '50', WAREHOUSE_TIMEOUT_MS: '600000' }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    for (const stream of [child.stdout!, child.stderr!]) stream.setEncoding('utf8').on('data', (d: string) => (output += d));
    const exited = new Promise<{ code: number | null; at: number }>((resolve) =>
      child.once('exit', (code) => resolve({ code, at: performance.now() })),
    );
    const url = `http://127.0.0.1:${port}`;
    await untilListening(url, () => output);
    const gate = fake.hold('jobs.insert');
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        fetch(`${url}/events/website`, {
          method: 'POST',
          headers: { 'Content-Type': 'text/plain', 'User-Agent': BROWSER_UA },
          body: JSON.stringify({ ...websitePageview, path: `/hung/${i}` }),
        }),
      ),
    );
    expect(answers.every((a) => a.status === 204)).toBe(true);
    await gate.arrived(); // the INSERT is out, and will never be answered

    const signalled = performance.now();
    child.kill('SIGTERM');
    const { code, at } = await exited;
    gate.release();
    expect(code).toBe(0);
    expect(at - signalled).toBeLessThan(3_000);
    expect(output).toMatch(
      /Shutdown flush deadline passed, rows not written.*"rows":20|Shutdown flush deadline passed, rows not written table=website_events rows=20/,
    );
  }, 40_000);
});
