// Events/s and bytes sent per event for BigQuery's two write methods, through the real client
// libraries against the local fakes (DML jobs over REST; Storage Write API appends over gRPC).
// Usage: npm run bench:write-methods [-- events]   (loopback only; compiles src/ and the fakes first)
// The fakes answer at once: this measures the client side (encoding, requests, bytes), not BigQuery.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import { join } from 'node:path';

process.env.METADATA_SERVER_DETECTION = 'none';
const ROOT = join(import.meta.dirname, '..');
const OUT = join(ROOT, 'node_modules/.cache/bench-write-methods');
const total = Number(process.argv[2] ?? 20_000);
const BATCH = 500; // one batch is one INSERT job, or one append (BATCH_SIZE's default when this was recorded; now 2000)

rmSync(OUT, { recursive: true, force: true });
execFileSync(
  process.execPath,
  [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json', '--outDir', OUT, '--incremental', 'false', '--sourceMap', 'false'],
  {
    cwd: ROOT,
    stdio: 'inherit',
  },
);
mkdirSync(OUT, { recursive: true });
symlinkSync(join(ROOT, 'sql'), join(OUT, 'sql')); // SqlCatalog reads <build>/sql, as dist/ does

// Bytes the clients write to their sockets (HTTP/1.1 to the REST fake, HTTP/2 to the gRPC fake).
const clientSockets = new Set();
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  clientSockets.add(this);
  return connect.apply(this, args);
};
const bytesSent = () => [...clientSockets].reduce((sum, s) => sum + s.bytesWritten, 0);

const require = createRequire(import.meta.url);
const { AppConfig } = require(join(OUT, 'src/config/app-config.js'));
const { SqlCatalog, websiteEvents } = require(join(OUT, 'src/warehouse/contracts/index.js'));
const { createWarehouse } = require(join(OUT, 'src/warehouse/warehouse.factory.js'));
const { FakeBigQuery } = require(join(OUT, 'test/fake-bigquery/fake-bigquery.js'));
const { bigQueryEnv } = require(join(OUT, 'test/fake-bigquery/env.js'));
const { FakeBigQueryStorage } = require(join(OUT, 'test/fake-bigquery-storage/fake-bigquery-storage.js'));
const { storageWriteEnv } = require(join(OUT, 'test/fake-bigquery-storage/env.js'));

const catalog = SqlCatalog.load();
const table = catalog.table('website_events');
const event = (i) =>
  websiteEvents.toRow(
    { type: 'pageview', path: `/docs/getting-started/${i}`, entryPage: '/', referrer: 'https://news.ycombinator.com/item?id=1' },
    { receivedAt: new Date(), country: 'de', userAgent: 'bench' },
  );

async function run(method) {
  const rest = await new FakeBigQuery().start();
  const storage = await new FakeBigQueryStorage(rest).start();
  const env = method === 'dml' ? bigQueryEnv(rest) : storageWriteEnv(rest, storage);
  const setup = await createWarehouse(AppConfig.fromEnv(bigQueryEnv(rest)), catalog);
  await setup.applySchema();
  await setup.close();
  const warehouse = await createWarehouse(AppConfig.fromEnv(env), catalog);
  await warehouse.open();
  await warehouse.write(table, [event(-1)], 'warm-up'); // connections, stream creation
  const rows = Array.from({ length: total }, (_, i) => event(i));
  const bytesBefore = bytesSent();
  const start = process.hrtime.bigint();
  // The DML fake enforces BigQuery's 25 INSERTs per 10 s per table: its clock moves one window per
  // batch, so that this measures the client and the wire; the limit itself is in the README.
  let clock = Date.now();
  rest.now = () => clock;
  for (let i = 0; i < total; i += BATCH) {
    clock += 10_000;
    await warehouse.write(table, rows.slice(i, i + BATCH), `bench-${i}`);
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const bytes = bytesSent() - bytesBefore;
  const stored = rest.rows(`test-project.analytics.website_events`).length - 1;
  await warehouse.close();
  await storage.stop();
  await rest.stop();
  if (stored !== total) throw new Error(`${method}: ${stored} of ${total} events stored`);
  return { method, events: total, batches: Math.ceil(total / BATCH), seconds, perSecond: total / seconds, bytesPerEvent: bytes / total };
}

const results = [];
for (const method of ['dml', 'storage-write']) results.push(await run(method));
console.log(`${total} website events in batches of ${BATCH}, one batch in flight (as BatchWriter writes a table), fakes on 127.0.0.1`);
console.log('| method          | events/s | bytes sent per event |');
console.log('| --------------- | -------: | -------------------: |');
for (const r of results) {
  console.log(
    `| ${r.method.padEnd(15)} | ${Math.round(r.perSecond).toLocaleString('en-US').padStart(8)} | ${r.bytesPerEvent.toFixed(0).padStart(20)} |`,
  );
}
process.exit(0);
