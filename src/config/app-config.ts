import 'reflect-metadata';
import { plainToInstance, Type } from 'class-transformer';
import { readFileSync } from 'node:fs';
import { IsIn, IsInt, IsOptional, IsString, IsUrl, Matches, Max, Min, validateSync } from 'class-validator';

export type WarehouseKind = 'duckdb' | 'bigquery';

/**
 * The environment as it is allowed to be. Each property is named after its
 * variable so that a validation error names the variable the user must fix.
 */
class Environment {
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(65535)
  PORT = 3000;

  @IsIn(['duckdb', 'bigquery'])
  WAREHOUSE: WarehouseKind = 'duckdb';

  @IsString()
  DUCKDB_PATH = 'data/analytics.duckdb';

  @IsOptional()
  @Matches(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, { message: 'must be a Google Cloud project id' })
  BIGQUERY_PROJECT?: string = undefined;

  @IsOptional()
  @IsString()
  GOOGLE_CLOUD_PROJECT?: string = undefined;

  @Matches(/^[A-Za-z_][A-Za-z0-9_]{0,1023}$/, { message: 'must be letters, digits and underscores' })
  BIGQUERY_DATASET = 'analytics';

  @IsString()
  BIGQUERY_LOCATION = 'US';

  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  BIGQUERY_API_ENDPOINT?: string = undefined;

  /** An OAuth access token used instead of Application Default Credentials (one-off runs, tests). */
  @IsOptional()
  @IsString()
  BIGQUERY_ACCESS_TOKEN?: string = undefined;

  /** Comma list of origins allowed to POST /events/website from a browser. */
  @IsString()
  CORS_ORIGINS = '';

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10000)
  BATCH_SIZE = 500;

  /** Serialized size of one INSERT at most: under BigQuery's 10 MB request limit. */
  @Type(() => Number)
  @IsInt()
  @Min(65536)
  @Max(9000000)
  BATCH_MAX_BYTES = 8000000;

  /** Days a BigQuery partition is kept (setup applies it); unset: kept forever. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(36500)
  PARTITION_EXPIRATION_DAYS?: number = undefined;

  @Type(() => Number)
  @IsInt()
  @Min(10)
  @Max(600000)
  FLUSH_INTERVAL_MS = 5000;

  /** Per table: rows waiting for the warehouse beyond this are dropped (and counted). */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  MAX_BUFFERED_EVENTS = 20000;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  WRITE_MAX_ATTEMPTS = 8;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  RETRY_BASE_DELAY_MS = 1000;

  @Type(() => Number)
  @IsInt()
  @Min(0)
  SHUTDOWN_FLUSH_TIMEOUT_MS = 2000;

  @IsOptional()
  @IsString()
  NODE_ENV?: string = undefined;

  /** Where Application Default Credentials are read from; its project_id is a fallback project. */
  @IsOptional()
  @IsString()
  GOOGLE_APPLICATION_CREDENTIALS?: string = undefined;

  @IsOptional()
  @IsString()
  ADMIN_TOKEN?: string = undefined;
}

export class ConfigError extends Error {}

/** Every variable the API reads. */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(new Environment());

/** The one typed configuration object. Built once at startup; nothing else reads process.env. */
export class AppConfig {
  readonly port: number;
  readonly production: boolean;
  readonly warehouse: WarehouseKind;
  readonly duckdbPath: string;
  readonly dataset: string;
  readonly bigquery: {
    readonly projectId?: string;
    readonly location: string;
    readonly apiEndpoint?: string;
    readonly accessToken?: string;
  };
  readonly corsOrigins: readonly string[];
  readonly batchSize: number;
  readonly batchMaxBytes: number;
  readonly partitionExpirationDays?: number;
  readonly flushIntervalMs: number;
  readonly maxBufferedEvents: number;
  readonly writeMaxAttempts: number;
  readonly retryBaseDelayMs: number;
  readonly shutdownFlushTimeoutMs: number;
  readonly adminToken?: string;

  /** Throws a ConfigError whose message is one line naming the variable, its value and what is expected. */
  static fromEnv(env: NodeJS.ProcessEnv | Record<string, string | undefined>): AppConfig {
    // An empty variable means "use the default", as it does in most deploy tools.
    const raw = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
    const parsed = plainToInstance(Environment, raw, { exposeDefaultValues: true });
    const [error] = validateSync(parsed, { whitelist: true });
    if (error) {
      // Every rule the value breaks, e.g. `PORT="eighty": must be an integer number, must not be greater than 65535`.
      const expected = Object.values(error.constraints ?? { invalid: 'is invalid' })
        .map((m) => m.replace(`${error.property} `, ''))
        .reverse()
        .join(', ');
      throw new ConfigError(`Invalid configuration: ${error.property}=${JSON.stringify(raw[error.property] ?? error.value)}: ${expected}`);
    }
    if (parsed.WAREHOUSE === 'bigquery' && !parsed.BIGQUERY_PROJECT && !parsed.GOOGLE_CLOUD_PROJECT) {
      parsed.BIGQUERY_PROJECT = projectOfCredentials(parsed.GOOGLE_APPLICATION_CREDENTIALS);
      if (!parsed.BIGQUERY_PROJECT) {
        throw new ConfigError(
          'Invalid configuration: BIGQUERY_PROJECT is not set: WAREHOUSE=bigquery needs a Google Cloud project id ' +
            '(BIGQUERY_PROJECT, GOOGLE_CLOUD_PROJECT, or the project_id of GOOGLE_APPLICATION_CREDENTIALS)',
        );
      }
    }
    return new AppConfig(parsed);
  }

  private constructor(e: Environment) {
    this.port = e.PORT;
    this.production = e.NODE_ENV === 'production';
    this.warehouse = e.WAREHOUSE;
    this.duckdbPath = e.DUCKDB_PATH;
    this.dataset = e.BIGQUERY_DATASET;
    this.bigquery = {
      projectId: e.BIGQUERY_PROJECT ?? e.GOOGLE_CLOUD_PROJECT,
      location: e.BIGQUERY_LOCATION,
      apiEndpoint: e.BIGQUERY_API_ENDPOINT,
      accessToken: e.BIGQUERY_ACCESS_TOKEN,
    };
    this.corsOrigins = e.CORS_ORIGINS.split(',')
      .map((o) => o.trim())
      .filter(Boolean);
    this.batchSize = e.BATCH_SIZE;
    this.batchMaxBytes = e.BATCH_MAX_BYTES;
    this.partitionExpirationDays = e.PARTITION_EXPIRATION_DAYS;
    this.flushIntervalMs = e.FLUSH_INTERVAL_MS;
    this.maxBufferedEvents = e.MAX_BUFFERED_EVENTS;
    this.writeMaxAttempts = e.WRITE_MAX_ATTEMPTS;
    this.retryBaseDelayMs = e.RETRY_BASE_DELAY_MS;
    this.shutdownFlushTimeoutMs = e.SHUTDOWN_FLUSH_TIMEOUT_MS;
    this.adminToken = e.ADMIN_TOKEN;
  }
}

/** For entry points: the configuration, or, for a user mistake, one line on stderr and exit status 1. */
export function configOrExit(env: NodeJS.ProcessEnv): AppConfig {
  try {
    return AppConfig.fromEnv(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
}

/** A local file read, never a network call: startup does no network I/O. */
function projectOfCredentials(path: string | undefined): string | undefined {
  if (!path) return undefined;
  try {
    const { project_id, quota_project_id } = JSON.parse(readFileSync(path, 'utf8')) as Record<string, string | undefined>;
    return project_id ?? quota_project_id;
  } catch {
    return undefined;
  }
}
