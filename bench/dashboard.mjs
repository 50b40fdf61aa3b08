// One dashboard load (GET /dashboard/data: every query of sql/dashboard, and the totals over the
// previous period) on the embedded DuckDB warehouse holding a million rows in each table, spread
// over 90 days. Usage: npm run bench:dashboard [-- rows]   (builds first; loopback only)
import { DuckDBInstance } from '@duckdb/node-api';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const { AppConfig } = require('../dist/config/app-config.js');
const { SqlCatalog } = require('../dist/warehouse/contracts/index.js');
const { DuckDbWarehouse } = require('../dist/warehouse/duckdb/duckdb.warehouse.js');

const rows = Number(process.argv[2] ?? 1_000_000);
const LAST_DAY = '2024-05-02';
const ROUNDS = 10;
const dir = mkdtempSync(join(tmpdir(), 'bench-dashboard-'));
const path = join(dir, 'analytics.duckdb');

// Schema and views exactly as the API applies them, then rows generated inside DuckDB.
const schema = new DuckDbWarehouse(AppConfig.fromEnv({ DUCKDB_PATH: path }), SqlCatalog.load());
await schema.applySchema();
await schema.close();
const instance = await DuckDBInstance.create(path);
const db = await instance.connect();
await db.run("SET schema = 'analytics'");
const spread = `TIMESTAMP '${LAST_DAY} 23:59:59' - to_microseconds(CAST(i * (90 * 86400000000 / ${rows}) AS BIGINT))`;
let started = Date.now();
await db.run(`
  INSERT INTO telemetry
  SELECT
    '00000000-0000-4000-8000-' || lpad(CAST(i % 40000 AS VARCHAR), 12, '0'),
    ${spread} - INTERVAL 1 HOUR,
    ${spread} - INTERVAL 1 HOUR + to_seconds(i % 5400),
    i % 25 = 0,
    '2.' || CAST(i % 6 AS VARCHAR) || '.0',
    ['win32', 'darwin', 'linux'][1 + i % 3],
    ['US', 'DE', 'FR', 'BR', 'IN', NULL][1 + i % 6],
    i % 13,
    ['desktop', 'web', NULL][1 + i % 3],
    NULL, NULL,
    ${spread}
  FROM range(${rows}) t(i)`);
await db.run(`
  INSERT INTO website_events
  SELECT
    CASE WHEN i % 10 = 0 THEN 'event' ELSE 'pageview' END,
    CASE WHEN i % 10 = 0 THEN 'download' END,
    CASE WHEN i % 10 = 0 THEN ['win', 'mac', 'linux'][1 + i % 3] END,
    ${spread},
    '/page/' || CAST(i % 500 AS VARCHAR),
    '/page/' || CAST(i % 50 AS VARCHAR),
    ['direct', 'news.ycombinator.com/item', 'www.google.com/', 'github.com/org/repo'][1 + i % 4],
    ['US', 'DE', 'FR', NULL][1 + i % 4]
  FROM range(${rows}) t(i)`);
db.closeSync();
instance.closeSync();
console.log(`generated ${rows.toLocaleString('en-US')} rows per table in ${Date.now() - started} ms`);

const port = await new Promise((resolve) => {
  const server = createServer().listen(0, '127.0.0.1', () => {
    const { port } = server.address();
    server.close(() => resolve(port));
  });
});
const api = spawn(process.execPath, ['dist/main.js'], {
  env: { PATH: process.env.PATH, PORT: String(port), DUCKDB_PATH: path },
  stdio: ['ignore', 'ignore', 'inherit'],
});
const base = `http://127.0.0.1:${port}`;
try {
  for (let end = Date.now() + 30_000; ;) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) break;
    } catch {
      if (Date.now() > end) throw new Error('the API did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const load = async (query) => {
    const t0 = performance.now();
    const res = await fetch(`${base}/dashboard/data?${query}`);
    const body = await res.json();
    if (!res.ok) throw new Error(JSON.stringify(body));
    return { ms: performance.now() - t0, body };
  };
  const first = await load(`range=30&end=${LAST_DAY}`); // opens the file, warms DuckDB
  console.log(
    `first load (30 days, opens the warehouse): ${first.ms.toFixed(0)} ms; sessions ${first.body.results.app_totals[0].sessions}`,
  );
  for (const range of ['today', '30', '90']) {
    const times = [];
    // Each round ends on another day: another range, so nothing is served from a cache.
    for (let i = 0; i < ROUNDS; i++) {
      const end = new Date(Date.parse(`${LAST_DAY}T00:00:00Z`) - i * 86_400_000).toISOString().slice(0, 10);
      times.push((await load(`range=${range}&end=${end}`)).ms);
    }
    times.sort((a, b) => a - b);
    console.log(
      `range=${range.padEnd(5)} median ${times[ROUNDS >> 1].toFixed(0)} ms, max ${times[ROUNDS - 1].toFixed(0)} ms (${ROUNDS} loads)`,
    );
  }
} finally {
  api.kill('SIGTERM');
  await new Promise((r) => api.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
}
