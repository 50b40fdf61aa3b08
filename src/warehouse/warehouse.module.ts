import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { BatchWriter, WRITER_STATUS } from './batch-writer.service';
import { SqlCatalog } from './contracts';
import { createWarehouse, openOnce, WAREHOUSE, WarehouseLoader } from './warehouse.factory';

@Module({
  providers: [
    // Loading the catalog checks every table contract against sql/tables: a mismatch stops the app.
    { provide: SqlCatalog, useFactory: () => SqlCatalog.load() },
    {
      provide: WAREHOUSE,
      useFactory: (config: AppConfig, catalog: SqlCatalog): WarehouseLoader => openOnce(() => createWarehouse(config, catalog)),
      inject: [AppConfig, SqlCatalog],
    },
    BatchWriter,
    { provide: WRITER_STATUS, useExisting: BatchWriter },
  ],
  exports: [BatchWriter, WRITER_STATUS, WAREHOUSE, SqlCatalog],
})
export class WarehouseModule {}
