import 'reflect-metadata';
import { configOrExit } from '../config/app-config';
import { SqlCatalog } from '../warehouse/contracts';
import { createWarehouse } from '../warehouse/warehouse.factory';
import { WarehouseAdmin } from '../warehouse/warehouse-admin';

/**
 * `npm run warehouse:setup`: creates what is missing in the selected warehouse (dataset, tables,
 * new nullable columns, views from sql/) and prints what it did. Safe to run on every deploy.
 */
async function main(): Promise<number> {
  const config = configOrExit(process.env);
  const warehouse: WarehouseAdmin = await createWarehouse(config, SqlCatalog.load());
  const where = config.warehouse === 'bigquery' ? `BigQuery dataset ${config.dataset}` : `DuckDB ${config.duckdbPath}`;
  try {
    const done = await warehouse.applySchema();
    for (const line of done) process.stdout.write(`${line}\n`);
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
