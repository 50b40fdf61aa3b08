// Throughput, latency, memory and CPU of POST /events/telemetry, side by side in one run: the
// limit (node:http), the ceiling (the empty Nest app), the naive reference (one INSERT per event)
// and this API on DuckDB and on the fake BigQuery; and the same on Fastify instead of Express (the
// empty app, and this API's AppModule through bench/ours-fastify.js, on DuckDB), which the API
// does not run on: what a port would gain. Loopback only; each variant is bounded in time.
// Usage: npm run bench [-- --duration 10 --warmup 3 --connections 32 --rounds 1 --variants nest,duckdb --env BATCH_SIZE=1000]
// (--env: a setting for ours, repeatable; the 60 s memory check is --duration 60 --settle 30;
// --rounds 3 measures every variant three times, interleaved, and shows each row's median round)
//
// Every variant gets the same request: the desktop app's beacon (test/support/payloads.ts
// appBeacon, as sendBeacon sends it: text/plain), from autocannon in this process.
// "The same DTO": the empty Nest app and the naive app validate with the API's own TelemetryDto,
// imported from dist/, and the ValidationPipe options of src/app.setup.ts (whitelist, transform,
// forbidUnknownValues), parsing text/plain as JSON as the API does; what the API adds (its pipe
// subclass, middleware, stats, queue, writes) is what the ratio to that app measures.
// The fake BigQuery runs in its own process, so that its CPU time is reported apart from ours.
// Ours must end every run with accepted = written (and, on BigQuery, the fake holding every row):
// a faster row that lost events is not faster, so the bench exits 1 if any row did.
import autocannon from 'autocannon';
import { execFileSync, fork, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, loadPayloads, productionNodeFlags } from './support.mjs';

const ROOT = join(import.meta.dirname, '..');
const ADMIN_TOKEN = 'bench-admin-token';
const BIGQUERY = { BIGQUERY_PROJECT: 'bench-project', BIGQUERY_DATASET: 'analytics', BIGQUERY_ACCESS_TOKEN: 'bench-token' };
/** One client address sends everything here: the per-client rate limit would answer most of it 429. */
const OURS = { ADMIN_TOKEN, RATE_LIMIT_REQUESTS: '1000000', HOST: '127.0.0.1' };

/**
 * What runs, in this order. `args`: node's arguments (a preload, the script); `env(context)`: its
 * environment beside PORT; `ours`: run with NODE_FLAGS, read /healthz for the counts, wait for the
 * drain; `fakeBigQuery`: start test/fake-bigquery in its own process first (context.fakeUrl);
 * `eventsPerInsert`: where /healthz does not count it; `ceiling`: the key of another yardstick than
 * the empty Nest app on Express, whose ratio is printed under the table.
 */
