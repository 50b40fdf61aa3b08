import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

/**
 * A small fake of the BigQuery REST API (v2) for the real client library, on 127.0.0.1.
 * It keeps datasets, tables and their rows in memory, runs exactly the statement shapes the
 * app sends (our batched INSERT ... SELECT ... FROM UNNEST(@rows), CREATE TABLE IF NOT EXISTS,
 * CREATE OR REPLACE VIEW, and SELECT * FROM a table), enforces BigQuery's per-table DML rate
 * limit, and can inject faults. It is not a SQL engine.
 */

export const DML_LIMIT = 25;
export const DML_WINDOW_MS = 10_000;

export type Route =
  | 'jobs.insert'
  | 'jobs.get'
  | 'jobs.query'
  | 'jobs.getQueryResults'
  | 'datasets.get'
  | 'datasets.insert'
  | 'tables.get'
  | 'tables.patch'
  | 'tables.update'
  | 'unknown';

export interface Fault {
  route: Route;
  /**
   * 'status': answer with an HTTP error and do nothing; 'lose': do the work, then cut the connection;
   * 'fail-job' (jobs.insert): create the job, but let it finish failed with `reason` and no effect.
   */
  mode: 'status' | 'lose' | 'fail-job';
  status?: number;
  reason?: string;
  /** Applies to every n-th matching request (default 1: all of them)... */
  every?: number;
  /** ...at most this many times (default: forever). */
  times?: number;
}

export interface SeenRequest {
  method: string;
  path: string;
  route: Route;
  host?: string;
  authorization?: string;
  status?: number;
  body?: any;
}

export interface Field {
  name: string;
  type: string;
  mode: 'NULLABLE' | 'REQUIRED';
}

interface TableState {
  ref: string;
  type: 'TABLE' | 'VIEW';
  fields: Field[];
  rows: Record<string, unknown>[];
  view?: { query: string; useLegacySql: false };
  etag: number;
}

interface JobResource {
  kind: 'bigquery#job';
  id: string;
  jobReference: { projectId: string; jobId: string; location: string };
  configuration: unknown;
  status: { state: 'RUNNING' | 'DONE'; errorResult?: ApiErrorItem; errors?: ApiErrorItem[] };
  statistics: { creationTime: string; query?: { numDmlAffectedRows?: string; statementType?: string } };
}

interface ApiErrorItem {
  reason: string;
  message: string;
  domain?: string;
}

class BigQueryError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

interface Outcome {
  schema?: { fields: Field[] };
  rows?: Record<string, unknown>[];
  affected?: number;
  statementType: string;
}

const TYPE_ALIASES: Record<string, string> = { INT64: 'INTEGER', FLOAT64: 'FLOAT', BOOL: 'BOOLEAN' };
const canonical = (type: string) => TYPE_ALIASES[type.toUpperCase()] ?? type.toUpperCase();

export class FakeBigQuery {
  readonly requests: SeenRequest[] = [];
  readonly counters = { dmlRateLimited: 0, conflicts: 0, injected: 0, lost: 0, insertsExecuted: 0 };
  /** Added before each answer. */
  latencyMs = 0;
  /** How long a new job reports RUNNING before DONE (its effect is applied at once). */
  jobRunMs = 0;
  private faults: (Fault & { seen: number; applied: number })[] = [];
  private readonly datasets = new Map<string, { location: string }>();
  private readonly tables = new Map<string, TableState>();
  private readonly jobs = new Map<string, { resource: JobResource; outcome?: Outcome; doneAt: number }>();
  private readonly dmlTimes = new Map<string, number[]>();
  private server?: Server;
  private failNextJob?: string;

