import 'reflect-metadata';
import { configOrExit } from '../config/app-config';
import { SqlCatalog } from '../warehouse/contracts';
import { createWarehouse } from '../warehouse/warehouse.factory';
import { WarehouseAdmin } from '../warehouse/warehouse-admin';
import { parseCliArgs } from './args';

const USAGE = 'Usage: npm run warehouse:setup   (takes no flags; configured by the environment, see the README)';

/**
 * `npm run warehouse:setup`: creates what is missing in the selected warehouse (dataset, tables,
 * new nullable columns, views from sql/) and prints what it did. Safe to run on every deploy.
 */
async function main(): Promise<number> {
  const args = parseCliArgs('warehouse:setup', USAGE, process.argv.slice(2), {});
  if ('exit' in args) {
    if (args.exit.stdout) process.stdout.write(args.exit.stdout);
    if (args.exit.stderr) process.stderr.write(args.exit.stderr);
    return args.exit.code;
  }
  const config = configOrExit(process.env);
  const warehouse: WarehouseAdmin = await createWarehouse(config, SqlCatalog.load());
  const where = config.warehouse === 'bigquery' ? `BigQuery dataset ${config.dataset}` : `DuckDB ${config.duckdbPath}`;
  try {
    const lines = await warehouse.applySchema();
    // Differences setup reports but does not change (with the statement that would) go to stderr.
    const done = lines.filter((line) => !line.startsWith('warning: '));
    for (const line of lines) (line.startsWith('warning: ') ? process.stderr : process.stdout).write(`${line}\n`);
    process.stdout.write(done.length === 0 ? `${where}: up to date, nothing changed\n` : `${where}: ${done.length} change(s) applied\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`warehouse:setup failed on ${where}: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  } finally {
    await warehouse.close();
  }
}

void main().then((code) => (process.exitCode = code));