const VARIANTS = [
  { key: 'node-http', label: 'node:http + JSON.parse (the limit)', args: ['bench/node-http-app.js'], env: () => ({}) },
  {
    key: 'nest',
    label: 'empty Nest + Express + ValidationPipe, same DTO (the ceiling)',
    args: ['bench/baseline-app.js'],
    env: () => ({ BASELINE: 'dto' }),
  },
  {
    key: 'nest-fastify',
    label: 'empty Nest + Fastify + ValidationPipe, same DTO',
    args: ['bench/baseline-app.js'],
    env: () => ({ BASELINE: 'dto-fastify' }),
  },
  {
    key: 'naive',
    label: 'naive: Nest, same DTO, one INSERT per event into DuckDB',
    args: ['bench/baseline-app.js'],
    env: ({ dir }) => ({ BASELINE: 'naive', DUCKDB_PATH: join(dir, 'naive.duckdb') }),
    eventsPerInsert: 1,
  },
  {
    key: 'duckdb',
    label: 'ours, DuckDB',
    args: ['dist/main.js'],
    env: ({ dir }) => ({ ...OURS, WAREHOUSE: 'duckdb', DUCKDB_PATH: join(dir, 'ours.duckdb') }),
    ours: true,
  },
  {
    // DuckDB only: at Fastify's rate the fake BigQuery's DML rate limit, not the server, would be measured.
    key: 'duckdb-fastify',
    label: 'ours on Fastify, DuckDB (bench/ours-fastify.js)',
    args: ['bench/ours-fastify.js'],
    env: ({ dir }) => ({ ...OURS, WAREHOUSE: 'duckdb', DUCKDB_PATH: join(dir, 'ours-fastify.duckdb') }),
    ours: true,
    ceiling: 'nest-fastify',
  },
  {
    key: 'bigquery',
    label: 'ours, fake BigQuery (DML, real client, BATCH_SIZE 5000)',
    args: ['-r', './test/fake-bigquery/loopback-guard.js', 'dist/main.js'],
    env: ({ fakeUrl }) => ({
      ...OURS,
      ...BIGQUERY,
      // One table's DML quota (25 INSERTs per 10 s) caps it at 5,000 rows/s at the default 2000 rows
      // per INSERT, less than one process serves here: at 5000 (12,500 rows/s) the server is measured.
      BATCH_SIZE: '5000',
      WAREHOUSE: 'bigquery',
      BIGQUERY_API_ENDPOINT: fakeUrl,
      METADATA_SERVER_DETECTION: 'none',
    }),
    ours: true,
    fakeBigQuery: true,
  },
];

const { values: flags } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '1' },
    settle: { type: 'string', default: '0' },
    'node-flags': { type: 'string' },
    variants: { type: 'string', default: VARIANTS.map((v) => v.key).join(',') },
    env: { type: 'string', multiple: true, default: [] },
    help: { type: 'boolean', default: false },
  },
});
if (flags.help) {
  console.log(
    'npm run bench [-- --duration SECONDS (10) --warmup SECONDS (3) --connections N (32) --rounds N (1) --settle SECONDS (0; then the RSS of ours that long after the drain) --node-flags "FLAGS" (those of app.yaml; none: V8 defaults) ' +
      `--variants ${VARIANTS.map((v) => v.key).join(',')} --env NAME=VALUE (for ours; repeatable)]`,
  );
  process.exit(0);
}
const duration = positive('duration', flags.duration);
const warmup = positive('warmup', flags.warmup, true);
const connections = positive('connections', flags.connections);
const rounds = positive('rounds', flags.rounds);
const settle = positive('settle', flags.settle, true);
/** Ours runs as app.yaml runs it, with the heap sized for F1, unless --node-flags says otherwise ('none': V8's defaults). */
const NODE_FLAGS =
  flags['node-flags'] === undefined ? productionNodeFlags() : flags['node-flags'].split(/\s+/).filter((f) => f && f !== 'none');
const chosen = flags.variants.split(',').map((key) => VARIANTS.find((v) => v.key === key.trim()) ?? usage(`unknown variant ${key}`));
const variants = VARIANTS.filter((v) => chosen.includes(v));
const oursEnv = Object.fromEntries(
  flags.env.map((pair) => (/^\w+=/.test(pair) ? pair.split(/=(.*)/s, 2) : usage(`--env ${pair}: use NAME=VALUE`))),
);

function positive(name, value, zeroAllowed = false) {
  const n = Number(value);
  if (!Number.isInteger(n) || n < (zeroAllowed ? 0 : 1)) usage(`--${name} must be a whole number${zeroAllowed ? '' : ' above 0'}`);
  return n;
}

function usage(message) {
  console.error(`npm run bench: ${message} (--help lists the flags)`);
  process.exit(2);
}

// The payload as the tests hold it.
const dir = mkdtempSync(join(tmpdir(), 'bench-'));
const { appBeacon, BROWSER_UA } = loadPayloads();
const body = JSON.stringify(appBeacon);
const headers = { 'content-type': 'text/plain;charset=UTF-8', 'user-agent': BROWSER_UA };

