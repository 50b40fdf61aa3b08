import 'reflect-metadata';
import { plainToInstance, Type } from 'class-transformer';
import { IsIn, IsInt, IsIP, IsOptional, IsString, IsUrl, Matches, Max, Min, MinLength, validateSync } from 'class-validator';
import { accessSync, constants, mkdtempSync, readFileSync, rmdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export type WarehouseKind = 'duckdb' | 'bigquery';
export type BigQueryWriteMethod = 'dml' | 'storage-write';

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

  /** Listen address; by default 127.0.0.1, or every interface with NODE_ENV=production (App Engine's front end needs it). */
  @IsOptional()
  @IsIP(undefined, { message: 'must be an IP address, e.g. 127.0.0.1, 0.0.0.0 or ::' })
  HOST?: string = undefined;

  @IsIn(['duckdb', 'bigquery'])
  WAREHOUSE: WarehouseKind = 'duckdb';

  @IsString()
  DUCKDB_PATH = 'data/analytics.duckdb';

  /**
   * DuckDB's memory_limit: what its buffer manager may hold, outside the V8 heap. Without it DuckDB
   * takes 80% of the machine's memory. Measured in the README; the F1 instance has 384 MB in all.
   */
  @Matches(/^\d+(\.\d+)?\s*(KB|MB|GB|KiB|MiB|GiB)$/i, { message: 'must be a size such as 64MB or 1GB' })
  DUCKDB_MEMORY_LIMIT = '64MB';

  /** DuckDB's threads; an F1 instance has one shared CPU, which a second thread would take from the event loop. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(64)
  DUCKDB_THREADS = 1;

  @IsOptional()
  @Matches(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, { message: 'must be a Google Cloud project id' })
  BIGQUERY_PROJECT?: string = undefined;

  @IsOptional()
  @IsString()
  GOOGLE_CLOUD_PROJECT?: string = undefined;

  @Matches(/^[A-Za-z_][A-Za-z0-9_]{0,1023}$/, { message: 'must be letters, digits and underscores' })
  BIGQUERY_DATASET = 'analytics';

  /** Checked against BIGQUERY_LOCATIONS in fromEnv (case-insensitively, as BigQuery does). */
  @IsString()
  BIGQUERY_LOCATION = 'US';

  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  BIGQUERY_API_ENDPOINT?: string = undefined;

  /** How batches reach BigQuery: parameterized DML INSERT jobs, or the Storage Write API (README: "Choosing a write method"). */
  @IsIn(['dml', 'storage-write'])
  BIGQUERY_WRITE_METHOD: BigQueryWriteMethod = 'dml';

  /** host:port of the Storage Write API (gRPC); plaintext when the host is a loopback address (a local fake). */
  @IsOptional()
  @Matches(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):([1-9][0-9]{0,4})$/, { message: 'must be host:port, e.g. 127.0.0.1:9060' })
  BIGQUERY_STORAGE_ENDPOINT?: string = undefined;

  /** An OAuth access token used instead of Application Default Credentials (one-off runs, tests). */
  @IsOptional()
  @IsString()
  BIGQUERY_ACCESS_TOKEN?: string = undefined;

  /** Comma list of origins allowed to POST /events/website from a browser. */
  @IsString()
  CORS_ORIGINS = '';

  /**
   * Per client address, per event route, per instance: requests allowed in RATE_LIMIT_WINDOW_MS.
   * Generous on purpose: an office, a campus or a mobile carrier's NAT puts many visitors behind one address.
   */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  RATE_LIMIT_REQUESTS = 1200;

  @Type(() => Number)
  @IsInt()
  @Min(1000)
  @Max(3_600_000)
  RATE_LIMIT_WINDOW_MS = 60_000;

  /**
   * Rows per INSERT at most. BigQuery allows 25 INSERTs per 10 s per table, so this caps a table's
   * ingestion at 2.5 × BATCH_SIZE rows/s (5,000 at 2000); BATCH_MAX_BYTES still bounds each request.
   */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10000)
  BATCH_SIZE = 2000;

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

  /** Per table: rows waiting for the warehouse beyond this are dropped (and counted). At about 1 KB a row, 1M rows would not fit in any instance. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  MAX_BUFFERED_EVENTS = 20000;

  /**
   * All tables together: the bytes of the rows waiting for the warehouse (as estimated for the
   * INSERT request), written or in flight. Past it, new rows are dropped and counted. The default
   * keeps a flood of the largest rows inside an F1 instance's 384 MB with the heap capped at
   * 320 MB (npm run bench:flood), next to Node, the client library and the batch in flight.
   */
  @Type(() => Number)
  @IsInt()
  @Min(1_000_000)
  @Max(4_000_000_000)
  MAX_BUFFERED_BYTES = 48 * 1024 * 1024;

  /** A table whose oldest pending row is older than this is logged at ERROR and flagged by /healthz. */
  @Type(() => Number)
  @IsInt()
  @Min(1000)
  @Max(86_400_000)
  STALLED_TABLE_MS = 300_000;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  WRITE_MAX_ATTEMPTS = 8;

  /** The backoff is capped at 60 s anyway (BatchWriter), so a larger base would be the cap on every retry. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(60_000)
  RETRY_BASE_DELAY_MS = 1000;

  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(600_000)
  SHUTDOWN_FLUSH_TIMEOUT_MS = 2000;

  /** Deadline of every warehouse call (a BigQuery request, a DuckDB statement): past it the attempt fails, retryably. */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(600_000)
  WAREHOUSE_TIMEOUT_MS = 30_000;

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

  // Read only to find credentials at startup (WAREHOUSE=bigquery), never to use them: the
  // client library finds them again itself. Where gcloud keeps Application Default Credentials:
  @IsOptional()
  @IsString()
  CLOUDSDK_CONFIG?: string = undefined;

  @IsOptional()
  @IsString()
  HOME?: string = undefined;

  @IsOptional()
  @IsString()
  APPDATA?: string = undefined;

  // Set by Google Cloud's runtimes (App Engine, Cloud Run, Cloud Functions): the metadata server is there.
  @IsOptional()
  @IsString()
  GAE_ENV?: string = undefined;

  @IsOptional()
  @IsString()
  K_SERVICE?: string = undefined;

  @IsOptional()
  @IsString()
  CLOUD_RUN_JOB?: string = undefined;

  @IsOptional()
  @IsString()
  FUNCTION_NAME?: string = undefined;

  /** google-auth-library's own switch; `assume-present` counts as running on Google Cloud. */
  @IsOptional()
  @IsIn(['assume-present', 'none', 'bios-only', 'ping-only'])
  METADATA_SERVER_DETECTION?: string = undefined;

  /** HTTP Basic password of GET /dashboard in production (any user name); without it the dashboard is off there. */
  @IsOptional()
  @IsString()
  DASHBOARD_PASSWORD?: string = undefined;

  /**
   * Key from which every instance derives the same daily visitor-id salt. Without it each process
   * draws a random salt per UTC day (see VisitorIds and the README's "Unique visitors").
   */
  @IsOptional()
  @IsString()
  @MinLength(32, { message: 'must be at least 32 characters, e.g. the output of `openssl rand -base64 32`' })
  VISITOR_SECRET?: string = undefined;
}

