import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FakeBigQuery } from './fake-bigquery/fake-bigquery';
import { bigQueryEnv, DATASET, PROJECT, tableRef } from './fake-bigquery/env';
import { queryDuckDb, tempDuckDbPath } from './support/app';
import { SqlCatalog } from '../src/warehouse/contracts';

const SCHEMA_TYPES: Record<string, string> = { INT64: 'INTEGER', FLOAT64: 'FLOAT', BOOL: 'BOOLEAN' };
/** A table's columns as sql/ declares them, as the tables API reports them. */
const fieldsOf = (table: 'telemetry' | 'website_events') =>
  SqlCatalog.load()
    .table(table)
    .columns.map((c) => ({
      name: c.name,
      type: SCHEMA_TYPES[c.type] ?? c.type,
      mode: c.nullable ? ('NULLABLE' as const) : ('REQUIRED' as const),
    }));

const run = promisify(execFile);
const ROOT = join(__dirname, '..');
const GUARD = join(__dirname, 'fake-bigquery/loopback-guard.js');
const VIEWS = readdirSync(join(ROOT, 'sql/views'))
  .filter((f) => f.endsWith('.sql'))
  .map((f) => f.replace(/\.sql$/, ''));

/** `npm run warehouse:setup` as the build runs it (dist/ is built by the jest global setup), loopback-guarded. */
async function setup(env: Record<string, string>, argv: string[] = []): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['-r', GUARD, 'dist/cli/warehouse-setup.js', ...argv], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, LOOPBACK_GUARD_REPORT: '1', ...env },
    });
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const e = error as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

