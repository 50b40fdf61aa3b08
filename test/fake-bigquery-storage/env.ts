import { FakeBigQuery } from '../fake-bigquery/fake-bigquery';
import { bigQueryEnv } from '../fake-bigquery/env';
import { FakeBigQueryStorage } from './fake-bigquery-storage';

/** bigQueryEnv, writing through the Storage Write API fake (tables, setup and reads stay on the REST fake). */
export function storageWriteEnv(
  fake: FakeBigQuery,
  storage: FakeBigQueryStorage,
  extra: Record<string, string> = {},
): Record<string, string> {
  return bigQueryEnv(fake, { BIGQUERY_WRITE_METHOD: 'storage-write', BIGQUERY_STORAGE_ENDPOINT: storage.endpoint, ...extra });
}