/** One line per bad variable; `message` is those lines joined with newlines. */
export class ConfigError extends Error {
  constructor(readonly lines: readonly string[]) {
    super(lines.join('\n'));
  }
}

/**
 * Where a BigQuery dataset can live, from https://cloud.google.com/bigquery/docs/locations
 * (multi-regions, then regions by continent). A new region needs a line here.
 */
export const BIGQUERY_LOCATIONS: readonly string[] = [
  'US',
  'EU',
  // Americas
  'us-east5',
  'us-south1',
  'us-central1',
  'us-west4',
  'us-west2',
  'northamerica-south1',
  'northamerica-northeast1',
  'us-east4',
  'us-west1',
  'us-west3',
  'southamerica-west1',
  'southamerica-east1',
  'us-east1',
  'northamerica-northeast2',
  // Asia Pacific
  'asia-south2',
  'asia-east2',
  'asia-southeast2',
  'australia-southeast2',
  'asia-south1',
  'asia-northeast2',
  'asia-northeast3',
  'asia-southeast1',
  'australia-southeast1',
  'asia-east1',
  'asia-northeast1',
  // Europe
  'europe-west1',
  'europe-west10',
  'europe-north1',
  'europe-north2',
  'europe-west3',
  'europe-west2',
  'europe-southwest1',
  'europe-west8',
  'europe-west4',
  'europe-west9',
  'europe-west12',
  'europe-central2',
  'europe-west6',
  // Middle East and Africa
  'me-central2',
  'me-central1',
  'me-west1',
  'africa-south1',
];

