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

/**
 * test/fake-bigquery's FakeBigQuery class. The fake is TypeScript: transpiled on the fly, as jest
 * would. Loading it also installs the loopback guard, and keeps the client off the metadata server.
 */
export function loadFakeBigQuery() {
  process.env.METADATA_SERVER_DETECTION = 'none';
  require('../test/fake-bigquery/loopback-guard.js');
  const ts = require('typescript');
  const dir = mkdtempSync(join(tmpdir(), 'bench-fake-bigquery-'));
  const source = readFileSync(new URL('../test/fake-bigquery/fake-bigquery.ts', import.meta.url), 'utf8');
  const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText;
  writeFileSync(join(dir, 'fake-bigquery.js'), js);
  try {
    return require(join(dir, 'fake-bigquery.js')).FakeBigQuery;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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
