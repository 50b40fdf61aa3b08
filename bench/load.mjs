// Throughput, latency and memory of POST /events/website under load, for this API (healthy
// DuckDB, and with the warehouse down) and for the same-stack empty Nest app, in one run.
// Usage: npm run bench:load [-- requests]   (builds first; loopback only; bounded in count)
import { spawn } from 'node:child_process';
import { readFileSync, mkdtempSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const total = Number(process.argv[2] ?? 40_000);
const concurrency = 32;
const ADMIN_TOKEN = 'bench-admin-token';
const body = JSON.stringify({
  type: 'pageview',
  eventName: null,
  eventCategory: null,
  path: '/docs/getting-started',
  entryPage: '/',
  referrer: 'https://news.ycombinator.com/item?id=1',
});
const headers = {
  'content-type': 'application/json',
  'content-length': Buffer.byteLength(body),
  'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
};

const freePort = () =>
  new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

const memoryKb = (pid, field) => Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`${field}:\\s+(\\d+)`))[1]);

function call(agent, port, path, method = 'POST', extra = {}) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent, headers: method === 'POST' ? headers : extra }, (res) => {
      let data = '';
      res.on('data', (d) => (data += d));
      res.on('end', () => resolve({ status: res.statusCode, data }));
    });
    req.on('error', reject);
    req.end(method === 'POST' ? body : undefined);
  });
}

async function run(name, script, env, path) {
  const port = await freePort();
  const child = spawn(process.execPath, [script], { env: { ...process.env, ...env, PORT: String(port) }, stdio: 'ignore' });
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  for (;;) {
    try {
      await call(agent, port, path);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  const rssBefore = memoryKb(child.pid, 'VmRSS');
  const latencies = [];
  let sent = 0;
  let non204 = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (sent < total) {
        sent++;
        const t = performance.now();
        const { status } = await call(agent, port, path);
        latencies.push(performance.now() - t);
        if (status !== 204) non204++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const peakRss = memoryKb(child.pid, 'VmHWM');
  let health = '';
  if (script === 'dist/main.js') {
    const { data } = await call(agent, port, '/healthz', 'GET', { authorization: `Bearer ${ADMIN_TOKEN}` });
    const { pending, counts } = JSON.parse(data);
    health = `pending=${pending.website_events} written=${counts.website_events.written} dropped=${counts.website_events.dropped}`;
  }
  child.kill('SIGKILL');
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.floor((latencies.length - 1) * p)].toFixed(2);
  console.log(
    `${name.padEnd(30)} ${(total / seconds).toFixed(0).padStart(6)} req/s  p50 ${pct(0.5)} ms  p99 ${pct(0.99)} ms  ` +
      `non-204 ${non204}  RSS ${(rssBefore / 1024).toFixed(0)} -> peak ${(peakRss / 1024).toFixed(0)} MB  ${health}`,
  );
}

const dir = mkdtempSync(join(tmpdir(), 'bench-load-'));
// One client sends every request here: the per-client rate limit would answer most of them 429.
const api = { ADMIN_TOKEN, FLUSH_INTERVAL_MS: '1000', RATE_LIMIT_REQUESTS: '1000000' };
console.log(`${total} POST /events/website per variant, ${concurrency} keep-alive connections (node ${process.version})`);
await run('empty Nest app, same stack', 'bench/baseline-app.js', {}, '/events/telemetry');
await run('this API, DuckDB', 'dist/main.js', { ...api, DUCKDB_PATH: join(dir, 'a.duckdb') }, '/events/website');
await run(
  'this API, warehouse down',
  'dist/main.js',
  { ...api, DUCKDB_PATH: '/dev/null/down/a.duckdb', WRITE_MAX_ATTEMPTS: '100' },
  '/events/website',
);
