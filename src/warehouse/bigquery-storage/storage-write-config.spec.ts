import { AppConfig } from '../../config/app-config';
import { clientOptions } from './storage-write.sink';

const bigquery = { WAREHOUSE: 'bigquery', BIGQUERY_PROJECT: 'test-project', BIGQUERY_ACCESS_TOKEN: 't', METADATA_SERVER_DETECTION: 'none' };

describe('BIGQUERY_WRITE_METHOD and BIGQUERY_STORAGE_ENDPOINT', () => {
  it("default to DML and Google's endpoint", () => {
    expect(AppConfig.fromEnv(bigquery).bigquery).toMatchObject({ writeMethod: 'dml', storageEndpoint: undefined });
  });

  it.each([
    [
      { BIGQUERY_WRITE_METHOD: 'streaming' },
      'Invalid configuration: BIGQUERY_WRITE_METHOD="streaming": must be one of the following values: dml, storage-write',
    ],
    [
      { BIGQUERY_STORAGE_ENDPOINT: 'http://127.0.0.1:9060' },
      'Invalid configuration: BIGQUERY_STORAGE_ENDPOINT="http://127.0.0.1:9060": must be host:port, e.g. 127.0.0.1:9060',
    ],
    [
      { BIGQUERY_STORAGE_ENDPOINT: '127.0.0.1' },
      'Invalid configuration: BIGQUERY_STORAGE_ENDPOINT="127.0.0.1": must be host:port, e.g. 127.0.0.1:9060',
    ],
  ])('refuse %p with one line', (env, line) => {
    expect(() => AppConfig.fromEnv({ ...bigquery, ...env })).toThrow(line);
  });

  it('reach a loopback endpoint in plaintext: host and port apart, insecure credentials, explicit universe domain', () => {
    const config = AppConfig.fromEnv({ ...bigquery, BIGQUERY_WRITE_METHOD: 'storage-write', BIGQUERY_STORAGE_ENDPOINT: '127.0.0.1:9060' });
    const options = clientOptions(config);
    expect(options).toMatchObject({ servicePath: '127.0.0.1', port: 9060, universeDomain: 'googleapis.com' });
    expect(options.sslCreds?._isSecure()).toBe(false);
    expect(options.authClient).toBeUndefined();
  });

  it('reach any other endpoint over TLS with the configured credentials', () => {
    const config = AppConfig.fromEnv({
      ...bigquery,
      BIGQUERY_WRITE_METHOD: 'storage-write',
      BIGQUERY_STORAGE_ENDPOINT: 'bigquerystorage.example.com:443',
    });
    const options = clientOptions(config);
    expect(options).toMatchObject({ servicePath: 'bigquerystorage.example.com', port: 443, projectId: 'test-project' });
    expect(options.sslCreds).toBeUndefined();
    expect(options.authClient).toBeDefined();
  });
});
