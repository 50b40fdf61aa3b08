import { AppConfig } from '../../src/config/app-config';
import { SqlCatalog } from '../../src/warehouse/contracts';
import { createWarehouse } from '../../src/warehouse/warehouse.factory';
import { FakeBigQuery } from './fake-bigquery';

export const PROJECT = 'test-project';
export const DATASET = 'analytics';
export const ACCESS_TOKEN = 'fake-access-token';

/**
 * What a process needs to use the real client against the fake and nothing else: the endpoint,
 * a fixed access token (no credential discovery, no token refresh), and no metadata server probe.
 */
export function bigQueryEnv(fake: FakeBigQuery, extra: Record<string, string> = {}): Record<string, string> {
  return {
    WAREHOUSE: 'bigquery',
    BIGQUERY_API_ENDPOINT: fake.url,
    BIGQUERY_PROJECT: PROJECT,
    BIGQUERY_DATASET: DATASET,
    BIGQUERY_ACCESS_TOKEN: ACCESS_TOKEN,
    METADATA_SERVER_DETECTION: 'none',
    ...extra,
  };
}

export const tableRef = (table: string) => `${PROJECT}.${DATASET}.${table}`;

/** A fake BigQuery on 127.0.0.1 with sql/'s dataset, tables and views, as warehouse:setup leaves them. */
export async function freshFake(): Promise<FakeBigQuery> {
  const fake = await new FakeBigQuery().start();
  const warehouse = await createWarehouse(AppConfig.fromEnv(bigQueryEnv(fake)), SqlCatalog.load());
  await warehouse.applySchema();
  await warehouse.close();
  return fake;
}
