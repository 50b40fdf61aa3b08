import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { BatchWriter } from './batch-writer.service';
import { SqlCatalog } from './sql-catalog';
import { Warehouse, WAREHOUSE_LOADER, WarehouseLoader } from './warehouse.port';

/** Loads only the selected adapter's module: each engine's client library is heavy. */
export async function createWarehouse(config: AppConfig, catalog: SqlCatalog): Promise<Warehouse> {
  switch (config.warehouse) {
    case 'duckdb': {
      const { DuckDbWarehouse } = await import('./duckdb/duckdb.warehouse');
      return new DuckDbWarehouse(config, catalog);
    }
    case 'bigquery': {
      const { BigQueryWarehouse } = await import('./bigquery/bigquery.warehouse');
      return new BigQueryWarehouse(config, catalog);
    }
  }
}

@Module({
  providers: [
    { provide: SqlCatalog, useFactory: () => SqlCatalog.load() },
    {
      provide: WAREHOUSE_LOADER,
      useFactory:
        (config: AppConfig, catalog: SqlCatalog): WarehouseLoader =>
        () =>
          createWarehouse(config, catalog),
      inject: [AppConfig, SqlCatalog],
    },
    BatchWriter,
  ],
  exports: [BatchWriter],
})
export class WarehouseModule {}
