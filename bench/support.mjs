// What the benchmark scripts share: a free loopback port, and the test suite's fake BigQuery.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(import.meta.url);

export const freePort = () =>
  new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

/** A self-contained TypeScript module of test/ (no imports of its own), transpiled on the fly as jest would, and loaded. */
export function loadTestModule(path) {
  const ts = require('typescript');
  const dir = mkdtempSync(join(tmpdir(), 'bench-module-'));
  const source = readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');
  const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText;
  writeFileSync(join(dir, 'module.js'), js);
  try {
    return require(join(dir, 'module.js'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** app.yaml's node flags (the heap sized for F1): ours runs with them, as App Engine runs it. */
export const productionNodeFlags = () =>
  loadTestModule('test/support/entrypoint.ts').entrypointNodeFlags(readFileSync(new URL('../app.yaml', import.meta.url), 'utf8'));

/** The bodies the real clients send, as the tests hold them (test/support/payloads.ts). */
export const loadPayloads = () => loadTestModule('test/support/payloads.ts');

/**
 * test/fake-bigquery's FakeBigQuery class. Loading it also installs the loopback guard, and keeps
 * the client off the metadata server.
 */
export function loadFakeBigQuery() {
  process.env.METADATA_SERVER_DETECTION = 'none';
  require('../test/fake-bigquery/loopback-guard.js');
  return loadTestModule('test/fake-bigquery/fake-bigquery.ts').FakeBigQuery;
}

/**
 * A fake BigQuery on 127.0.0.1 with sql/'s tables and views (applied through the built app's
 * client, as warehouse:setup would), and the environment that points the API at it.
 */
export async function startFakeBigQuery() {
  const FakeBigQuery = loadFakeBigQuery();
  const { AppConfig } = require('../dist/config/app-config.js');
  const { SqlCatalog } = require('../dist/warehouse/contracts/index.js');
  const { createWarehouse } = require('../dist/warehouse/warehouse.factory.js');
  const fake = await new FakeBigQuery().start();
  const env = {
    WAREHOUSE: 'bigquery',
    BIGQUERY_API_ENDPOINT: fake.url,
    BIGQUERY_PROJECT: 'bench-project',
    BIGQUERY_DATASET: 'analytics',
    BIGQUERY_ACCESS_TOKEN: 'bench-token',
    METADATA_SERVER_DETECTION: 'none',
  };
  const setup = await createWarehouse(AppConfig.fromEnv(env), SqlCatalog.load());
  await setup.applySchema();
  await setup.close();
  return { fake, env, tableRef: (table) => `bench-project.analytics.${table}` };
}
