// test/fake-bigquery in a process of its own, for npm run bench: its CPU time is then its own,
// not charged to the API under test. Started with an IPC channel by bench/bench.mjs: it answers
// { url } once listening, with the API's tables created through the real client (as
// warehouse:setup would), then 'stats' with what it stored.
import { createRequire } from 'node:module';
import { loadFakeBigQuery } from './support.mjs';

const require = createRequire(import.meta.url);
const FakeBigQuery = loadFakeBigQuery();

const { AppConfig } = require('../dist/config/app-config.js');
const { SqlCatalog, TABLE_NAMES } = require('../dist/warehouse/contracts/index.js');
const { createWarehouse } = require('../dist/warehouse/warehouse.factory.js');

const project = process.env.BIGQUERY_PROJECT;
const dataset = process.env.BIGQUERY_DATASET;
const fake = await new FakeBigQuery().start();
const setup = await createWarehouse(AppConfig.fromEnv({ ...process.env, BIGQUERY_API_ENDPOINT: fake.url }), SqlCatalog.load());
await setup.applySchema();
await setup.close();

process.on('message', (message) => {
  if (message !== 'stats') return;
  process.send({
    rows: Object.fromEntries(TABLE_NAMES.map((t) => [t, fake.rows(`${project}.${dataset}.${t}`).length])),
    counters: fake.counters,
  });
});
process.on('disconnect', () => void fake.stop().then(() => process.exit(0)));
process.send({ url: fake.url });
