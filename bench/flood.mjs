// A flood of the largest website events the DTOs accept, against the built API on BigQuery (the
// real client, test/fake-bigquery on 127.0.0.1) with app.yaml's node flags (the heap sized for an
// App Engine F1 instance), once per warehouse state: healthy, down (every INSERT answered 503)
// and slow (every request answered after 15 s). After each flood BigQuery recovers and the API drains; the table
// shows whether the process stayed up, its peak RSS, and whether written + dropped = accepted.
// Usage: npm run bench:flood [-- --seconds 60 --modes healthy,down,slow --heap 320 (instead of app.yaml's old space)]
// One client on loopback stands for many: the per-client rate limit is raised out of the way.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { parseArgs } from 'node:util';
import { freePort, loadPayloads, productionNodeFlags, startFakeBigQuery } from './support.mjs';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    modes: { type: 'string', default: 'healthy,down,slow' },
    heap: { type: 'string' },
    connections: { type: 'string', default: '32' },
  },
});
const seconds = Number(args.seconds);
const modes = args.modes.split(',');
const connections = Number(args.connections);
const SLOW_MS = 15_000;
const NODE_FLAGS = productionNodeFlags().map((flag) =>
  args.heap !== undefined && flag.startsWith('--max-old-space-size=') ? `--max-old-space-size=${Number(args.heap)}` : flag,
);
const ADMIN_TOKEN = 'bench-admin-token';

const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const { maximalWebsiteEvent } = loadPayloads();
const maximal = (i) => JSON.stringify(maximalWebsiteEvent(i));

function call(agent, port, method, path, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent, headers }, (res) => {
      let data = '';
      res.setEncoding('utf8').on('data', (d) => (data += d));
      res.on('end', () => resolve({ status: res.statusCode, data }));
    });
    req.setTimeout(30_000, () => req.destroy(new Error('no answer in 30 s')));
    req.on('error', reject);
    req.end(body);
  });
}

const statusOf = (pid) => readFileSync(`/proc/${pid}/status`, 'utf8');
const kb = (status, field) => Number(status.match(new RegExp(`${field}:\\s+(\\d+)`))[1]);
const mb = (kib) => `${Math.round(kib / 1024)} MB`;

async function flood(mode) {
  const { fake, env, tableRef } = await startFakeBigQuery();
  // The fake keeps what it receives; a flood is gigabytes of it.
  fake.requests.push = () => 0;

  const port = await freePort();
  const child = spawn(process.execPath, [...NODE_FLAGS, '-r', './test/fake-bigquery/loopback-guard.js', 'dist/main.js'], {
    env: { PATH: process.env.PATH, ...env, PORT: String(port), ADMIN_TOKEN, RATE_LIMIT_REQUESTS: '1000000' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  let exit;
  child.on('exit', (code, signal) => (exit = signal ?? code));
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const health = async () =>
    JSON.parse((await call(agent, port, 'GET', '/healthz', undefined, { authorization: `Bearer ${ADMIN_TOKEN}` })).data);
  for (;;) {
    try {
      await health();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const idle = kb(statusOf(child.pid), 'VmRSS');

  if (mode === 'down') fake.inject({ route: 'jobs.insert', mode: 'status', status: 503, reason: 'backendError' });
  if (mode === 'slow') fake.latencyMs = SLOW_MS;
  let sent = 0;
  let answered204 = 0;
  let failed = 0;
  const until = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < until && exit === undefined) {
        const body = maximal(sent++);
        try {
          const res = await call(agent, port, 'POST', '/events/website', body, {
            'content-type': 'text/plain',
            'content-length': Buffer.byteLength(body),
            'user-agent': UA,
          });
          if (res.status === 204) answered204++;
          else failed++;
        } catch {
          failed++;
        }
      }
    }),
  );
  const afterFlood = exit === undefined ? kb(statusOf(child.pid), 'VmRSS') : NaN;

  fake.clearFaults();
  fake.latencyMs = 0;
  let counts;

  const drainStart = performance.now();
  while (exit === undefined) {
    const h = await health();
    counts = h.counts.website_events;
    if (h.pending.website_events === 0) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const drainedIn = (performance.now() - drainStart) / 1000;
  const status = exit === undefined ? statusOf(child.pid) : '';
  const peak = status ? kb(status, 'VmHWM') : NaN;
  // V8 gives memory back once allocation has been quiet for a while (its memory reducer).
  await new Promise((r) => setTimeout(r, 15_000));
  const drained = exit === undefined ? kb(statusOf(child.pid), 'VmRSS') : NaN;
  child.kill('SIGTERM');
  await new Promise((r) => (exit === undefined ? child.on('exit', r) : r()));
  agent.destroy();
  await fake.stop();
  const stored = fake.rows(tableRef('website_events')).length;
  return { mode, sent, answered204, failed, exit, stderr, idle, afterFlood, peak, drained, drainedIn, counts, stored };
}

console.log(`Flood: ${seconds} s of maximal website events per mode, ${connections} connections, node ${NODE_FLAGS.join(' ')}`);
const results = [];
for (const mode of modes) {
  const r = await flood(mode);
  results.push(r);
  if (r.exit !== 0 && r.exit !== null && r.exit !== 'SIGTERM')
    console.log(`${mode}: the API exited early (${r.exit})\n${r.stderr.slice(-2000)}`);
}
const rows = results.map((r) => {
  const c = r.counts ?? {};
  const balanced = c.accepted === c.written + c.dropped;
  return {
    BigQuery: r.mode,
    'requests (204)': `${r.sent} (${r.answered204})`,
    accepted: c.accepted,
    written: c.written,
    dropped: c.dropped,
    'written + dropped = accepted': balanced ? 'yes' : 'NO',
    'stored (fake)': r.stored,
    'RSS idle → after flood → peak → 15 s after drain': `${mb(r.idle)} → ${mb(r.afterFlood)} → ${mb(r.peak)} → ${mb(r.drained)}`,
    drain: `${r.drainedIn.toFixed(1)} s`,
  };
});
console.table(rows);
const bad = results.filter((r) => !r.counts || r.counts.accepted !== r.counts.written + r.counts.dropped || r.peak >= 300 * 1024);
if (bad.length > 0) {
  console.log(`Not bounded: ${bad.map((r) => r.mode).join(', ')}`);
  process.exitCode = 1;
}