// Every process this bench starts, stopped on any way out.
const children = new Set();
function stopAll() {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
process.on('exit', stopAll);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => process.exit(130));

function start(args, env) {
  const child = spawn(process.execPath, ['-r', './bench/exit-with-parent.js', '-r', './bench/heap-peak.js', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  children.add(child);
  let output = '';
  const keep = (chunk) => (output = (output + chunk).slice(-4000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.output = () => output;
  child.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  void child.exited.then(() => children.delete(child));
  /** The V8 heap's peaks so far, from bench/heap-peak.js. */
  child.heapPeak = () => {
    const answer = new Promise((resolve) => child.once('message', (message) => resolve(message.heap)));
    child.send('heap');
    return answer;
  };
  return child;
}

async function stop(child, graceMs = 15_000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await child.exited;
  clearTimeout(timer);
}

/** Stops ours as App Engine does (SIGTERM), watching its RSS high-water mark until it exits: what closing the warehouse costs. */
async function stopWatched(child) {
  let hwmMb = memoryMb(child.pid, 'VmHWM');
  const watch = setInterval(() => {
    try {
      hwmMb = memoryMb(child.pid, 'VmHWM');
    } catch {
      // Gone between two reads: the last one stands.
    }
  }, 10);
  const started = Date.now();
  await stop(child).finally(() => clearInterval(watch));
  return { ms: Date.now() - started, hwmMb };
}

async function startFakeBigQuery() {
  const child = fork(join(ROOT, 'bench/fake-bigquery-process.mjs'), {
    cwd: ROOT,
    env: { PATH: process.env.PATH, METADATA_SERVER_DETECTION: 'none', WAREHOUSE: 'bigquery', ...BIGQUERY },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.add(child);
  child.exited = new Promise((resolve) => child.once('exit', resolve));
  void child.exited.then(() => children.delete(child));
  const { url } = await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`the fake BigQuery exited (${code}) before listening`)));
  });
  child.stats = () => {
    const answer = new Promise((resolve) => child.once('message', resolve));
    child.send('stats');
    return answer;
  };
  return { child, url };
}

const memoryMb = (pid, field) => Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`${field}:\\s+(\\d+)`))[1]) / 1024;
const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })) || 100;
  } catch {
    return 100;
  }
})();
/** User + system CPU seconds of a process so far (fields 14 and 15 of /proc/<pid>/stat, after the command's parentheses). */
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** Polls until the server answers the payload with 204 (bounded), failing with what it printed if it exits or never does. */
async function untilServing(child, url) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the server exited before serving:\n${child.output()}`);
    const res = await fetch(url, { method: 'POST', headers, body }).catch((error) => {
      if (Date.now() > deadline) throw new Error(`the server did not answer within 30 s:\n${child.output()}`, { cause: error });
    });
    if (res?.status === 204) return;
    if (res) throw new Error(`the server answered ${res.status} to the payload: ${await res.text()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function adminGet(base, path) {
  const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  if (!res.ok) throw new Error(`GET ${path} answered ${res.status}`);
  return res.json();
}

/** Polls /healthz until nothing is pending (bounded: 120 s); returns its counts. */
async function untilDrained(base) {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const health = await adminGet(base, '/healthz');
    if (Object.values(health.pending).every((n) => n === 0)) return health.counts;
    if (Date.now() > deadline) throw new Error(`rows still pending after 120 s: ${JSON.stringify(health.pending)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const load = (url, seconds) => autocannon({ url, method: 'POST', headers, body, connections, duration: seconds });

async function measure(variant) {
  const context = { dir };
  const fake = variant.fakeBigQuery ? await startFakeBigQuery() : undefined;
  context.fakeUrl = fake?.url;
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const url = `${base}/events/telemetry`;
  const child = start(variant.ours ? [...NODE_FLAGS, ...variant.args] : variant.args, {
    ...variant.env(context),
    ...(variant.ours ? oursEnv : {}),
    PORT: String(port),
  });
  try {
    await untilServing(child, url);
    // What App Engine calls first: loads and opens the warehouse, so that idle memory includes it.
    if (variant.ours && (await adminGet(base, '/_ah/warmup')).status !== 'ready')
      throw new Error('/_ah/warmup: the warehouse is not ready');
    const idleMb = memoryMb(child.pid, 'VmRSS');
    if (warmup > 0) await load(url, warmup);
    const cpuBefore = cpuSeconds(child.pid);
    const fakeCpuBefore = fake ? cpuSeconds(fake.child.pid) : 0;
    const result = await load(url, duration);
    const drainStarted = Date.now();
    const counts = variant.ours ? await untilDrained(base) : undefined;
    const row = {
      variant,
      rps: result.requests.total / result.duration,
      p50: result.latency.p50,
      p99: result.latency.p99,
      failed: result.non2xx + result.errors + result.timeouts,
      idleMb,
      peakMb: memoryMb(child.pid, 'VmHWM'),
      drainedMb: memoryMb(child.pid, 'VmRSS'),
      heap: await child.heapPeak(),
      drainMs: Date.now() - drainStarted,
      requests: result.requests.total,
      cpu: cpuSeconds(child.pid) - cpuBefore,
      fakeCpu: fake ? cpuSeconds(fake.child.pid) - fakeCpuBefore : undefined,
      problems: [],
    };
    if (row.failed > 0) row.problems.push(`${result.non2xx} non-2xx answers, ${result.errors} errors, ${result.timeouts} timeouts`);
    if (counts) {
      row.accepted = sum(counts, 'accepted');
      row.written = sum(counts, 'written');
      row.perInsert = row.written / sum(counts, 'inserts');
      for (const [table, c] of Object.entries(counts)) {
        if (c.accepted !== c.written || c.dropped > 0 || c.miscounted > 0)
          row.problems.push(`${table}: accepted ${c.accepted}, written ${c.written}, dropped ${c.dropped}, miscounted ${c.miscounted}`);
      }
      if (fake) {
        const stats = await fake.child.stats();
        for (const [table, stored] of Object.entries(stats.rows)) {
          if (stored !== counts[table].written)
            row.problems.push(`${table}: the fake holds ${stored} rows, the API wrote ${counts[table].written}`);
        }
        row.rateLimited = stats.counters.dmlRateLimited;
      }
      row.retried = sum(counts, 'retried');
      if (settle > 0) {
        await new Promise((r) => setTimeout(r, settle * 1000));
        row.settledMb = memoryMb(child.pid, 'VmRSS');
      }
      row.closing = await stopWatched(child);
    }
    return row;
  } finally {
    await stop(child);
    if (fake) {
      fake.child.disconnect();
      await fake.child.exited;
    }
  }
}

const sum = (counts, counter) => Object.values(counts).reduce((n, c) => n + c[counter], 0);

// --- run ---
const settings = Object.entries(oursEnv).map(([k, v]) => `${k}=${v}`);
console.log(
  `POST /events/telemetry, the ${Buffer.byteLength(body)}-byte app beacon (text/plain), ${connections} connections, ` +
    `${duration} s per variant after ${warmup} s of warm-up${rounds > 1 ? `, ${rounds} rounds` : ''}; node ${process.version}, ${availableParallelism()} cores; ` +
    `ours with ${flags['node-flags'] === undefined ? "app.yaml's " : ''}node flags: ${NODE_FLAGS.join(' ') || 'none'}` +
    (settings.length > 0 ? ` and ${settings.join(' ')}` : ''),
);
// Round after round, every variant in turn: a machine that slows down for a while slows them alike.
const runs = new Map(variants.map((variant) => [variant, []]));
for (let round = 1; round <= rounds; round++) {
  for (const variant of variants) {
    process.stderr.write(`${variant.label}${rounds > 1 ? ` (round ${round} of ${rounds})` : ''}...\n`);
    runs.get(variant).push(await measure(variant));
  }
}
const rows = variants.map((variant) => medianRun(runs.get(variant)));

/** The run with the median requests/s, with the highest memory peaks of all and every run's problems: one bad round fails the row. */
function medianRun(list) {
  const sorted = [...list].sort((a, b) => a.rps - b.rps);
  return {
    ...sorted[Math.floor((sorted.length - 1) / 2)],
    range: list.length > 1 ? [sorted[0].rps, sorted.at(-1).rps] : undefined,
    peakMb: Math.max(...list.map((r) => r.peakMb)),
    closing: list[0].closing && { ms: Math.max(...list.map((r) => r.closing.ms)), hwmMb: Math.max(...list.map((r) => r.closing.hwmMb)) },
    heap: {
      heapUsed: Math.max(...list.map((r) => r.heap.heapUsed)),
      heapTotal: Math.max(...list.map((r) => r.heap.heapTotal)),
    },
    problems: list.flatMap((r) => r.problems),
  };
}

const nest = rows.find((r) => r.variant.key === 'nest');
const limit = rows.find((r) => r.variant.key === 'node-http');
const int = (n) => Math.round(n).toLocaleString('en-US');
const ratio = (r, to) => (to ? `${(r.rps / to.rps).toFixed(2)}×` : '—');
const table = [
  [
    'variant',
    rounds > 1 ? `req/s: median of ${rounds} (range)` : 'req/s',
    'vs empty Nest',
    'vs node:http',
    'p50',
    'p99',
    'RSS idle → peak → drained',
    'heap peak: used / total',
    'server CPU',
    'per request',
    "fake's CPU",
    'events per INSERT',
    'accepted → written',
  ],
  ...rows.map((r) => [
    r.variant.label,
    r.range ? `${int(r.rps)} (${int(r.range[0])}–${int(r.range[1])})` : int(r.rps),
    ratio(r, nest),
    ratio(r, limit),
    `${r.p50} ms`,
    `${r.p99} ms`,
    `${int(r.idleMb)} → ${int(r.peakMb)} → ${int(r.drainedMb)} MB`,
    `${int(r.heap.heapUsed / 2 ** 20)} / ${int(r.heap.heapTotal / 2 ** 20)} MB`,
    `${r.cpu.toFixed(1)} s`,
    `${int((r.cpu / r.requests) * 1e6)} µs`,
    r.fakeCpu === undefined ? '—' : `${r.fakeCpu.toFixed(1)} s`,
    (r.perInsert ?? r.variant.eventsPerInsert)?.toFixed(0) ?? '—',
    r.accepted === undefined ? '—' : `${int(r.accepted)} → ${int(r.written)}`,
  ]),
];
const widths = table[0].map((_, i) => Math.max(...table.map((cells) => cells[i].length)));
const line = (cells) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
console.log(line(table[0]));
console.log(`| ${widths.map((w, i) => (i === 0 ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`);
for (const cells of table.slice(1)) console.log(line(cells));
for (const r of rows.filter((r) => r.variant.ours)) {
  console.log(
    `${r.variant.label}: drained in ${r.drainMs} ms; ${r.retried} write retries${r.rateLimited ? `, ${r.rateLimited} DML rate-limited` : ''}; ` +
      (r.settledMb === undefined ? '' : `RSS ${settle} s after the drain ${int(r.settledMb)} MB; `) +
      `SIGTERM to exit ${r.closing.ms} ms, RSS high-water mark by then ${int(r.closing.hwmMb)} MB`,
  );
}
for (const r of rows) {
  const ceiling = rows.find((c) => c.variant.key === r.variant.ceiling);
  if (ceiling) console.log(`${r.variant.label}: ${ratio(r, ceiling)} the ${ceiling.variant.label}`);
}

const failed = rows.filter((r) => r.problems.length > 0);
if (failed.length > 0) {
  console.error('\nFAILED: a row lost or refused events, so its figures do not count:');
  for (const r of failed) for (const p of r.problems) console.error(`  ${r.variant.label}: ${p}`);
  process.exitCode = 1;
}
