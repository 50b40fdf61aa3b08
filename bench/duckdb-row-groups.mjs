// What DuckDB's vacuum policy leaves in the file: RESTARTS runs of the API's DuckDbWarehouse
// (open, one batch of ROWS telemetry rows, close: each close checkpoints), under three policies:
// DuckDB's default (vacuum on), never vacuum, and the API's (off while it serves, on for the
// checkpoint that closing runs). Prints row groups, file size and a query's median time.
// Usage: npm run bench:row-groups [-- restarts (365) rows (5000)]   (builds first; local files only)
import { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPayloads } from './support.mjs';

const require = createRequire(import.meta.url);
const { AppConfig } = require('../dist/config/app-config.js');
const { SqlCatalog, telemetry } = require('../dist/warehouse/contracts/index.js');
const { DuckDbWarehouse } = require('../dist/warehouse/duckdb/duckdb.warehouse.js');

const restarts = Number(process.argv[2] ?? 365);
const perRun = Number(process.argv[3] ?? 5000);
const { appBeacon } = loadPayloads();
const catalog = SqlCatalog.load();
const table = catalog.table('telemetry');
const dir = mkdtempSync(join(tmpdir(), 'bench-row-groups-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

// The other two policies are the API's code with one DuckDB setting changed under it.
const create = DuckDBInstance.create.bind(DuckDBInstance);
const run = DuckDBConnection.prototype.run;
const POLICIES = {
  "DuckDB's default (vacuum on)": { create: (path, options) => create(path, { ...options, max_vacuum_tasks: '100' }) },
  'never vacuum': { skipReset: true },
  "the API's (off while serving, on at close)": {},
};

const QUERY = 'SELECT version, os, COUNT(*) AS n, COUNT(DISTINCT installationId) AS users FROM `{{dataset}}.telemetry` GROUP BY ALL';

const results = [];
for (const [name, policy] of Object.entries(POLICIES)) {
  DuckDBInstance.create = policy.create ?? create;
  DuckDBConnection.prototype.run = policy.skipReset
    ? function (sql, ...rest) {
        return sql === 'RESET max_vacuum_tasks' ? Promise.resolve() : run.call(this, sql, ...rest);
      }
    : run;
  const path = join(dir, `${results.length}.duckdb`);
  const config = AppConfig.fromEnv({ DUCKDB_PATH: path });
  let n = 0;
  for (let r = 0; r < restarts; r++) {
    const warehouse = new DuckDbWarehouse(config, catalog);
    await warehouse.open();
    const rows = Array.from({ length: perRun }, () => {
      n++;
      return telemetry.toRow(
        {
          ...appBeacon, // the desktop app's own beacon, varied where a dashboard groups or counts
          installationId: `00000000-0000-4000-8000-${String(n % 40_000).padStart(12, '0')}`,
          firstSession: n % 25 === 0,
          version: `2.${n % 6}.0`,
          os: ['win32', 'darwin', 'linux'][n % 3],
          environmentsCount: n % 7,
        },
        { receivedAt: new Date(Date.UTC(2024, 4, 1) + n * 1000) },
      );
    });
    await warehouse.write(table, rows);
    await warehouse.close();
  }
  const warehouse = new DuckDbWarehouse(config, catalog);
  await warehouse.open();
  const [{ groups }] = await warehouse.read("SELECT COUNT(DISTINCT row_group_id) AS groups FROM pragma_storage_info('telemetry')");
  const times = [];
  for (let i = 0; i < 11; i++) {
    const started = process.hrtime.bigint();
    await warehouse.read(QUERY);
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  await warehouse.close();
  times.sort((a, b) => a - b);
  results.push([name, groups, (statSync(path).size / 1e6).toFixed(1), times[5].toFixed(1)]);
}
DuckDBInstance.create = create;
DuckDBConnection.prototype.run = run;

console.log(
  `${restarts} runs of the API on one DuckDB file, ${perRun.toLocaleString('en-US')} telemetry rows each (${(restarts * perRun).toLocaleString('en-US')} in all)`,
);
console.log('| vacuum policy | row groups | file | query (median of 11) |');
console.log('| --- | ---: | ---: | ---: |');
for (const [name, groups, mb, ms] of results) console.log(`| ${name} | ${groups} | ${mb} MB | ${ms} ms |`);
