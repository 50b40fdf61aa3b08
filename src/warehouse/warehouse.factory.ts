import { AppConfig } from '../config/app-config';
import { SqlCatalog } from './contracts';
import { WarehouseAdmin } from './warehouse-admin';
import { WarehouseReader } from './warehouse-reader';
import { WarehouseSink } from './warehouse-sink';

/** Every engine plays every role; the Storage Write API is a WarehouseSink only, paired with BigQuery's REST API for the rest. */
export type Warehouse = WarehouseSink & WarehouseAdmin & WarehouseReader;

/** Loads only the selected engine's module: each engine's client library is heavy. */
export async function createWarehouse(config: AppConfig, catalog: SqlCatalog): Promise<Warehouse> {
  switch (config.warehouse) {
    case 'duckdb': {
      const { DuckDbWarehouse } = await import('./duckdb/duckdb.warehouse');
      return new DuckDbWarehouse(config, catalog);
    }
    case 'bigquery': {
      const { BigQueryWarehouse } = await import('./bigquery/bigquery.warehouse');
      const rest = new BigQueryWarehouse(config, catalog);
      if (config.bigquery.writeMethod === 'dml') return rest;
      // BIGQUERY_WRITE_METHOD=storage-write: batches through the Storage Write API; setup and reads stay on REST.
      const { StorageWriteSink, withSink } = await import('./bigquery-storage/storage-write.sink');
      return withSink(rest, new StorageWriteSink(config, catalog));
    }
  }
}

/** Injection token for the process's one warehouse, loaded and opened on first use: `() => Promise<Warehouse>`. */
export const WAREHOUSE = Symbol('WAREHOUSE');
export type WarehouseLoader<W = Warehouse> = () => Promise<W>;

/**
 * One engine instance per process, shared by the roles (an embedded DuckDB file can be open
 * only once): loaded on first use, since client libraries are heavy (see BatchWriter.warmUp),
 * and opened once. A failed open is retried by the next caller, on the same instance.
 */
export function openOnce<W extends WarehouseSink>(load: () => Promise<W>): WarehouseLoader<W> {
  let instance: Promise<W> | undefined;
  let ready: Promise<W> | undefined;
  return () =>
    (ready ??= (async () => {
      instance ??= load().catch((error: unknown) => {
        instance = undefined;
        throw error;
      });
      const warehouse = await instance;
      await warehouse.open();
      return warehouse;
    })().catch((error: unknown) => {
      ready = undefined;
      throw error;
    }));
}
