import { chmodSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppConfig, BIGQUERY_LOCATIONS, ConfigError } from './app-config';

/** The error fromEnv throws, as its lines. */
function problems(env: Record<string, string | undefined>, options?: { warehouse?: boolean }): string[] {
  try {
    AppConfig.fromEnv(env, options);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe((error as ConfigError).lines.join('\n'));
    return [...(error as ConfigError).lines];
  }
  return [];
}

const tempDir = () => mkdtempSync(join(tmpdir(), 'config-'));
/** BigQuery mode with a project and a token: what is left to check is the variable under test. */
const bigQuery = { WAREHOUSE: 'bigquery', BIGQUERY_PROJECT: 'my-app-123', BIGQUERY_ACCESS_TOKEN: 'token' };

describe('AppConfig.fromEnv', () => {
  it('has working defaults for a fresh clone', () => {
    const config = AppConfig.fromEnv({});
    expect(config).toMatchObject({
      port: 3000,
      warehouse: 'duckdb',
      duckdbPath: 'data/analytics.duckdb',
      dataset: 'analytics',
      corsOrigins: [],
      batchSize: 2000,
      flushIntervalMs: 5000,
      production: false,
    });
    expect(config.bigquery).toEqual({
      projectId: undefined,
      location: 'US',
      apiEndpoint: undefined,
      accessToken: undefined,
      writeMethod: 'dml',
      storageEndpoint: undefined,
    });
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
    [
      { WAREHOUSE: 'bigquery', BIGQUERY_ACCESS_TOKEN: 't' },
      /^Invalid configuration: BIGQUERY_PROJECT is not set: WAREHOUSE=bigquery needs/,
    ],
    [{ MAX_BUFFERED_EVENTS: '5000000' }, /^Invalid configuration: MAX_BUFFERED_EVENTS="5000000": must not be greater than 1000000$/],
    [{ RETRY_BASE_DELAY_MS: '3600000' }, /^Invalid configuration: RETRY_BASE_DELAY_MS="3600000": must not be greater than 60000$/],
    [{ SHUTDOWN_FLUSH_TIMEOUT_MS: '-1' }, /^Invalid configuration: SHUTDOWN_FLUSH_TIMEOUT_MS="-1": must not be less than 0$/],
    [{ WAREHOUSE_TIMEOUT_MS: '50' }, /^Invalid configuration: WAREHOUSE_TIMEOUT_MS="50": must not be less than 100$/],
    [{ HOST: 'localhost:3000' }, /^Invalid configuration: HOST="localhost:3000": must be an IP address/],
    [{ BIGQUERY_LOCATION: 'europe' }, /^Invalid configuration: BIGQUERY_LOCATION="europe": must be a BigQuery location, e.g. US, EU/],
    [{ BIGQUERY_LOCATION: 'us-central' }, /^Invalid configuration: BIGQUERY_LOCATION="us-central": must be a BigQuery location/],
    [
      { CORS_ORIGINS: 'example.com' },
      /^Invalid configuration: CORS_ORIGINS="example.com": "example.com" not an origin: each must be scheme/,
    ],
    [
      { CORS_ORIGINS: 'https://example.com/' },
      /^Invalid configuration: CORS_ORIGINS="https:\/\/example.com\/": "https:\/\/example.com\/" not an origin/,
    ],
    [{ CORS_ORIGINS: 'https://a.example,https://b.example/app' }, /: "https:\/\/b.example\/app" not an origin/],
    [{ CORS_ORIGINS: 'https://Example.com' }, /: "https:\/\/Example.com" not an origin/],
    [{ CORS_ORIGINS: 'ftp://example.com' }, /: "ftp:\/\/example.com" not an origin/],
    [
      { METADATA_SERVER_DETECTION: 'maybe' },
      /^Invalid configuration: METADATA_SERVER_DETECTION="maybe": must be one of the following values/,
    ],
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
    expect(
      AppConfig.fromEnv({ WAREHOUSE: 'bigquery', GOOGLE_CLOUD_PROJECT: 'my-app-123', BIGQUERY_ACCESS_TOKEN: 't' }).bigquery.projectId,
    ).toBe('my-app-123');
    const credentials = join(mkdtempSync(join(tmpdir(), 'config-')), 'sa.json');
    writeFileSync(credentials, JSON.stringify({ type: 'service_account', project_id: 'from-file-1' }));
    expect(AppConfig.fromEnv({ WAREHOUSE: 'bigquery', GOOGLE_APPLICATION_CREDENTIALS: credentials }).bigquery.projectId).toBe(
      'from-file-1',
    );
    expect(AppConfig.fromEnv({ ...bigQuery, BIGQUERY_PROJECT: 'explicit-1', GOOGLE_CLOUD_PROJECT: 'other-1' }).bigquery.projectId).toBe(
      'explicit-1',
    );
  });

  it('reports every bad variable at once, one line each, in a stable order', () => {
    const lines = problems({ PORT: '0', CORS_ORIGINS: 'example.com', BIGQUERY_LOCATION: 'mars', DUCKDB_PATH: '/proc/x/y.duckdb' });
    expect(lines).toHaveLength(4);
    expect(lines.map((l) => l.split('=')[0])).toEqual([
      'Invalid configuration: PORT',
      'Invalid configuration: CORS_ORIGINS',
      'Invalid configuration: BIGQUERY_LOCATION',
      'Invalid configuration: DUCKDB_PATH',
    ]);
    for (const line of lines) expect(line).not.toContain('\n');
  });

  it('accepts origins as browsers send them, and *', () => {
    const config = AppConfig.fromEnv({ CORS_ORIGINS: 'https://example.com, http://localhost:8080,https://www.example.com' });
    expect(config.corsOrigins).toEqual(['https://example.com', 'http://localhost:8080', 'https://www.example.com']);
    expect(config.allowsAnyWebsiteOrigin).toBe(false);
    expect(AppConfig.fromEnv({ CORS_ORIGINS: '*' }).allowsAnyWebsiteOrigin).toBe(true);
  });

  it('allows website writes from the listed origins only, and from any with *', () => {
    const config = AppConfig.fromEnv({ CORS_ORIGINS: 'https://example.com' });
    expect(config.allowsWebsiteOrigin('https://example.com')).toBe(true);
    for (const other of ['https://evil.example', 'http://example.com', 'https://example.com:8443', 'null', '']) {
      expect(config.allowsWebsiteOrigin(other)).toBe(false);
    }
    expect(AppConfig.fromEnv({}).allowsWebsiteOrigin('https://example.com')).toBe(false);
    expect(AppConfig.fromEnv({ CORS_ORIGINS: '*' }).allowsWebsiteOrigin('null')).toBe(true);
  });

  it('has a generous rate limit by default, and validates its variables', () => {
    expect(AppConfig.fromEnv({}).rateLimit).toEqual({ requests: 1200, windowMs: 60_000 });
    expect(AppConfig.fromEnv({ RATE_LIMIT_REQUESTS: '50', RATE_LIMIT_WINDOW_MS: '10000' }).rateLimit).toEqual({
      requests: 50,
      windowMs: 10_000,
    });
    expect(problems({ RATE_LIMIT_REQUESTS: '0', RATE_LIMIT_WINDOW_MS: '500' })).toEqual([
      'Invalid configuration: RATE_LIMIT_REQUESTS="0": must not be less than 1',
      'Invalid configuration: RATE_LIMIT_WINDOW_MS="500": must not be less than 1000',
    ]);
  });

  it('knows the BigQuery locations, in either case as BigQuery does', () => {
    for (const location of ['US', 'eu', 'europe-west1', 'asia-northeast1', 'me-central2', 'africa-south1']) {
      expect(AppConfig.fromEnv({ BIGQUERY_LOCATION: location }).bigquery.location).toBe(location);
    }
    expect(BIGQUERY_LOCATIONS.length).toBeGreaterThan(40);
  });

  it('listens on 127.0.0.1 locally, on every interface in production, and where HOST says', () => {
    expect(AppConfig.fromEnv({}).host).toBe('127.0.0.1');
    expect(AppConfig.fromEnv({ NODE_ENV: 'production' }).host).toBeUndefined();
    expect(AppConfig.fromEnv({ NODE_ENV: 'production', HOST: '127.0.0.1' }).host).toBe('127.0.0.1');
    expect(AppConfig.fromEnv({ HOST: '::' }).host).toBe('::');
  });

  describe('DUCKDB_PATH', () => {
    it('must be creatable: /proc (where a recursive mkdir never returns, even for root) is refused', () => {
      expect(problems({ DUCKDB_PATH: '/proc/x/y.duckdb' })).toEqual([
        'Invalid configuration: DUCKDB_PATH="/proc/x/y.duckdb": cannot be created: /proc is not writable',
      ]);
    });

    it('must be under a directory, not a file', () => {
      expect(problems({ DUCKDB_PATH: '/dev/null/nope/analytics.duckdb' })).toEqual([
        'Invalid configuration: DUCKDB_PATH="/dev/null/nope/analytics.duckdb": cannot be created: /dev/null is not a directory',
      ]);
    });

    it('must not be a directory', () => {
      const dir = tempDir();
      expect(problems({ DUCKDB_PATH: dir })).toEqual([`Invalid configuration: DUCKDB_PATH=${JSON.stringify(dir)}: is not a file`]);
    });

    it('accepts a new file in directories still to be created, and leaves nothing behind', () => {
      const dir = tempDir();
      expect(AppConfig.fromEnv({ DUCKDB_PATH: join(dir, 'a', 'b', 'analytics.duckdb') }).duckdbPath).toBe(
        join(dir, 'a', 'b', 'analytics.duckdb'),
      );
      expect(readdirSync(dir)).toEqual([]);
    });

    it('accepts an existing file and :memory:', () => {
      const file = join(tempDir(), 'analytics.duckdb');
      writeFileSync(file, '');
      expect(AppConfig.fromEnv({ DUCKDB_PATH: file }).duckdbPath).toBe(file);
      expect(AppConfig.fromEnv({ DUCKDB_PATH: ':memory:' }).duckdbPath).toBe(':memory:');
    });

    it('is not checked when the warehouse is BigQuery (App Engine has no writable data/)', () => {
      expect(problems({ ...bigQuery, DUCKDB_PATH: '/proc/x/y.duckdb' })).toEqual([]);
    });

    it('is refused in a read-only directory', () => {
      if (process.getuid?.() === 0) return; // root writes anywhere permissions apply; /proc above covers root
      const dir = tempDir();
      mkdirSync(join(dir, 'ro'));
      chmodSync(join(dir, 'ro'), 0o500);
      expect(problems({ DUCKDB_PATH: join(dir, 'ro', 'analytics.duckdb') })).toEqual([
        `Invalid configuration: DUCKDB_PATH=${JSON.stringify(join(dir, 'ro', 'analytics.duckdb'))}: cannot be created: ${join(dir, 'ro')} is not writable`,
      ]);
    });
  });

  describe('BigQuery credentials, found without the network', () => {
    const noCredentials = { WAREHOUSE: 'bigquery', BIGQUERY_PROJECT: 'my-app-123', METADATA_SERVER_DETECTION: 'none' };

    it('says in one line what is missing', () => {
      expect(problems({ ...noCredentials, HOME: tempDir() })).toEqual([
        expect.stringMatching(
          /^Invalid configuration: no Google credentials for WAREHOUSE=bigquery: set BIGQUERY_ACCESS_TOKEN, or GOOGLE_APPLICATION_CREDENTIALS to a key file, or run `gcloud auth application-default login` \(.*\/\.config\/gcloud\/application_default_credentials\.json\), or run on Google Cloud$/,
        ),
      ]);
    });

    it('accepts an access token', () => {
      expect(problems({ ...noCredentials, BIGQUERY_ACCESS_TOKEN: 'ya29.token' })).toEqual([]);
    });

    it('accepts a readable GOOGLE_APPLICATION_CREDENTIALS file, and names an unreadable one', () => {
      const file = join(tempDir(), 'sa.json');
      writeFileSync(file, '{}');
      expect(problems({ ...noCredentials, GOOGLE_APPLICATION_CREDENTIALS: file })).toEqual([]);
      expect(problems({ ...noCredentials, GOOGLE_APPLICATION_CREDENTIALS: '/nowhere/sa.json' })).toEqual([
        'Invalid configuration: GOOGLE_APPLICATION_CREDENTIALS="/nowhere/sa.json": cannot read this credentials file',
      ]);
    });

    it("accepts gcloud's Application Default Credentials file, under HOME or CLOUDSDK_CONFIG", () => {
      const home = tempDir();
      mkdirSync(join(home, '.config', 'gcloud'), { recursive: true });
      writeFileSync(join(home, '.config', 'gcloud', 'application_default_credentials.json'), '{}');
      expect(problems({ ...noCredentials, HOME: home })).toEqual([]);
      expect(problems({ ...noCredentials, CLOUDSDK_CONFIG: join(home, '.config', 'gcloud') })).toEqual([]);
      expect(problems({ ...noCredentials, CLOUDSDK_CONFIG: home, HOME: home })).toHaveLength(1);
    });

    it('accepts running on Google Cloud, where the metadata server has them', () => {
      const onGoogleCloud: Record<string, string>[] = [
        { GAE_ENV: 'standard' },
        { K_SERVICE: 'api' },
        { METADATA_SERVER_DETECTION: 'assume-present' },
      ];
      for (const env of onGoogleCloud) {
        expect(problems({ ...noCredentials, ...env })).toEqual([]);
      }
    });

    it('are not asked for by tools that do not open the warehouse', () => {
      expect(problems(noCredentials, { warehouse: false })).toEqual([]);
    });
  });
});