/** Every variable the API reads. */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(new Environment());

export interface FromEnvOptions {
  /**
   * Whether the warehouse will be opened: then DUCKDB_PATH must be writable (DuckDB) or
   * credentials must be found (BigQuery). Off for tools that only print, like dashboard:link.
   */
  readonly warehouse?: boolean;
}

/** The one typed configuration object. Built once at startup; nothing else reads process.env. */
export class AppConfig {
  readonly port: number;
  /** undefined: every interface. */
  readonly host?: string;
  readonly production: boolean;
  readonly warehouse: WarehouseKind;
  readonly duckdbPath: string;
  readonly duckdbMemoryLimit: string;
  readonly duckdbThreads: number;
  readonly dataset: string;
  readonly bigquery: {
    readonly projectId?: string;
    readonly location: string;
    readonly apiEndpoint?: string;
    readonly accessToken?: string;
    readonly writeMethod: BigQueryWriteMethod;
    readonly storageEndpoint?: string;
  };
  readonly corsOrigins: readonly string[];
  /** Requests per client address, per event route, per instance, in each window (a sliding window). */
  readonly rateLimit: { readonly requests: number; readonly windowMs: number };
  readonly batchSize: number;
  readonly batchMaxBytes: number;
  readonly partitionExpirationDays?: number;
  readonly flushIntervalMs: number;
  readonly maxBufferedEvents: number;
  readonly maxBufferedBytes: number;
  readonly stalledTableMs: number;
  readonly writeMaxAttempts: number;
  readonly retryBaseDelayMs: number;
  readonly shutdownFlushTimeoutMs: number;
  readonly warehouseTimeoutMs: number;
  readonly adminToken?: string;
  readonly dashboardPassword?: string;
  /** Shared key for the daily visitor-id salt; undefined: a random salt per process and UTC day. */
  readonly visitorSecret?: string;

  /**
   * Throws a ConfigError with one line per bad variable, each naming the variable, its value
   * and what is expected. Reads local files only (DUCKDB_PATH's directory, credential files):
   * startup does no network I/O.
   */
  static fromEnv(env: NodeJS.ProcessEnv | Record<string, string | undefined>, options: FromEnvOptions = {}): AppConfig {
    // An empty variable means "use the default", as it does in most deploy tools.
    const raw = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
    const parsed = plainToInstance(Environment, raw, { exposeDefaultValues: true });
    const problems = new Map<string, string>();
    for (const error of validateSync(parsed, { whitelist: true })) {
      // Every rule the value breaks, e.g. `PORT="eighty": must be an integer number, must not be greater than 65535`.
      const expected = Object.values(error.constraints ?? { invalid: 'is invalid' })
        .map((m) => m.replace(`${error.property} `, ''))
        .reverse()
        .join(', ');
      problems.set(error.property, `${error.property}=${JSON.stringify(raw[error.property] ?? error.value)}: ${expected}`);
    }
    const bad = (name: keyof Environment, expected: string) => {
      if (!problems.has(name)) problems.set(name, `${name}=${JSON.stringify(raw[name])}: ${expected}`);
    };

    const badOrigins = corsOriginProblems(parsed.CORS_ORIGINS ?? '');
    if (badOrigins) bad('CORS_ORIGINS', badOrigins);
    if (!BIGQUERY_LOCATIONS.some((l) => l.toLowerCase() === String(parsed.BIGQUERY_LOCATION).toLowerCase())) {
      bad(
        'BIGQUERY_LOCATION',
        'must be a BigQuery location, e.g. US, EU or europe-west1 (https://cloud.google.com/bigquery/docs/locations)',
      );
    }
    const opensWarehouse = options.warehouse ?? true;
    if (opensWarehouse && parsed.WAREHOUSE === 'duckdb' && !problems.has('DUCKDB_PATH')) {
      const problem = duckDbPathProblem(parsed.DUCKDB_PATH);
      if (problem) bad('DUCKDB_PATH', problem);
    }
    if (parsed.WAREHOUSE === 'bigquery') {
      if (!parsed.BIGQUERY_PROJECT && !parsed.GOOGLE_CLOUD_PROJECT) {
        parsed.BIGQUERY_PROJECT = projectOfCredentials(parsed.GOOGLE_APPLICATION_CREDENTIALS);
        if (!parsed.BIGQUERY_PROJECT) {
          problems.set(
            'BIGQUERY_PROJECT',
            'BIGQUERY_PROJECT is not set: WAREHOUSE=bigquery needs a Google Cloud project id ' +
              '(BIGQUERY_PROJECT, GOOGLE_CLOUD_PROJECT, or the project_id of GOOGLE_APPLICATION_CREDENTIALS)',
          );
        }
      }
      if (opensWarehouse) {
        const missing = credentialsProblem(parsed);
        if (missing) problems.set(missing.variable, missing.line);
      }
    }
    if (problems.size > 0) throw new ConfigError([...problems.values()].map((line) => `Invalid configuration: ${line}`));
    return new AppConfig(parsed);
  }

