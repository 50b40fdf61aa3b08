// Cold start: time from process spawn to the first 204 on POST /events/telemetry, for this
// API and for an empty Nest app on the same stack, measured alternately in the same run.
// Usage: npm run bench:cold-start [-- rounds]   (builds first; loopback only)
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, productionNodeFlags } from './support.mjs';

const rounds = Number(process.argv[2] ?? 15);
const body = JSON.stringify({
  installationId: '6c3b6f7a-1a8e-4f4e-9d2b-1f0e8e5c2a11',
  startTime: '2024-05-01T10:00:00.000Z',
  endTime: '2024-05-01T10:42:17.250Z',
  firstSession: false,
  version: '2.4.0',
  os: 'win32',
  environmentsCount: 3,
});

async function coldStart(args, env) {
  const script = args.at(-1);
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    for (;;) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/events/telemetry`, {
          method: 'POST',
          headers: { 'content-type': 'text/plain' },
          body,
        });
        if (res.status === 204) return performance.now() - started;
        throw new Error(`unexpected status ${res.status}`);
      } catch (error) {
        if (error.message.startsWith('unexpected')) throw error;
        if (child.exitCode !== null) throw new Error(`${script} exited (${child.exitCode}) before answering: ${stderr}`, { cause: error });
        if (performance.now() - started > 30_000) throw new Error(`${script} did not answer within 30 s`, { cause: error });
        await new Promise((r) => setTimeout(r, 2));
      }
    }
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'cold-start-'));
// app.yaml starts the API with the heap sized for F1. Any V8 flag that is not the default makes V8
// refuse the code cache that node ships for its own modules (its flag hash differs), which costs
// every app about 20 ms at start: each row is compared with the empty app started with the same flags.
const flags = productionNodeFlags();
const empty = ['bench/baseline-app.js'];
const bigquery = {
  WAREHOUSE: 'bigquery',
  NODE_ENV: 'production',
  HOST: '127.0.0.1', // production would listen on every interface
  BIGQUERY_PROJECT: 'cold-start-bench',
  BIGQUERY_API_ENDPOINT: 'http://127.0.0.1:9',
  BIGQUERY_ACCESS_TOKEN: 'cold-start-token', // production finds no credentials here otherwise, and refuses to start
  METADATA_SERVER_DETECTION: 'none',
  FLUSH_INTERVAL_MS: '600000',
};
const duckdb = { WAREHOUSE: 'duckdb', DUCKDB_PATH: join(dir, 'a.duckdb'), FLUSH_INTERVAL_MS: '600000' };
const APP_YAML = `app.yaml's node flags`;
const DEFAULTS = 'V8 defaults';
/** The first row of each `started` is the empty app that the others started the same way are compared with. */
const variants = [
  { name: 'empty Nest app, same stack', started: APP_YAML, args: [...flags, ...empty], env: {} },
  { name: 'empty Nest app, bare', started: APP_YAML, args: [...flags, ...empty], env: { BASELINE: 'bare' } },
  { name: 'this API, WAREHOUSE=bigquery', started: APP_YAML, args: [...flags, 'dist/main.js'], env: bigquery },
  { name: 'this API, WAREHOUSE=duckdb', started: APP_YAML, args: [...flags, 'dist/main.js'], env: duckdb },
  { name: 'empty Nest app, same stack', started: DEFAULTS, args: empty, env: {} },
  { name: 'this API, WAREHOUSE=duckdb', started: DEFAULTS, args: ['dist/main.js'], env: duckdb },
];

const samples = variants.map(() => []);
await coldStart(empty, {}); // warm the OS file cache once
for (let i = 0; i < rounds; i++) {
  for (const [v, { args, env }] of variants.entries()) samples[v].push(await coldStart(args, env));
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const yardstick = {};
console.log(`cold start to first 204, median of ${rounds} rounds (node ${process.version})`);
for (const [v, { name, started }] of variants.entries()) {
  const m = median(samples[v]);
  const base = yardstick[started];
  if (base === undefined) yardstick[started] = m;
  const vs = base === undefined ? '' : `${(((m - base) / base) * 100).toFixed(0)} %`;
  console.log(`${name.padEnd(30)} ${started.padEnd(22)} ${m.toFixed(0).padStart(5)} ms ${vs.padStart(6)}`);
}
console.log(`% against the empty Nest app on the same stack started with the same node flags (${flags.join(' ')}, or none)`);