  get url(): string {
    const { port } = this.server!.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  inject(fault: Fault): void {
    this.faults.push({ ...fault, seen: 0, applied: 0 });
  }

  clearFaults(): void {
    this.faults = [];
  }

  /** Rows of a table, e.g. rows('test-project.analytics.telemetry'). */
  rows(ref: string): Record<string, unknown>[] {
    return this.tables.get(ref)?.rows ?? [];
  }

  table(ref: string): { type: string; fields: Field[]; view?: { query: string } } | undefined {
    return this.tables.get(ref);
  }

  /** A table as an older version of sql/ left it, e.g. seedTable('p.d.t', [{ name: 'a', type: 'STRING', mode: 'REQUIRED' }]). */
  seedTable(ref: string, fields: Field[], location = 'US'): void {
    const [p, d] = ref.split('.');
    if (!this.datasets.has(`${p}.${d}`)) this.datasets.set(`${p}.${d}`, { location });
    this.tables.set(ref, { ref, type: 'TABLE', fields, rows: [], etag: 1 });
  }

  datasetLocation(ref: string): string | undefined {
    return this.datasets.get(ref)?.location;
  }

  /** Successful DML jobs per table within the last window, as the rate limit counts them. */
  dmlInWindow(ref: string, now = Date.now()): number {
    return (this.dmlTimes.get(ref) ?? []).filter((t) => t > now - DML_WINDOW_MS).length;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://fake');
    const route = routeOf(req.method ?? 'GET', url.pathname);
    const seen: SeenRequest = {
      method: req.method ?? '',
      path: url.pathname,
      route,
      host: req.headers.host,
      authorization: req.headers.authorization,
      body,
    };
    this.requests.push(seen);

    if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));