  private constructor(e: Environment) {
    this.port = e.PORT;
    this.production = e.NODE_ENV === 'production';
    this.host = e.HOST ?? (this.production ? undefined : '127.0.0.1');
    this.warehouse = e.WAREHOUSE;
    this.duckdbPath = e.DUCKDB_PATH;
    this.duckdbMemoryLimit = e.DUCKDB_MEMORY_LIMIT;
    this.duckdbThreads = e.DUCKDB_THREADS;
    this.dataset = e.BIGQUERY_DATASET;
    this.bigquery = {
      projectId: e.BIGQUERY_PROJECT ?? e.GOOGLE_CLOUD_PROJECT,
      location: e.BIGQUERY_LOCATION,
      apiEndpoint: e.BIGQUERY_API_ENDPOINT,
      accessToken: e.BIGQUERY_ACCESS_TOKEN,
      writeMethod: e.BIGQUERY_WRITE_METHOD,
      storageEndpoint: e.BIGQUERY_STORAGE_ENDPOINT,
    };
    this.corsOrigins = splitList(e.CORS_ORIGINS);
    this.rateLimit = { requests: e.RATE_LIMIT_REQUESTS, windowMs: e.RATE_LIMIT_WINDOW_MS };
    this.batchSize = e.BATCH_SIZE;
    this.batchMaxBytes = e.BATCH_MAX_BYTES;
    this.partitionExpirationDays = e.PARTITION_EXPIRATION_DAYS;
    this.flushIntervalMs = e.FLUSH_INTERVAL_MS;
    this.maxBufferedEvents = e.MAX_BUFFERED_EVENTS;
    this.maxBufferedBytes = e.MAX_BUFFERED_BYTES;
    this.stalledTableMs = e.STALLED_TABLE_MS;
    this.writeMaxAttempts = e.WRITE_MAX_ATTEMPTS;
    this.retryBaseDelayMs = e.RETRY_BASE_DELAY_MS;
    this.shutdownFlushTimeoutMs = e.SHUTDOWN_FLUSH_TIMEOUT_MS;
    this.warehouseTimeoutMs = e.WAREHOUSE_TIMEOUT_MS;
    this.adminToken = e.ADMIN_TOKEN;
    this.dashboardPassword = e.DASHBOARD_PASSWORD;
    this.visitorSecret = e.VISITOR_SECRET;
  }

  /** Whether browsers may send website events from anywhere at all. */
  get allowsAnyWebsiteOrigin(): boolean {
    return this.corsOrigins.includes('*');
  }

  /**
   * Whether a browser on this origin may write website events. Browsers send Origin exactly as
   * CORS_ORIGINS holds it (lowercase scheme://host[:port]); "null" (sandboxed frames, file://
   * pages) is allowed only by `*`.
   */
  allowsWebsiteOrigin(origin: string): boolean {
    return this.allowsAnyWebsiteOrigin || this.corsOrigins.includes(origin);
  }
}

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
}

