import { AppConfig } from '../../config/app-config';
import { Row, SqlCatalog, TableDef } from '../sql-catalog';
import { Warehouse } from '../warehouse.port';

/** Placeholder until the BigQuery adapter lands (issue 3): fails loudly rather than pretending. */
export class BigQueryWarehouse implements Warehouse {
  constructor(
    private readonly config: AppConfig,
    private readonly catalog: SqlCatalog,
  ) {}

  prepare(): Promise<void> {
    return Promise.reject(new Error('WAREHOUSE=bigquery is not implemented yet'));
  }

  insert(_table: TableDef, _rows: readonly Row[], _batchId: string): Promise<void> {
    return this.prepare();
  }

  applySchema(): Promise<string[]> {
    return Promise.reject(new Error('WAREHOUSE=bigquery is not implemented yet'));
  }

  query(_sql: string): Promise<Record<string, unknown>[]> {
    return this.prepare().then(() => []);
  }

  async close(): Promise<void> {}
}