describe('npm run warehouse:setup (e2e)', () => {
  describe('on BigQuery (the fake)', () => {
    let fake: FakeBigQuery;
    beforeAll(async () => {
      fake = await new FakeBigQuery().start();
    });
    afterAll(() => fake.stop());

    it('creates the dataset in its location, the tables, the views, and adds new nullable columns to an older table', async () => {
      // telemetry as an older sql/ made it: without auth and paid.
      fake.seedTable(
        tableRef('telemetry'),
        [
          { name: 'installationId', type: 'STRING', mode: 'REQUIRED' },
          { name: 'startTime', type: 'TIMESTAMP', mode: 'REQUIRED' },
          { name: 'endTime', type: 'TIMESTAMP', mode: 'REQUIRED' },
          { name: 'firstSession', type: 'BOOLEAN', mode: 'REQUIRED' },
          { name: 'version', type: 'STRING', mode: 'REQUIRED' },
          { name: 'os', type: 'STRING', mode: 'REQUIRED' },
          { name: 'country', type: 'STRING', mode: 'NULLABLE' },
          { name: 'environmentsCount', type: 'INTEGER', mode: 'REQUIRED' },
          { name: 'app', type: 'STRING', mode: 'NULLABLE' },
          { name: 'receivedAt', type: 'TIMESTAMP', mode: 'REQUIRED' },
        ],
        'EU',
        { timePartitioning: { type: 'DAY', field: 'receivedAt' }, clustering: { fields: ['version', 'os'] } },
      );
      const first = await setup(bigQueryEnv(fake, { BIGQUERY_LOCATION: 'EU' }));
      expect(first.stderr).toBe('');
      expect(first.code).toBe(0);
      const lines = first.stdout.trim().split('\n');
      expect(lines).toEqual([
        `added column ${PROJECT}.${DATASET}.telemetry.auth`,
        `added column ${PROJECT}.${DATASET}.telemetry.paid`,
        `created table ${PROJECT}.${DATASET}.website_events`,
        ...VIEWS.map((v) => `created view ${PROJECT}.${DATASET}.${v}`),
        `BigQuery dataset ${DATASET}: ${2 + 1 + VIEWS.length} change(s) applied`,
      ]);
      expect(fake.table(tableRef('telemetry'))!.fields.slice(-2)).toEqual([
        { name: 'auth', type: 'BOOLEAN', mode: 'NULLABLE' },
        { name: 'paid', type: 'BOOLEAN', mode: 'NULLABLE' },
      ]);
      expect(fake.table(tableRef('website_events'))!.fields.map((f) => `${f.name} ${f.type} ${f.mode}`)).toEqual([
        'type STRING REQUIRED',
        'eventName STRING NULLABLE',
        'eventCategory STRING NULLABLE',
        'date TIMESTAMP REQUIRED',
        'path STRING REQUIRED',
        'entryPage STRING REQUIRED',
        'referrer STRING REQUIRED',
        'country STRING NULLABLE',
      ]);
      for (const view of VIEWS) expect(fake.table(tableRef(view))?.type).toBe('VIEW');
    });

    it('creates a missing dataset in the configured location', async () => {
      const other = await new FakeBigQuery().start();
      try {
        const result = await setup(bigQueryEnv(other, { BIGQUERY_LOCATION: 'europe-west1' }));
        expect(result.code).toBe(0);
        expect(result.stdout.split('\n')[0]).toBe(`created dataset ${PROJECT}.${DATASET} in europe-west1`);
        expect(other.datasetLocation(`${PROJECT}.${DATASET}`)).toBe('europe-west1');
        expect(other.table(tableRef('telemetry'))?.type).toBe('TABLE');
      } finally {
        await other.stop();
      }
    });

    it('is a no-op the second time', async () => {
      const writesBefore = fake.requests.filter((r) => r.method !== 'GET').length;
      const second = await setup(bigQueryEnv(fake, { BIGQUERY_LOCATION: 'EU' }));
      expect(second).toEqual({ stdout: `BigQuery dataset ${DATASET}: up to date, nothing changed\n`, stderr: '', code: 0 });
      expect(fake.requests.filter((r) => r.method !== 'GET').length).toBe(writesBefore);
    });

    it('fails with one clear line against an existing dataset in another location, and creates nothing', async () => {
      const other = await new FakeBigQuery().start();
      try {
        other.seedTable(`${PROJECT}.${DATASET}.unrelated`, [{ name: 'a', type: 'STRING', mode: 'NULLABLE' }], 'EU');
        const result = await setup(bigQueryEnv(other, { BIGQUERY_LOCATION: 'US' }));
        expect(result.code).toBe(1);
        expect(result.stdout).toBe('');
        expect(result.stderr).toBe(
          `warehouse:setup failed on BigQuery dataset ${DATASET}: dataset ${PROJECT}.${DATASET} is in EU, not in BIGQUERY_LOCATION=US: ` +
            'set BIGQUERY_LOCATION=EU, or another BIGQUERY_DATASET (a dataset cannot move)\n',
        );
        expect(other.table(tableRef('telemetry'))).toBeUndefined();
      } finally {
        await other.stop();
      }
    });

    it('reports a table partitioned or clustered otherwise than sql/ says, with the statement that would fix it, and changes nothing', async () => {
      const other = await new FakeBigQuery().start();
      try {
        other.seedTable(tableRef('website_events'), fieldsOf('website_events'), 'US'); // neither partitioned nor clustered
        other.seedTable(tableRef('telemetry'), fieldsOf('telemetry'), 'US', {
          timePartitioning: { type: 'DAY', field: 'receivedAt' },
          clustering: { fields: ['os'] },
        });
        const result = await setup(bigQueryEnv(other));
        expect(result.code).toBe(0);
        const ref = (t: string) => `${PROJECT}.${DATASET}.${t}`;
        expect(result.stderr.trim().split('\n')).toEqual([
          `warning: ${ref('telemetry')} is clustered by os, sql/ says version, os; nothing changed. ` +
            `To fix it (new data only; a copy as above reclusters the old): bq update --clustering_fields=version,os ${PROJECT}:${DATASET}.telemetry`,
          `warning: ${ref('website_events')} is partitioned not at all, sql/ says by DATE(date); nothing changed. To fix it, copy it and swap the names: ` +
            `CREATE TABLE \`${ref('website_events')}_new\` PARTITION BY DATE(date) CLUSTER BY type, path AS SELECT * FROM \`${ref('website_events')}\`; ` +
            `ALTER TABLE \`${ref('website_events')}\` RENAME TO \`website_events_old\`; ALTER TABLE \`${ref('website_events')}_new\` RENAME TO \`website_events\``,
        ]);
        expect(other.table(tableRef('website_events'))).toMatchObject({ type: 'TABLE' });
        expect(other.table(tableRef('telemetry'))).toMatchObject({ clustering: { fields: ['os'] } });
        expect(result.stdout).not.toMatch(/telemetry|website_events\b(?!.*view)/);
      } finally {
        await other.stop();
      }
    });

    it('applies PARTITION_EXPIRATION_DAYS to both tables: in the DDL when it creates them, with ALTER TABLE when they exist', async () => {
      const other = await new FakeBigQuery().start();
      const days = (t: string) => Number(other.table(tableRef(t))!.timePartitioning?.expirationMs) / 86_400_000;
      try {
        const first = await setup(bigQueryEnv(other, { PARTITION_EXPIRATION_DAYS: '400' }));
        expect(first.code).toBe(0);
        expect(first.stdout).toContain(`created table ${PROJECT}.${DATASET}.telemetry (partitions kept 400 days)\n`);
        expect([days('telemetry'), days('website_events')]).toEqual([400, 400]);
        const second = await setup(bigQueryEnv(other, { PARTITION_EXPIRATION_DAYS: '30' }));
        expect(second.stdout.split('\n').slice(0, 2)).toEqual([
          `set partition expiration of ${PROJECT}.${DATASET}.telemetry to 30 days`,
          `set partition expiration of ${PROJECT}.${DATASET}.website_events to 30 days`,
        ]);
        expect([days('telemetry'), days('website_events')]).toEqual([30, 30]);
        const third = await setup(bigQueryEnv(other, { PARTITION_EXPIRATION_DAYS: '30' }));
        expect(third.stdout).toBe(`BigQuery dataset ${DATASET}: up to date, nothing changed\n`);
        // Off by default: without the variable, an expiration set earlier is left alone.
        const unset = await setup(bigQueryEnv(other));
        expect(unset.stdout).toBe(`BigQuery dataset ${DATASET}: up to date, nothing changed\n`);
        expect(days('telemetry')).toBe(30);
      } finally {
        await other.stop();
      }
    });

    it('stops with one line naming the variable on a bad configuration', async () => {
      const result = await setup(bigQueryEnv(fake, { BIGQUERY_DATASET: 'my-dataset' }));
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^Invalid configuration: BIGQUERY_DATASET="my-dataset": [^\n]+\n$/);
    });
  });

  describe('on DuckDB', () => {
    it('creates the tables and views, then is a no-op the second time', async () => {
      const path = tempDuckDbPath();
      const first = await setup({ WAREHOUSE: 'duckdb', DUCKDB_PATH: path });
      expect(first.code).toBe(0);
      expect(first.stdout).toContain('created table analytics.telemetry\n');
      expect(first.stdout).toContain('created table analytics.website_events\n');
      expect(first.stdout).toContain('created view analytics.app_sessions_daily\n');
      const second = await setup({ WAREHOUSE: 'duckdb', DUCKDB_PATH: path });
      expect(second.code).toBe(0);
      expect(second.stdout).toBe(`DuckDB ${path}: up to date, nothing changed\n`);
      const tables = await queryDuckDb(path, "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' ORDER BY 1");
      expect(tables.map((t) => t.table_name)).toEqual(['telemetry', 'website_events']);
    });
  });

  describe('its command line', () => {
    it('rejects an unknown flag with its usage, exit 2, before touching the warehouse', async () => {
      const path = tempDuckDbPath();
      const result = await setup({ WAREHOUSE: 'duckdb', DUCKDB_PATH: path }, ['--dry-run']);
      expect(result).toEqual({
        code: 2,
        stdout: '',
        stderr: expect.stringMatching(/^warehouse:setup: Unknown option '--dry-run'[^\n]*\nUsage: npm run warehouse:setup [^\n]*\n$/),
      });
      expect(existsSync(path)).toBe(false);
    });

    it('prints its usage for --help', async () => {
      const result = await setup({ WAREHOUSE: 'duckdb', DUCKDB_PATH: tempDuckDbPath() }, ['--help']);
      expect(result).toEqual({ code: 0, stdout: expect.stringMatching(/^Usage: npm run warehouse:setup /), stderr: '' });
    });

    it('reports every bad variable, one line each, exit 1', async () => {
      const result = await setup({ WAREHOUSE: 'duckdb', DUCKDB_PATH: '/proc/x/y.duckdb', BATCH_SIZE: 'lots' });
      expect(result.code).toBe(1);
      expect(result.stderr.split('\n')).toEqual([
        expect.stringMatching(/^Invalid configuration: BATCH_SIZE="lots": /),
        'Invalid configuration: DUCKDB_PATH="/proc/x/y.duckdb": cannot be created: /proc is not writable',
        '',
      ]);
    });
  });
});