/** An origin as browsers send it in the Origin header: scheme://host[:port], lowercase, no path. */
function corsOriginProblems(value: string): string | undefined {
  const wrong = splitList(value).filter((origin) => {
    if (origin === '*') return false;
    try {
      const url = new URL(origin);
      return !['http:', 'https:'].includes(url.protocol) || url.origin !== origin;
    } catch {
      return true;
    }
  });
  if (wrong.length === 0) return undefined;
  return `${wrong.map((o) => JSON.stringify(o)).join(', ')} not an origin: each must be scheme://host[:port] as browsers send it (lowercase, no path or trailing slash, e.g. https://www.example.com), or *`;
}

/**
 * Whether DuckDB will be able to create or open the file. The nearest existing ancestor must
 * be a directory in which a directory can really be created: a permission check alone passes
 * for root on /proc, where Node's recursive mkdir then loops forever.
 */
function duckDbPathProblem(path: string): string | undefined {
  if (path === ':memory:') return undefined;
  const file = resolve(path);
  const existing = statOrUndefined(file);
  if (existing) {
    if (!existing.isFile()) return 'is not a file';
    try {
      accessSync(file, constants.R_OK | constants.W_OK);
      return undefined;
    } catch {
      return 'the file is not writable';
    }
  }
  let ancestor = dirname(file);
  let stat = statOrUndefined(ancestor);
  while (!stat && dirname(ancestor) !== ancestor) {
    ancestor = dirname(ancestor);
    stat = statOrUndefined(ancestor);
  }
  if (!stat?.isDirectory()) return `cannot be created: ${ancestor} is not a directory`;
  try {
    rmdirSync(mkdtempSync(join(ancestor, '.duckdb-path-check-')));
    return undefined;
  } catch {
    return `cannot be created: ${ancestor} is not writable`;
  }
}

function statOrUndefined(path: string): ReturnType<typeof statSync> | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/**
 * Where the BigQuery client will find credentials, looked up as google-auth-library does but
 * from local facts only (variables and files; no metadata server request).
 */
function credentialsProblem(e: Environment): { variable: string; line: string } | undefined {
  if (e.BIGQUERY_ACCESS_TOKEN) return undefined;
  if (e.GOOGLE_APPLICATION_CREDENTIALS) {
    if (readable(e.GOOGLE_APPLICATION_CREDENTIALS)) return undefined;
    return {
      variable: 'GOOGLE_APPLICATION_CREDENTIALS',
      line: `GOOGLE_APPLICATION_CREDENTIALS=${JSON.stringify(e.GOOGLE_APPLICATION_CREDENTIALS)}: cannot read this credentials file`,
    };
  }
  const adc = gcloudAdcFile(e);
  if (adc && readable(adc)) return undefined;
  if (onGoogleCloud(e)) return undefined;
  return {
    variable: 'GOOGLE_APPLICATION_CREDENTIALS',
    line:
      'no Google credentials for WAREHOUSE=bigquery: set BIGQUERY_ACCESS_TOKEN, or GOOGLE_APPLICATION_CREDENTIALS to a key file, ' +
      `or run \`gcloud auth application-default login\` (${adc ?? 'no HOME to find its file'}), or run on Google Cloud`,
  };
}

/** gcloud's well-known Application Default Credentials file. */
function gcloudAdcFile(e: Environment): string | undefined {
  const file = 'application_default_credentials.json';
  if (e.CLOUDSDK_CONFIG) return join(e.CLOUDSDK_CONFIG, file);
  if (process.platform === 'win32') return e.APPDATA ? join(e.APPDATA, 'gcloud', file) : undefined;
  return e.HOME ? join(e.HOME, '.config', 'gcloud', file) : undefined;
}

/** Google's runtimes announce themselves in variables; Compute Engine in its BIOS vendor (a local file). */
function onGoogleCloud(e: Environment): boolean {
  if (e.GAE_ENV || e.K_SERVICE || e.CLOUD_RUN_JOB || e.FUNCTION_NAME) return true;
  if (e.METADATA_SERVER_DETECTION === 'assume-present') return true;
  if (e.METADATA_SERVER_DETECTION === 'none' || process.platform !== 'linux') return false;
  try {
    return /Google/.test(readFileSync('/sys/class/dmi/id/bios_vendor', 'utf8'));
  } catch {
    return false;
  }
}

function readable(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** For entry points: the configuration, or, for user mistakes, one line each on stderr and exit status 1. */
export function configOrExit(env: NodeJS.ProcessEnv, options?: FromEnvOptions): AppConfig {
  try {
    return AppConfig.fromEnv(env, options);
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