    const fault = this.nextFault(route);
    if (fault?.mode === 'status') {
      this.counters.injected++;
      seen.status = fault.status ?? 503;
      return sendError(res, new BigQueryError(seen.status, fault.reason ?? 'backendError', 'Injected fault'));
    }
    if (fault?.mode === 'fail-job') this.failNextJob = fault.reason ?? 'backendError';
    let status = 200;
    let answer: unknown;
    try {
      answer = this.dispatch(route, req.method ?? 'GET', url, body);
    } catch (error) {
      if (!(error instanceof BigQueryError)) throw error;
      status = error.status;
      answer = error;
    }
    seen.status = status;
    if (fault?.mode === 'lose') {
      // The work is done, the answer never arrives.
      this.counters.lost++;
      req.socket.destroy();
      return;
    }
    if (answer instanceof BigQueryError) return sendError(res, answer);
    res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(answer));
  }

  private nextFault(route: Route) {
    for (const fault of this.faults) {
      if (fault.route !== route) continue;
      if (fault.times !== undefined && fault.applied >= fault.times) continue;
      fault.seen++;
      if (fault.seen % (fault.every ?? 1) !== 0) continue;
      fault.applied++;
      return fault;
    }
    return undefined;
  }

  private dispatch(route: Route, method: string, url: URL, body: any): unknown {
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent); // bigquery v2 projects P ...
    const project = parts[3];
    switch (route) {
      case 'datasets.get': {
        const dataset = this.datasets.get(`${project}.${parts[5]}`);
        if (!dataset) throw notFound(`Dataset ${project}:${parts[5]}`);
        return datasetResource(project, parts[5], dataset.location);
      }
      case 'datasets.insert': {
        const id = body?.datasetReference?.datasetId;
        if (typeof id !== 'string') throw new BigQueryError(400, 'invalid', 'datasetReference.datasetId is required');
        if (this.datasets.has(`${project}.${id}`)) throw new BigQueryError(409, 'duplicate', `Already Exists: Dataset ${project}:${id}`);
        this.datasets.set(`${project}.${id}`, { location: body.location ?? 'US' });
        return datasetResource(project, id, body.location ?? 'US');
      }
      case 'tables.get':
        return this.tableResource(this.tableOrThrow(`${project}.${parts[5]}.${parts[7]}`));
      case 'tables.patch':
      case 'tables.update':
        return this.patchTable(`${project}.${parts[5]}.${parts[7]}`, body);
      case 'jobs.insert':
        return this.insertJob(project, body);
      case 'jobs.get':
        return this.jobOrThrow(project, parts[5]).resource;
      case 'jobs.query': {
        const jobId = `fake_query_${this.jobs.size + 1}`;
        const job = this.createJob(project, jobId, body.location ?? 'US', { query: body }, body.query, body.queryParameters ?? []);
        if (job.resource.status.errorResult) {
          const e = job.resource.status.errorResult;
          throw new BigQueryError(400, e.reason, e.message);
        }
        return this.queryResults(job, body.formatOptions?.useInt64Timestamp === true);
      }
      case 'jobs.getQueryResults': {
        const job = this.jobOrThrow(project, parts[5]);
        if (job.resource.status.errorResult) {
          const e = job.resource.status.errorResult;
          throw new BigQueryError(400, e.reason, e.message);
        }
        return this.queryResults(job, url.searchParams.get('formatOptions.useInt64Timestamp') === 'true');
      }
      default:
        throw new BigQueryError(404, 'notFound', `No such route: ${method} ${url.pathname}`);
    }
  }

  private insertJob(project: string, body: any): JobResource {
    const ref = body?.jobReference ?? {};
    const jobId: string = ref.jobId;
    if (typeof jobId !== 'string' || !/^[A-Za-z0-9_-]{1,1024}$/.test(jobId)) {
      throw new BigQueryError(400, 'invalid', `Invalid job ID "${jobId}"`);
    }
    if (this.jobs.has(`${project}:${jobId}`)) {
      this.counters.conflicts++;
      throw new BigQueryError(409, 'duplicate', `Already Exists: Job ${project}:${ref.location ?? 'US'}.${jobId}`);
    }
    const query = body?.configuration?.query;
    if (!query || typeof query.query !== 'string') throw new BigQueryError(400, 'invalid', 'Only query jobs are supported');
    if (query.useLegacySql !== false) throw new BigQueryError(400, 'invalidQuery', 'Legacy SQL is not supported by parameters');
    return this.createJob(project, jobId, ref.location ?? 'US', body.configuration, query.query, query.queryParameters ?? []).resource;
  }

  private createJob(project: string, jobId: string, location: string, configuration: unknown, sql: string, params: any[]) {
    const insertTarget = /^\s*INSERT\s+INTO\s+`([^`]+)`/i.exec(sql)?.[1];
    if (insertTarget) {
      const now = Date.now();
      const times = (this.dmlTimes.get(insertTarget) ?? []).filter((t) => t > now - DML_WINDOW_MS);
      this.dmlTimes.set(insertTarget, times);
      if (times.length >= DML_LIMIT) {
        this.counters.dmlRateLimited++;
        throw new BigQueryError(
          403,
          'rateLimitExceeded',
          `Exceeded rate limits: too many table dml insert operations for this table. Table: ${insertTarget}`,
        );
      }
    }
    const resource: JobResource = {
      kind: 'bigquery#job',
      id: `${project}:${location}.${jobId}`,
      jobReference: { projectId: project, jobId, location },
      configuration,
      status: { state: 'DONE' },
      statistics: { creationTime: String(Date.now()) },
    };
    const job: { resource: JobResource; outcome?: Outcome; doneAt: number } = { resource, doneAt: Date.now() + this.jobRunMs };
    try {
      if (this.failNextJob) {
        const reason = this.failNextJob;
        this.failNextJob = undefined;
        throw new BigQueryError(500, reason, 'Injected job failure');
      }
      job.outcome = this.execute(project, sql, params);
      resource.statistics.query = {
        statementType: job.outcome.statementType,
        numDmlAffectedRows: job.outcome.affected === undefined ? undefined : String(job.outcome.affected),
      };
      if (insertTarget) this.dmlTimes.get(insertTarget)!.push(Date.now());
    } catch (error) {
      if (!(error instanceof BigQueryError)) throw error;
      const item = { reason: error.reason, message: error.message, domain: 'global' };
      resource.status = { state: 'DONE', errorResult: item, errors: [item] };
    }
    this.jobs.set(`${project}:${jobId}`, job);
    const view = this.jobView(job);
    return { resource: view, outcome: job.outcome };
  }

  /** A job as seen now: RUNNING until jobRunMs has passed. */
  private jobView(job: { resource: JobResource; doneAt: number }): JobResource {
    if (Date.now() >= job.doneAt) return job.resource;
    return { ...job.resource, status: { state: 'RUNNING' } };
  }

  private jobOrThrow(project: string, jobId: string) {
    const job = this.jobs.get(`${project}:${jobId}`);
    if (!job) throw notFound(`Job ${project}:${jobId}`);
    return { resource: this.jobView(job), outcome: job.outcome };
  }

  private queryResults(job: { resource: JobResource; outcome?: Outcome }, int64Timestamps: boolean): unknown {
    const complete = job.resource.status.state === 'DONE';
    const outcome = job.outcome;
    const base = { kind: 'bigquery#getQueryResultsResponse', jobReference: job.resource.jobReference, jobComplete: complete };
    if (!complete || !outcome) return base;
    if (!outcome.schema) return { ...base, numDmlAffectedRows: outcome.affected === undefined ? undefined : String(outcome.affected) };
    const fields = outcome.schema.fields;
    const rows = (outcome.rows ?? []).map((row) => ({ f: fields.map((f) => ({ v: toWire(row[f.name], int64Timestamps) })) }));
    return { ...base, schema: outcome.schema, rows, totalRows: String(rows.length) };
  }

  private execute(project: string, sql: string, params: any[]): Outcome {
    const insert = /^\s*INSERT\s+INTO\s+`([^`]+)`\s*\(([^)]*)\)\s*SELECT\s+([\s\S]+?)\s+FROM\s+UNNEST\(@(\w+)\)\s+AS\s+(\w+)\s*$/i.exec(
      sql,
    );
    if (insert) return this.executeInsert(insert, params);
    const create = /^\s*(?:--[^\n]*\n\s*)*CREATE\s+TABLE\s+IF\s+NOT\s+EXISTS\s+`([^`]+)`\s*\(([\s\S]*?)\n\)/i.exec(sql);
    if (create) return this.executeCreateTable(project, create[1], create[2]);
    const view = /^\s*(?:--[^\n]*\n\s*)*CREATE\s+OR\s+REPLACE\s+VIEW\s+`([^`]+)`\s+AS\s+([\s\S]+?)\s*;?\s*$/i.exec(sql);
    if (view) return this.executeCreateView(view[1], view[2]);
    const select = /^\s*SELECT\s+\*\s+FROM\s+`([^`]+)`\s*$/i.exec(sql);
    if (select) {
      const table = this.tableOrThrow(select[1]);
      return { schema: { fields: table.fields }, rows: table.rows, statementType: 'SELECT' };
    }
    throw new BigQueryError(400, 'invalidQuery', `The fake does not run this statement: ${sql.slice(0, 120)}`);
  }

  private executeInsert(match: RegExpExecArray, params: any[]): Outcome {
    const [, ref, columnList, selectList, paramName, alias] = match;
    const table = this.tableOrThrow(ref);
    if (table.type !== 'TABLE') throw new BigQueryError(400, 'invalidQuery', `${ref} is a view`);
    const columns = columnList.split(',').map((c) => unquote(c.trim()));
    const selected = selectList.split(',').map((item) => {
      const m = new RegExp(`^${alias}\\.(\\w+|\`\\w+\`)$`).exec(item.trim());
      if (!m) throw new BigQueryError(400, 'invalidQuery', `Unsupported SELECT item: ${item.trim()}`);
      return unquote(m[1]);
    });
    if (selected.length !== columns.length) {
      throw new BigQueryError(
        400,
        'invalidQuery',
        `Inserted row has wrong column count; Has ${selected.length}, expected ${columns.length}`,
      );
    }
    const param = params.find((p) => p.name === paramName);
    if (!param) throw new BigQueryError(400, 'invalidQuery', `Query parameter '${paramName}' not found`);
    const type = param.parameterType;
    if (type?.type !== 'ARRAY' || type.arrayType?.type !== 'STRUCT') {
      throw new BigQueryError(
        400,
        'invalidQuery',
        `Values referenced in UNNEST must be arrays. UNNEST contains expression of type ${type?.type}`,
      );
    }
    const structTypes: { name: string; type: { type: string } }[] = type.arrayType.structTypes;
    const decoded = (param.parameterValue?.arrayValues ?? []).map((item: any) => decodeStruct(item, structTypes));
    const newRows = decoded.map((struct: Record<string, unknown>) => {
      const row: Record<string, unknown> = Object.fromEntries(table.fields.map((f) => [f.name, null]));
      columns.forEach((column, i) => {
        const field = table.fields.find((f) => f.name === column);
        if (!field) throw new BigQueryError(400, 'invalidQuery', `Column ${column} is not present in table ${ref}`);
        const source = structTypes.find((s) => s.name === selected[i]);
        if (!source) throw new BigQueryError(400, 'invalidQuery', `Field name ${selected[i]} does not exist in STRUCT`);
        if (canonical(source.type.type) !== canonical(field.type)) {
          throw new BigQueryError(
            400,
            'invalidQuery',
            `Query column ${i + 1} has type ${source.type.type} which cannot be inserted into column ${column}, which has type ${field.type}`,
          );
        }
        row[column] = struct[selected[i]];
      });
      for (const field of table.fields) {
        if (field.mode === 'REQUIRED' && row[field.name] === null) {
          throw new BigQueryError(400, 'invalidQuery', `Required field ${field.name} cannot be null`);
        }
      }
      return row;
    });
    // A DML statement is atomic: every row or none.
    table.rows.push(...newRows);
    this.counters.insertsExecuted++;
    return { affected: newRows.length, statementType: 'INSERT' };
  }

  private executeCreateTable(project: string, ref: string, body: string): Outcome {
    const [p, d, t] = ref.split('.');
    if (p !== project || !t) throw new BigQueryError(400, 'invalidQuery', `Table name must be project.dataset.table: ${ref}`);
    if (!this.datasets.has(`${p}.${d}`)) throw notFound(`Dataset ${p}:${d}`);
    if (!this.tables.has(ref)) {
      const fields = body
        .split('\n')
        .map((line) => /^\s*(\w+)\s+(STRING|INT64|FLOAT64|BOOL|TIMESTAMP|DATE)\b(\s+NOT NULL)?/i.exec(line))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m): Field => ({ name: m[1], type: canonical(m[2]), mode: m[3] ? 'REQUIRED' : 'NULLABLE' }));
      this.tables.set(ref, { ref, type: 'TABLE', fields, rows: [], etag: 1 });
    }
    return { statementType: 'CREATE_TABLE' };
  }

  private executeCreateView(ref: string, query: string): Outcome {
    const [p, d] = ref.split('.');
    if (!this.datasets.has(`${p}.${d}`)) throw notFound(`Dataset ${p}:${d}`);
    for (const used of query.matchAll(/`([^`]+)`/g)) this.tableOrThrow(used[1]);
    const existing = this.tables.get(ref);
    if (existing && existing.type !== 'VIEW') throw new BigQueryError(400, 'invalidQuery', `${ref} is a table`);
    this.tables.set(ref, {
      ref,
      type: 'VIEW',
      fields: [],
      rows: [],
      view: { query, useLegacySql: false },
      etag: (existing?.etag ?? 0) + 1,
    });
    return { statementType: 'CREATE_VIEW' };
  }

  private patchTable(ref: string, body: any): unknown {
    const table = this.tableOrThrow(ref);
    if (body?.etag !== undefined && String(body.etag) !== String(table.etag)) {
      throw new BigQueryError(412, 'conditionNotMet', 'Precondition check failed.');
    }
    const fields: Field[] | undefined = body?.schema?.fields;
    if (fields) {
      const keeps = table.fields.every(
        (old, i) => fields[i]?.name === old.name && canonical(fields[i].type) === old.type && (fields[i].mode ?? 'NULLABLE') === old.mode,
      );
      const added = fields.slice(table.fields.length);
      if (!keeps || added.some((f) => (f.mode ?? 'NULLABLE') !== 'NULLABLE')) {
        throw new BigQueryError(400, 'invalid', 'Provided Schema does not match Table. Only new NULLABLE columns may be added.');
      }
      table.fields = [...table.fields, ...added.map((f): Field => ({ name: f.name, type: canonical(f.type), mode: 'NULLABLE' }))];
      for (const row of table.rows) for (const f of added) row[f.name] = null;
      table.etag++;
    }
    return this.tableResource(table);
  }

  private tableOrThrow(ref: string): TableState {
    const table = this.tables.get(ref);
    if (!table) throw notFound(`Table ${ref}`);
    return table;
  }

  private tableResource(table: TableState): unknown {
    const [projectId, datasetId, tableId] = table.ref.split('.');
    return {
      kind: 'bigquery#table',
      id: `${projectId}:${datasetId}.${tableId}`,
      etag: String(table.etag),
      tableReference: { projectId, datasetId, tableId },
      type: table.type,
      schema: table.type === 'TABLE' ? { fields: table.fields } : undefined,
      view: table.view,
      location: this.datasets.get(`${projectId}.${datasetId}`)?.location,
    };
  }
}

function routeOf(method: string, path: string): Route {
  const p = path.replace(/^\/bigquery\/v2\/projects\/[^/]+/, '');
  if (p === path) return 'unknown';
  if (method === 'POST' && p === '/jobs') return 'jobs.insert';
  if (method === 'GET' && /^\/jobs\/[^/]+$/.test(p)) return 'jobs.get';
  if (method === 'POST' && p === '/queries') return 'jobs.query';
  if (method === 'GET' && /^\/queries\/[^/]+$/.test(p)) return 'jobs.getQueryResults';
  if (method === 'GET' && /^\/datasets\/[^/]+$/.test(p)) return 'datasets.get';
  if (method === 'POST' && p === '/datasets') return 'datasets.insert';
  if (/^\/datasets\/[^/]+\/tables\/[^/]+$/.test(p)) {
    if (method === 'GET') return 'tables.get';
    if (method === 'PATCH') return 'tables.patch';
    if (method === 'PUT') return 'tables.update';
  }
  return 'unknown';
}

/** Decodes one STRUCT value of a query parameter, as the REST API encodes it (scalars as strings or JSON values). */
function decodeStruct(item: any, structTypes: { name: string; type: { type: string } }[]): Record<string, unknown> {
  const values = item?.structValues ?? {};
  return Object.fromEntries(structTypes.map((s) => [s.name, decodeScalar(values[s.name]?.value, s.type.type, s.name)]));
}

function decodeScalar(value: unknown, type: string, name: string): unknown {
  // An absent or empty value is NULL, as in BigQuery (hence the client's ISO-string TIMESTAMP trap).
  if (value === undefined || value === null || (value === '' && type !== 'STRING')) return null;
  const bad = () =>
    new BigQueryError(400, 'invalidQuery', `Invalid ${type} value for query parameter field ${name}: ${JSON.stringify(value)}`);
  switch (canonical(type)) {
    case 'STRING':
      if (typeof value !== 'string') throw bad();
      return value;
    case 'INTEGER':
      if (!/^-?\d+$/.test(String(value))) throw bad();
      return Number(value);
    case 'FLOAT':
      if (Number.isNaN(Number(value))) throw bad();
      return Number(value);
    case 'BOOLEAN':
      if (value === true || value === 'true') return true;
      if (value === false || value === 'false') return false;
      throw bad();
    case 'TIMESTAMP': {
      if (typeof value !== 'string') throw bad();
      const date = new Date(value.replace(' ', 'T').replace(/(\.\d{3})\d+/, '$1'));
      if (Number.isNaN(date.getTime())) throw bad();
      return date;
    }
    case 'DATE':
      if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)) throw bad();
      return value;
    default:
      throw new BigQueryError(400, 'invalidQuery', `The fake does not decode ${type}`);
  }
}

function toWire(value: unknown, int64Timestamps: boolean): string | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return int64Timestamps ? String(value.getTime() * 1000) : String(value.getTime() / 1000);
  return String(value);
}

function unquote(name: string): string {
  return name.replace(/^`|`$/g, '');
}

function notFound(what: string): BigQueryError {
  return new BigQueryError(404, 'notFound', `Not found: ${what}`);
}

function datasetResource(projectId: string, datasetId: string, location: string): unknown {
  return { kind: 'bigquery#dataset', id: `${projectId}:${datasetId}`, datasetReference: { projectId, datasetId }, location };
}

function sendError(res: ServerResponse, error: BigQueryError): void {
  const item = { reason: error.reason, message: error.message, domain: 'global' };
  res
    .writeHead(error.status, { 'Content-Type': 'application/json' })
    .end(JSON.stringify({ error: { code: error.status, message: error.message, errors: [item], status: error.reason } }));
}

function readBody(req: IncomingMessage): Promise<any> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', reject);
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        resolve(text ? JSON.parse(text) : undefined);
      } catch {
        resolve(undefined);
      }
    });
  });
}
