// What bench/ours-fastify.js answers differently from the API on Express (dist/main.js): the
// same requests (valid and refused events, CORS preflights, the other routes) sent to both on
// loopback, each answer's status, a few headers and the start of its body printed side by side,
// then /healthz's counts. What differs is what the README's Fastify notes list as not ported.
// Usage: node scripts/build-if-stale.js && node bench/fastify-parity.mjs
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './support.mjs';

const ROOT = join(import.meta.dirname, '..');
const ADMIN_TOKEN = 'parity-admin-token';
const ALLOWED = 'https://allowed.test';
const BROWSER_UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36';
const beacon = JSON.stringify({
  installationId: '6c3b6f7a-1a8e-4f4e-9d2b-1f0e8e5c2a11',
  startTime: '2024-05-01T10:00:00.000Z',
  endTime: '2024-05-01T10:42:17.250Z',
  firstSession: false,
  version: '2.4.0',
  os: 'win32',
  environmentsCount: 3,
});
const pageview = JSON.stringify({ type: 'pageview', path: '/docs', referrer: 'https://www.google.com/' });
const nested = Array.from({ length: 10 }).reduce((inner) => `{"a":${inner}}`, '1');
const large = JSON.stringify({ a: 'x'.repeat(17_000) });
const text = { 'content-type': 'text/plain;charset=UTF-8' };

/** [what, method, path, headers, body]; a body is sent chunked when the headers say so. */
const CASES = [
  ['beacon, text/plain', 'POST', '/events/telemetry', text, beacon],
  ['beacon, application/json', 'POST', '/events/telemetry', { 'content-type': 'application/json' }, beacon],
  ['beacon, other case, trailing slash', 'POST', '/EVENTS/Telemetry/', { 'content-type': 'Text/Plain' }, beacon],
  ['invalid fields', 'POST', '/events/telemetry', text, '{"installationId":"x"}'],
  ['not JSON', 'POST', '/events/telemetry', text, '{"installationId":'],
  ['an array', 'POST', '/events/telemetry', text, '[1]'],
  ['a string', 'POST', '/events/telemetry', text, '"text"'],
  ['nested 10 deep', 'POST', '/events/telemetry', text, nested],
  ['a form', 'POST', '/events/telemetry', { 'content-type': 'application/x-www-form-urlencoded' }, 'a=1'],
  ['no Content-Type', 'POST', '/events/telemetry', {}, beacon],
  ['charset latin1', 'POST', '/events/telemetry', { 'content-type': 'text/plain;charset=latin1' }, beacon],
  ['empty body', 'POST', '/events/telemetry', { ...text, 'content-length': '0' }, ''],
  ['17 KB', 'POST', '/events/telemetry', text, large],
  ['17 KB chunked', 'POST', '/events/telemetry', { ...text, 'transfer-encoding': 'chunked' }, large],
  ['a __proto__ key', 'POST', '/events/telemetry', text, beacon.replace('{', '{"__proto__":{"x":1},')],
  ['GET on an event route', 'GET', '/events/telemetry', {}, undefined],
  ['PUT on an event route', 'PUT', '/events/website', text, pageview],
  ['preflight, telemetry', 'OPTIONS', '/events/telemetry', { origin: 'null', 'access-control-request-method': 'POST' }],
  ['preflight, listed origin', 'OPTIONS', '/events/website', { origin: ALLOWED, 'access-control-request-method': 'POST' }],
  ['preflight, other origin', 'OPTIONS', '/events/website', { origin: 'https://other.test', 'access-control-request-method': 'POST' }],
  ['OPTIONS elsewhere', 'OPTIONS', '/healthz', {}],
  ['page view, listed origin', 'POST', '/events/website', { ...text, origin: ALLOWED, 'user-agent': BROWSER_UA }, pageview],
  ['page view, other origin', 'POST', '/events/website', { ...text, origin: 'https://other.test', 'user-agent': BROWSER_UA }, pageview],
  ['pixel', 'GET', '/events/pixel.gif?p=/docs', { 'user-agent': BROWSER_UA }],
  ['tracker script', 'GET', '/script.js', {}],
  ['dashboard page', 'GET', '/dashboard', {}],
  ['dashboard data', 'GET', '/dashboard/data?range=7', {}],
  ['admin', 'GET', '/admin/events', {}],
  ['HEAD', 'HEAD', '/healthz', {}],
  ['no such route', 'GET', '/nope', {}],
];
const SHOWN_HEADERS = ['allow', 'access-control-allow-origin', 'vary', 'content-type', 'cache-control'];

