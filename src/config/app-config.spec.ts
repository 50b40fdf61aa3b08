import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppConfig, ConfigError } from './app-config';

describe('AppConfig.fromEnv', () => {
  it('has working defaults for a fresh clone', () => {
    const config = AppConfig.fromEnv({});
    expect(config).toMatchObject({
      port: 3000,
      warehouse: 'duckdb',
      duckdbPath: 'data/analytics.duckdb',
      dataset: 'analytics',
      corsOrigins: [],
      batchSize: 500,
      flushIntervalMs: 5000,
      production: false,
    });
    expect(config.bigquery).toEqual({ projectId: undefined, location: 'US', apiEndpoint: undefined, accessToken: undefined });
  });

  it('parses numbers, lists and the production flag', () => {
    const config = AppConfig.fromEnv({
      PORT: '8080',
      CORS_ORIGINS: 'https://a.example, https://b.example,',
      BATCH_SIZE: '100',
      NODE_ENV: 'production',
      DUCKDB_PATH: ':memory:',
    });
    expect(config).toMatchObject({ port: 8080, corsOrigins: ['https://a.example', 'https://b.example'], batchSize: 100, production: true });
  });

  it('treats an empty variable as unset', () => {
    expect(AppConfig.fromEnv({ PORT: '', WAREHOUSE: '' })).toMatchObject({ port: 3000, warehouse: 'duckdb' });
  });

  it.each([
    [{ PORT: 'eighty' }, /^Invalid configuration: PORT="eighty": .*integer/],
    [{ PORT: '70000' }, /^Invalid configuration: PORT="70000": must not be greater than 65535$/],
    [{ WAREHOUSE: 'postgres' }, /^Invalid configuration: WAREHOUSE="postgres": must be one of the following values: duckdb, bigquery$/],
    [{ BATCH_SIZE: '0' }, /^Invalid configuration: BATCH_SIZE="0": must not be less than 1$/],
    [{ FLUSH_INTERVAL_MS: '1.5' }, /^Invalid configuration: FLUSH_INTERVAL_MS="1.5": .*integer/],
    [{ BIGQUERY_DATASET: 'my-dataset' }, /^Invalid configuration: BIGQUERY_DATASET="my-dataset": must be letters, digits and underscores$/],
    [{ BIGQUERY_API_ENDPOINT: 'localhost:9050' }, /^Invalid configuration: BIGQUERY_API_ENDPOINT="localhost:9050": /],
    [{ WAREHOUSE: 'bigquery' }, /^Invalid configuration: BIGQUERY_PROJECT is not set: WAREHOUSE=bigquery needs a Google Cloud project id/],
  ])('%j fails with one line naming the variable', (env, message) => {
    let error: unknown;
    try {
      AppConfig.fromEnv(env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('\n');
  });

  it('finds the BigQuery project in GOOGLE_CLOUD_PROJECT or the credentials file, without the network', () => {
    expect(AppConfig.fromEnv({ WAREHOUSE: 'bigquery', GOOGLE_CLOUD_PROJECT: 'my-app-123' }).bigquery.projectId).toBe('my-app-123');
    const credentials = join(mkdtempSync(join(tmpdir(), 'config-')), 'sa.json');
    writeFileSync(credentials, JSON.stringify({ type: 'service_account', project_id: 'from-file-1' }));
    expect(AppConfig.fromEnv({ WAREHOUSE: 'bigquery', GOOGLE_APPLICATION_CREDENTIALS: credentials }).bigquery.projectId).toBe(
      'from-file-1',
    );
    expect(
      AppConfig.fromEnv({ WAREHOUSE: 'bigquery', BIGQUERY_PROJECT: 'explicit-1', GOOGLE_CLOUD_PROJECT: 'other-1' }).bigquery.projectId,
    ).toBe('explicit-1');
  });
});
