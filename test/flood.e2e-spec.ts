// Before anything can load the client: no metadata server probe.
process.env.METADATA_SERVER_DETECTION = 'none';
import './fake-bigquery/loopback-guard';
import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { FakeBigQuery } from './fake-bigquery/fake-bigquery';
import { bigQueryEnv, freshFake, tableRef } from './fake-bigquery/env';
import { entrypointNodeFlags } from './support/entrypoint';
import { BROWSER_UA, maximalWebsiteEvent } from './support/payloads';
import { freePort, untilListening, waitFor } from './support/app';

const ROOT = join(__dirname, '..');
const ADMIN_TOKEN = 'flood-admin-token';
/** More maximal rows than the default MAX_BUFFERED_BYTES holds (about 4,500). */
const FLOOD = 5_200;
const CONNECTIONS = 32;

// The largest website row the DTOs accept, sent as the website's beacon sends it.
const maximal = (i: number) => JSON.stringify(maximalWebsiteEvent(i));

interface Counts {
  accepted: number;
  written: number;
  dropped: number;
}

/**
 * The API as App Engine runs it on an F1 instance (app.yaml's heap flags, default buffer limits),
 * flooded with the largest valid rows while BigQuery is down, then while it never answers: the
 * process stays up, memory stays bounded, and once BigQuery is back every accepted row is either
 * written or counted as dropped. The full 60 s version, with figures, is `npm run bench:flood`.
 */
describe('A flood of maximal rows with BigQuery down or stuck, heap capped like F1 (e2e)', () => {
  let fake: FakeBigQuery;
  let child: ChildProcess;
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let output = '';
  let port: number;
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });

  beforeAll(async () => {
    fake = await freshFake();
    port = await freePort();
    child = spawn(process.execPath, [...entrypointNodeFlags(readFileSync(join(ROOT, 'app.yaml'), 'utf8')), 'dist/main.js'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        PORT: String(port),
        ADMIN_TOKEN,
        // One client stands for many here; the attacker of this test has many addresses.
        RATE_LIMIT_REQUESTS: '1000000',
        // Retries every few seconds at most, so that the drain starts soon after BigQuery is back.
        RETRY_BASE_DELAY_MS: '100',
        WRITE_MAX_ATTEMPTS: '100',
        ...bigQueryEnv(fake),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [child.stdout!, child.stderr!]) stream.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.once('exit', (code, signal) => (exit = { code, signal }));
    await untilListening(`http://127.0.0.1:${port}`, () => output);
  }, 60_000);

  afterAll(async () => {
    agent.destroy();
    if (!exit) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await fake.stop();
  });

  const call = (method: string, path: string, body?: string, headers: Record<string, string | number> = {}) =>
    new Promise<{ status: number; data: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, method, agent, headers }, (res) => {
        let data = '';
        res.setEncoding('utf8').on('data', (d: string) => (data += d));
        res.on('end', () => resolve({ status: res.statusCode!, data }));
      });
      req.on('error', reject);
      req.end(body);
    });

  const health = async () =>
    JSON.parse((await call('GET', '/healthz', undefined, { authorization: `Bearer ${ADMIN_TOKEN}` })).data) as {
      pending: Record<string, number>;
      counts: Record<string, Counts>;
    };

  async function flood(from: number): Promise<number[]> {
    const statuses: number[] = [];
    let next = from;
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async () => {
        while (next < from + FLOOD && !exit) {
          const body = maximal(next++);
          const headers = { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body), 'user-agent': BROWSER_UA };
          statuses.push((await call('POST', '/events/website', body, headers)).status);
        }
      }),
    );
    return statuses;
  }

  const peakRssMb = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]) / 1024;

  async function drained(): Promise<Counts> {
    expect(await waitFor(async () => (await health()).pending.website_events === 0, 120_000)).toBe(true);
    return (await health()).counts.website_events;
  }

  it('BigQuery down (every INSERT answered 503): stays up, drops what is past the byte budget, writes the rest once back', async () => {
    fake.inject({ route: 'jobs.insert', mode: 'status', status: 503, reason: 'backendError' });
    const statuses = await flood(0);
    expect(exit).toBeUndefined();
    expect(statuses).toEqual(Array.from({ length: FLOOD }, () => 204));
    const during = await health();
    expect(during.counts.website_events.dropped).toBeGreaterThan(0); // the byte budget, not the row cap (20,000), turned them away
    expect(output).toContain('reason=more than 50331648 bytes waiting');

    fake.clearFaults();
    const counts = await drained();
    expect(counts.accepted).toBe(FLOOD);
    expect(counts.written + counts.dropped).toBe(counts.accepted);
    expect(fake.rows(tableRef('website_events'))).toHaveLength(counts.written);
    expect(peakRssMb()).toBeLessThan(300);
  }, 180_000);

  it('BigQuery stuck (no INSERT answered until released): the same bounds, and nothing written twice', async () => {
    const before = (await health()).counts.website_events;
    const gate = fake.hold('jobs.insert');
    const statuses = await flood(FLOOD);
    expect(exit).toBeUndefined();
    expect(statuses.every((s) => s === 204)).toBe(true);
    expect((await health()).counts.website_events.dropped).toBeGreaterThan(before.dropped);

    gate.release();
    const counts = await drained();
    expect(counts.accepted - before.accepted).toBe(FLOOD);
    expect(counts.written + counts.dropped).toBe(counts.accepted);
    const paths = fake.rows(tableRef('website_events')).map((r) => String(r.path));
    expect(paths).toHaveLength(counts.written);
    expect(new Set(paths).size).toBe(paths.length);
    expect(peakRssMb()).toBeLessThan(300);
    expect(exit).toBeUndefined();
  }, 180_000);
});