function send(port, [, method, path, headers, body]) {
  return new Promise((resolve, reject) => {
    const all = { 'user-agent': 'parity', ...headers };
    const chunked = all['transfer-encoding'] === 'chunked';
    if (body !== undefined && !chunked) all['content-length'] ??= String(Buffer.byteLength(body));
    const req = request({ host: '127.0.0.1', port, method, path, headers: all }, (res) => {
      let data = '';
      res.setEncoding('latin1');
      res.on('data', (chunk) => (data += chunk));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: data }));
    });
    req.on('error', reject);
    if (body && chunked) req.write(body.slice(0, 100));
    req.end(body && chunked ? body.slice(100) : body);
  });
}

async function answers(script) {
  const dir = mkdtempSync(join(tmpdir(), 'parity-'));
  const port = await freePort();
  const env = {
    PATH: process.env.PATH,
    PORT: String(port),
    HOST: '127.0.0.1',
    WAREHOUSE: 'duckdb',
    DUCKDB_PATH: join(dir, 'parity.duckdb'),
    ADMIN_TOKEN,
    CORS_ORIGINS: ALLOWED,
  };
  const child = spawn(process.execPath, ['-r', './bench/exit-with-parent.js', script], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  try {
    for (let tries = 0; ; tries++) {
      try {
        await send(port, ['', 'GET', '/healthz', {}]);
        break;
      } catch (error) {
        if (tries > 300 || child.exitCode !== null) throw new Error(`${script} did not start`, { cause: error });
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const results = [];
    for (const c of CASES) results.push(await send(port, c));
    // The counts once the last batch is written (FLUSH_INTERVAL_MS, 5 s by default).
    let health;
    for (let tries = 0; tries < 100; tries++) {
      health = JSON.parse((await send(port, ['', 'GET', '/healthz', { authorization: `Bearer ${ADMIN_TOKEN}` }])).body);
      if (Object.values(health.pending).every((n) => n === 0)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    return { results, counts: health.counts };
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve)));
    rmSync(dir, { recursive: true, force: true });
  }
}

const express = await answers('dist/main.js');
const fastify = await answers('bench/ours-fastify.js');
const shown = (r) =>
  [
    r.status,
    ...SHOWN_HEADERS.filter((h) => r.headers[h]).map((h) => `${h}: ${r.headers[h]}`),
    r.body.slice(0, 160).replace(/[^\x20-\x7e]/g, '.'),
  ]
    .filter(Boolean)
    .join(' | ');
let differing = 0;
CASES.forEach((c, i) => {
  const [a, b] = [shown(express.results[i]), shown(fastify.results[i])];
  if (a !== b) differing++;
  console.log(`${a === b ? '=' : '≠'} ${c[0]}: ${c[1]} ${c[2]}\n    express: ${a}${a === b ? '' : `\n    fastify: ${b}`}`);
});
for (const table of Object.keys(express.counts)) {
  const [a, b] = [JSON.stringify(express.counts[table]), JSON.stringify(fastify.counts[table])];
  console.log(`${a === b ? '=' : '≠'} /healthz counts, ${table}\n    express: ${a}${a === b ? '' : `\n    fastify: ${b}`}`);
}
console.log(`\n${differing} of ${CASES.length} answers differ`);
