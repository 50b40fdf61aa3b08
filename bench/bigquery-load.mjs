// Events per DML statement and the largest INSERT request, in bytes, for this API on BigQuery
// (the real client against test/fake-bigquery on 127.0.0.1) under a mixed load: small page views,
// app sessions and the largest website rows the DTOs accept, with default batching settings.
// Usage: npm run bench:bigquery [-- events]   (builds first; loopback only; bounded in count)
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { freePort, loadPayloads, productionNodeFlags, startFakeBigQuery } from './support.mjs';

const total = Number(process.argv[2] ?? 20_000);
const concurrency = 32;
const { fake, env, tableRef } = await startFakeBigQuery();

const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const { maximalWebsiteEvent } = loadPayloads();
/** 70% small page views, 20% app sessions, 10% website rows at every DTO limit. */
function body(i) {
  if (i % 10 < 7)
    return [
      '/events/website',
      { type: 'pageview', path: `/docs/${i}`, entryPage: '/', referrer: 'https://news.ycombinator.com/item?id=1' },
    ];
  if (i % 10 < 9)
    return [
      '/events/telemetry',
      {
        installationId: '6c3b6f7a-1a8e-4f4e-9d2b-1f0e8e5c2a11',
        startTime: '2024-05-01T10:00:00.000Z',
        endTime: '2024-05-01T10:42:17.250Z',
        firstSession: false,
        version: `2.4.${i}`,
        os: 'win32',
        environmentsCount: 3,
      },
    ];
  return ['/events/website', maximalWebsiteEvent(i)];
}

function post(agent, port, path, payload) {
  const data = JSON.stringify(payload);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), 'user-agent': UA },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

const port = await freePort();
const child = spawn(process.execPath, [...productionNodeFlags(), '-r', './test/fake-bigquery/loopback-guard.js', 'dist/main.js'], {
  // One client on loopback stands for many: the per-client rate limit would answer most of it 429.
  env: { PATH: process.env.PATH, ...env, PORT: String(port), RATE_LIMIT_REQUESTS: '1000000' },
  stdio: 'ignore',
});
const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
for (;;) {
  try {
    await post(agent, port, ...body(0));
    break;
  } catch {
    await new Promise((r) => setTimeout(r, 50));
  }
}
let sent = 1;
let non204 = 0;
const started = performance.now();
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (sent < total) {
      const i = sent++;
      if ((await post(agent, port, ...body(i))) !== 204) non204++;
    }
  }),
);
const seconds = (performance.now() - started) / 1000;
// SIGTERM: the API flushes what it holds, then exits.
const exited = new Promise((resolve) => child.on('exit', resolve));
child.kill('SIGTERM');
await exited;
agent.destroy();

const rows = ['telemetry', 'website_events'].map((t) => fake.rows(tableRef(t)).length);
const inserts = fake.requests.filter((r) => r.route === 'jobs.insert' && /^\s*INSERT/.test(r.body?.configuration?.query?.query ?? ''));
const stored = rows[0] + rows[1];
const largest = Math.max(...inserts.map((r) => r.bytes));
console.log(
  `${total} events (70% page views, 20% app sessions, 10% maximal website rows), ${concurrency} connections, default batching (node ${process.version})`,
);
console.log(
  `${(total / seconds).toFixed(0)} req/s, non-204 ${non204}; stored ${stored} (telemetry ${rows[0]}, website_events ${rows[1]}); ` +
    `${inserts.length} INSERT statements: ${(stored / inserts.length).toFixed(1)} events per DML statement; ` +
    `largest INSERT request ${largest} bytes (${(largest / 1024 / 1024).toFixed(2)} MiB); rate-limited ${fake.counters.dmlRateLimited}, too large ${fake.counters.tooLarge}`,
);
await fake.stop();
if (non204 > 0 || stored !== total) {
  console.error(`FAILED: ${non204} requests not answered 204, ${total - stored} events not stored: the figures above do not count`);
  process.exitCode = 1;
}
