import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

/**
 * A small fake of the BigQuery REST API (v2) for the real client library, on 127.0.0.1.
 * It keeps datasets, tables and their rows in memory, runs exactly the statement shapes the
 * app sends (our batched INSERT ... SELECT ... FROM UNNEST(@rows), CREATE TABLE IF NOT EXISTS,
 * CREATE OR REPLACE VIEW, and SELECT * FROM a table), enforces BigQuery's per-table DML rate
 * limit, and can inject faults. It is not a SQL engine.
 *
 * What it does as BigQuery documents it (pages: "Quotas and limits", "Transform data with data
 * manipulation language (DML)", "Error messages", "Troubleshoot quota and limit errors", "GoogleSQL
 * data types"; fake-bigquery.e2e-spec.ts proves each through the real client):
 * - always: the 10 MB request limit (HTTP 400 "Request payload size exceeds the limit"), the
 *   TIMESTAMP range 0001-01-01..9999-12-31 UTC (a value outside fails the whole statement,
 *   invalidQuery), DML statements all or nothing, statistics.query.numDmlAffectedRows;
 * - switched on per test: the DML rate limit reported as a failed job (`dmlRateLimitAs`),
 *   PENDING INSERT jobs past a daily count (`queueInsertsAfter`), a value that fails a whole
 *   statement (`badValue`), a wrong affected-row count (`reportAffectedRows`), a 404 on
 *   jobs.get just after creation (`jobsGetNotFoundFirst`), 5xx / lost answers, and requests
 *   that are never answered, with or without their work done (`inject`);
 * - partial responses: the standard `fields` parameter ("Working with partial resources",
 *   https://cloud.google.com/bigquery/docs/api-performance#partial-response) trims a successful
 *   answer to the fields it names (`a,b/c,d(e,f)`); an unknown top-level field is a 400, as in
 *   Google's APIs. Errors are never trimmed.
 */

export const DML_LIMIT = 25;
export const DML_WINDOW_MS = 10_000;
/** "Maximum request size: 10 MB" (Quotas and limits, query jobs). */
export const MAX_REQUEST_BYTES = 10 * 1024 * 1024;
/** "the first 1500 INSERT statements run immediately" in any 24 hours, per table (DML page). */
export const DOCUMENTED_INSERTS_PER_DAY = 1_500;
/** "the concurrency of INSERT statements that write to a table is limited to 10" (DML page). */
export const MAX_RUNNING_INSERTS = 10;
/** "Up to 100 INSERT statements can be queued against a table at any given time" (DML page). */
export const MAX_PENDING_INSERTS = 100;
const DAY_MS = 24 * 60 * 60 * 1000;
/** TIMESTAMP range, in ms: 0001-01-01 00:00:00 to 9999-12-31 23:59:59.999999 UTC. */
export const MIN_TIMESTAMP_MS = new Date('0001-01-01T00:00:00Z').getTime();
export const MAX_TIMESTAMP_MS = new Date('9999-12-31T23:59:59.999Z').getTime();

/**
 * How the per-table DML rate limit is reported:
 * 'http403': jobs.insert answers 403 rateLimitExceeded (no job is created);
 * 'jobRateLimitExceeded': the job is created, then finishes failed with reason jobRateLimitExceeded;
 * 'failedJob': the job is created, then finishes failed with reason rateLimitExceeded.
 */
export type DmlRateLimitReport = 'http403' | 'jobRateLimitExceeded' | 'failedJob';

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
   * 'fail-job' (jobs.insert): create the job, but let it finish failed with `reason` and no effect;
   * 'hang': never answer, and do nothing; 'hang-after-work': do the work, then never answer. A hung
   * request stays open until the client gives up on it (see nextHang) or the fake stops.
   */
  mode: 'status' | 'lose' | 'fail-job' | 'hang' | 'hang-after-work';
  status?: number;
  reason?: string;
  /** The error's message (default: "Injected fault" / "Injected job failure"). */
  message?: string;
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
  /** Size of the request body as received. */
  bytes?: number;
  /** When it arrived (Date.now(), the real clock). */
  at?: number;
  /** The query string, e.g. "?fields=status&prettyPrint=false". */
  search?: string;
  /** Size of the answer's body as sent (successful answers). */
  answerBytes?: number;
}

/** A request the fake never answers: when it arrived, and when the client closed its connection. */
export interface HungRequest {
  seen: SeenRequest;
  arrivedAt: number;
  /** Resolves with the time (Date.now()) at which the connection closed: the client aborted the request. */
  closed: Promise<number>;
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
  /** As tables.get reports them; from the DDL's PARTITION BY DATE(col), CLUSTER BY and partition_expiration_days. */
  timePartitioning?: { type: 'DAY'; field: string; expirationMs?: string };
  clustering?: { fields: string[] };
}

/** How a seeded table is partitioned and clustered (default: neither). */
export interface TableLayout {
  timePartitioning?: { type: 'DAY'; field: string; expirationMs?: string };
  clustering?: { fields: string[] };
}

interface JobResource {
  kind: 'bigquery#job';
  id: string;
  jobReference: { projectId: string; jobId: string; location: string };
  configuration: unknown;
  status: { state: 'PENDING' | 'RUNNING' | 'DONE'; errorResult?: ApiErrorItem; errors?: ApiErrorItem[] };
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

interface JobState {
  resource: JobResource;
  outcome?: Outcome;
  state: 'PENDING' | 'RUNNING' | 'DONE';
  /** When a RUNNING job reports DONE (fake clock). */
  doneAt: number;
  /** INSERT target of a queued job, and the work it does when it leaves the queue. */
  table?: string;
  start?: () => void;
  gets: number;
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
  readonly counters = {
    dmlRateLimited: 0,
    conflicts: 0,
    injected: 0,
    lost: 0,
    insertsExecuted: 0,
    tooLarge: 0,
    queued: 0,
    queueFull: 0,
    badStatements: 0,
    notFoundAfterInsert: 0,
    hung: 0,
    /** Hung requests whose connection the client closed. */
    hungClosed: 0,
  };
  /** Added before each answer. */
  latencyMs = 0;
  /** How long a started job reports RUNNING before DONE, on the fake's clock (its effect is applied when it starts). */
  jobRunMs = 0;
  /** The fake's clock (ms): the DML window, the daily INSERT count and job run times use it. A test may drive it. */
  now: () => number = () => Date.now();
  /** How the DML rate limit is reported (default: HTTP 403, as before). */
  dmlRateLimitAs: DmlRateLimitReport = 'http403';
  /**
   * INSERTs per table and 24 hours that run at once; past it INSERT jobs are queued (PENDING),
   * 10 run per table, 100 wait, and more fail. Off by default; BigQuery's number is
   * DOCUMENTED_INSERTS_PER_DAY, and 0 starts a test in that regime.
   */
  queueInsertsAfter = Infinity;
  /** A value BigQuery would refuse: one such value fails the whole statement (invalidQuery). Off by default. */
  badValue?: (column: string, value: unknown) => boolean;
  /** What a finished INSERT reports as numDmlAffectedRows, given the rows it inserted (default: the truth). */
  reportAffectedRows: (inserted: number) => number = (n) => n;
  /** jobs.get answers 404 for the first n polls of each job, as it can just after creation. Off (0) by default. */
  jobsGetNotFoundFirst = 0;
  private faults: (Fault & { seen: number; applied: number })[] = [];
  private readonly datasets = new Map<string, { location: string }>();
  private readonly tables = new Map<string, TableState>();
  private readonly jobs = new Map<string, JobState>();
  private readonly dmlTimes = new Map<string, number[]>();
  /** INSERT statements submitted per table (fake clock), for the daily count. */
  private readonly insertTimes = new Map<string, number[]>();
  private readonly held = new Map<Route, (() => void)[]>();
  private readonly holding = new Set<Route>();
  private readonly answered: { route: Route; resolve: (seen: SeenRequest) => void }[] = [];
  private readonly arrivals: { route: Route; resolve: () => void }[] = [];
  private readonly hangWaiters: { route: Route; resolve: (hung: HungRequest) => void }[] = [];
  private server?: Server;
  private failNextJob?: { reason: string; message: string };

  get url(): string {
    const { port } = this.server!.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    // Idle connections stay open, as BigQuery's front end keeps them: Node's agent does not reuse a
    // connection whose server announces `Keep-Alive: timeout=1` or less, so a short timeout here
    // made the client open a new connection for every request. stop() closes them all.
    this.server.keepAliveTimeout = 60_000;
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

  /** Resolves when the next request on a route has been answered (or its answer lost). */
  nextAnswer(route: Route): Promise<SeenRequest> {
    return new Promise((resolve) => this.answered.push({ route, resolve }));
  }

  /** Resolves when the next request on a route is left unanswered by a 'hang' or 'hang-after-work' fault. */
  nextHang(route: Route): Promise<HungRequest> {
    return new Promise((resolve) => this.hangWaiters.push({ route, resolve }));
  }

  /** Requests on a route wait (recorded, not answered) until release(); arrived() resolves when one is waiting. */
  hold(route: Route): { release: () => void; waiting: () => number; arrived: () => Promise<void> } {
    this.holding.add(route);
    return {
      release: () => {
        this.holding.delete(route);
        const waiting = this.held.get(route) ?? [];
        this.held.delete(route);
        for (const go of waiting) go();
      },
      waiting: () => this.held.get(route)?.length ?? 0,
      arrived: () =>
        (this.held.get(route)?.length ?? 0) > 0 ? Promise.resolve() : new Promise((resolve) => this.arrivals.push({ route, resolve })),
    };
  }

  /** State of a job as jobs.get would report it now. */
  jobState(project: string, jobId: string): string | undefined {
    this.tick();
    return this.jobs.get(`${project}:${jobId}`)?.state;
  }

  /** INSERT jobs per state for a table, e.g. { RUNNING: 10, PENDING: 3 }. */
  insertJobs(ref: string): Record<'PENDING' | 'RUNNING', number> {
    this.tick();
    const jobs = [...this.jobs.values()].filter((j) => j.table === ref);
    return { PENDING: jobs.filter((j) => j.state === 'PENDING').length, RUNNING: jobs.filter((j) => j.state === 'RUNNING').length };
  }

  /** Rows of a table, e.g. rows('test-project.analytics.telemetry'). */
  rows(ref: string): Record<string, unknown>[] {
    return this.tables.get(ref)?.rows ?? [];
  }

  table(ref: string): ({ type: string; fields: Field[]; view?: { query: string } } & TableLayout) | undefined {
    return this.tables.get(ref);
  }

  /** A table as an older version of sql/ left it, e.g. seedTable('p.d.t', [{ name: 'a', type: 'STRING', mode: 'REQUIRED' }]). */
  seedTable(ref: string, fields: Field[], location = 'US', layout: TableLayout = {}): void {
    const [p, d] = ref.split('.');
    if (!this.datasets.has(`${p}.${d}`)) this.datasets.set(`${p}.${d}`, { location });
    this.tables.set(ref, { ref, type: 'TABLE', fields, rows: [], etag: 1, ...layout });
  }

  datasetLocation(ref: string): string | undefined {
    return this.datasets.get(ref)?.location;
  }

  /** Successful DML jobs per table within the last window, as the rate limit counts them. */
  dmlInWindow(ref: string, now = this.now()): number {
    return (this.dmlTimes.get(ref) ?? []).filter((t) => t > now - DML_WINDOW_MS).length;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const route = routeOf(req.method ?? 'GET', url.pathname);
    const seen: SeenRequest = {
      method: req.method ?? '',
      path: url.pathname,
      route,
      host: req.headers.host,
      authorization: req.headers.authorization,
      at: Date.now(),
      search: url.search,
    };
    try {
      await this.answer(req, res, url, route, seen);
    } finally {
      for (let i = this.answered.length - 1; i >= 0; i--) {
        if (this.answered[i].route === route) this.answered.splice(i, 1)[0].resolve(seen);
      }
    }
  }

  private async answer(req: IncomingMessage, res: ServerResponse, url: URL, route: Route, seen: SeenRequest): Promise<void> {
    const { json: body, bytes } = await readBody(req);
    seen.body = body;
    seen.bytes = bytes;
    this.requests.push(seen);

    if (this.holding.has(route)) {
      const released = new Promise<void>((resolve) => this.held.set(route, [...(this.held.get(route) ?? []), resolve]));
      for (let i = this.arrivals.length - 1; i >= 0; i--) if (this.arrivals[i].route === route) this.arrivals.splice(i, 1)[0].resolve();
      await released;
    }
    if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));

    if (bytes > MAX_REQUEST_BYTES) {
      // Refused in front of the API, before anything runs.
      this.counters.tooLarge++;
      seen.status = 400;
      return sendError(res, new BigQueryError(400, 'badRequest', `Request payload size exceeds the limit: ${MAX_REQUEST_BYTES} bytes.`));
    }
    this.tick();
    const fault = this.nextFault(route);
    if (fault?.mode === 'status') {
      this.counters.injected++;
      seen.status = fault.status ?? 503;
      return sendError(res, new BigQueryError(seen.status, fault.reason ?? 'backendError', fault.message ?? 'Injected fault'));
    }
    if (fault?.mode === 'fail-job')
      this.failNextJob = { reason: fault.reason ?? 'backendError', message: fault.message ?? 'Injected job failure' };
    if (fault?.mode === 'hang' || fault?.mode === 'hang-after-work') {
      if (fault.mode === 'hang-after-work') {
        try {
          this.dispatch(route, req.method ?? 'GET', url, body);
        } catch (error) {
          if (!(error instanceof BigQueryError)) throw error;
        }
      }
      return this.hang(route, seen, res);
    }
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
    const fields = url.searchParams.get('fields');
    if (fields !== null) {
      try {
        answer = partialResponse(answer, parseFields(fields), route);
      } catch (error) {
        if (!(error instanceof BigQueryError)) throw error;
        seen.status = error.status;
        return sendError(res, error);
      }
    }
    const text = JSON.stringify(answer);
    seen.answerBytes = Buffer.byteLength(text);
    res.writeHead(status, { 'Content-Type': 'application/json' }).end(text);
  }

  /** Leaves a request open, unanswered, until its connection closes; then the handler returns. */
  private async hang(route: Route, seen: SeenRequest, res: ServerResponse): Promise<void> {
    this.counters.hung++;
    const closed = new Promise<number>((resolve) =>
      res.once('close', () => {
        this.counters.hungClosed++;
        resolve(Date.now());
      }),
    );
    const hung: HungRequest = { seen, arrivedAt: seen.at ?? Date.now(), closed };
    for (let i = this.hangWaiters.length - 1; i >= 0; i--)
      if (this.hangWaiters[i].route === route) this.hangWaiters.splice(i, 1)[0].resolve(hung);
    await closed;
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
      case 'jobs.get': {
        const job = this.jobs.get(`${project}:${parts[5]}`);
        if (job && job.gets++ < this.jobsGetNotFoundFirst) {
          this.counters.notFoundAfterInsert++;
          throw notFound(`Job ${project}:${job.resource.jobReference.location}.${parts[5]}`);
        }
        return this.jobOrThrow(project, parts[5]).resource;
      }
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
    const now = this.now();
    const resource: JobResource = {
      kind: 'bigquery#job',
      id: `${project}:${location}.${jobId}`,
      jobReference: { projectId: project, jobId, location },
      configuration,
      status: { state: 'DONE' },
      statistics: { creationTime: String(now) },
    };
    const job: JobState = { resource, state: 'RUNNING', doneAt: now, gets: 0, table: insertTarget };
    const fail = (error: BigQueryError) => {
      const item = { reason: error.reason, message: error.message, domain: 'global' };
      resource.status = { state: 'DONE', errorResult: item, errors: [item] };
      job.state = 'DONE';
    };
    const run = () => {
      job.state = 'RUNNING';
      job.doneAt = this.now() + this.jobRunMs;
      try {
        if (this.failNextJob) {
          const { reason, message } = this.failNextJob;
          this.failNextJob = undefined;
          throw new BigQueryError(500, reason, message);
        }
        job.outcome = this.execute(project, sql, params);
        const affected = job.outcome.affected;
        resource.statistics.query = {
          statementType: job.outcome.statementType,
          numDmlAffectedRows:
            affected === undefined
              ? undefined
              : String(job.outcome.statementType === 'INSERT' ? this.reportAffectedRows(affected) : affected),
        };
        if (insertTarget) this.dmlTimes.get(insertTarget)!.push(this.now());
      } catch (error) {
        if (!(error instanceof BigQueryError)) throw error;
        fail(error);
      }
    };

    if (insertTarget) {
      const times = (this.dmlTimes.get(insertTarget) ?? []).filter((t) => t > now - DML_WINDOW_MS);
      this.dmlTimes.set(insertTarget, times);
      const submitted = (this.insertTimes.get(insertTarget) ?? []).filter((t) => t > now - DAY_MS);
      this.insertTimes.set(insertTarget, submitted);
      if (times.length >= DML_LIMIT) {
        this.counters.dmlRateLimited++;
        const message = `Exceeded rate limits: too many table dml insert operations for this table. Table: ${insertTarget}`;
        if (this.dmlRateLimitAs === 'http403') throw new BigQueryError(403, 'rateLimitExceeded', message);
        fail(
          this.dmlRateLimitAs === 'jobRateLimitExceeded'
            ? new BigQueryError(
                400,
                'jobRateLimitExceeded',
                `Job exceeded rate limits: too many table dml insert operations for this table. Table: ${insertTarget}`,
              )
            : new BigQueryError(403, 'rateLimitExceeded', message),
        );
      } else {
        const queueing = submitted.length >= this.queueInsertsAfter;
        submitted.push(now);
        if (queueing) {
          const { RUNNING, PENDING } = this.insertJobs(insertTarget);
          if (RUNNING < MAX_RUNNING_INSERTS) run();
          else if (PENDING < MAX_PENDING_INSERTS) {
            this.counters.queued++;
            job.state = 'PENDING';
            job.start = run;
          } else {
            this.counters.queueFull++;
            // Assumed shape (the message BigQuery gives for its mutating-DML queue, with this queue's limit).
            fail(
              new BigQueryError(
                400,
                'quotaExceeded',
                `Resources exceeded during query execution: Too many DML statements outstanding against table ${insertTarget}, limit is ${MAX_PENDING_INSERTS}.`,
              ),
            );
          }
        } else run();
      }
    } else run();
    this.jobs.set(`${project}:${jobId}`, job);
    return { resource: this.jobView(job), outcome: job.outcome };
  }

  /** Finishes RUNNING jobs whose time has come, then starts queued INSERTs, oldest first, up to 10 per table. */
  private tick(): void {
    const now = this.now();
    for (const job of this.jobs.values()) if (job.state === 'RUNNING' && now >= job.doneAt) job.state = 'DONE';
    const queued = [...this.jobs.values()].filter((j) => j.state === 'PENDING');
    for (const job of queued) {
      const running = [...this.jobs.values()].filter((j) => j.table === job.table && j.state === 'RUNNING').length;
      if (running >= MAX_RUNNING_INSERTS) continue;
      job.start!();
      if (job.state === 'RUNNING' && this.now() >= job.doneAt && this.jobRunMs === 0) job.state = 'DONE';
    }
  }

  /** A job as seen now: PENDING, RUNNING (no statistics yet) or DONE. */
  private jobView(job: JobState): JobResource {
    if (job.state === 'RUNNING' && this.now() >= job.doneAt) job.state = 'DONE';
    if (job.state === 'DONE') return job.resource;
    return { ...job.resource, status: { state: job.state }, statistics: { creationTime: job.resource.statistics.creationTime } };
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
    if (create) return this.executeCreateTable(project, create[1], create[2], sql.slice(create.index + create[0].length));
    const alter = /^\s*ALTER\s+TABLE\s+`([^`]+)`\s+SET\s+OPTIONS\s*\(\s*partition_expiration_days\s*=\s*(\d+)\s*\)\s*;?\s*$/i.exec(sql);
    if (alter) {
      const table = this.tableOrThrow(alter[1]);
      if (!table.timePartitioning) throw new BigQueryError(400, 'invalidQuery', `Table ${alter[1]} is not partitioned`);
      table.timePartitioning.expirationMs = String(Number(alter[2]) * DAY_MS);
      table.etag++;
      return { statementType: 'ALTER_TABLE' };
    }
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
    const badValue = this.badValue;
    if (badValue) {
      for (const row of newRows) {
        const column = Object.keys(row).find((c) => badValue(c, row[c]));
        if (column !== undefined) {
          this.counters.badStatements++;
          throw new BigQueryError(400, 'invalidQuery', `Bad value for column ${column} of table ${ref}`);
        }
      }
    }
    // A DML statement is atomic: every row or none.
    table.rows.push(...newRows);
    this.counters.insertsExecuted++;
    return { affected: newRows.length, statementType: 'INSERT' };
  }

  private executeCreateTable(project: string, ref: string, body: string, tail: string): Outcome {
    const [p, d, t] = ref.split('.');
    if (p !== project || !t) throw new BigQueryError(400, 'invalidQuery', `Table name must be project.dataset.table: ${ref}`);
    if (!this.datasets.has(`${p}.${d}`)) throw notFound(`Dataset ${p}:${d}`);
    if (!this.tables.has(ref)) {
      const fields = body
        .split('\n')
        .map((line) => /^\s*(\w+)\s+(STRING|INT64|FLOAT64|BOOL|TIMESTAMP|DATE)\b(\s+NOT NULL)?/i.exec(line))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m): Field => ({ name: m[1], type: canonical(m[2]), mode: m[3] ? 'REQUIRED' : 'NULLABLE' }));
      const partition = /PARTITION\s+BY\s+DATE\s*\(\s*(\w+)\s*\)/i.exec(tail);
      const cluster = /CLUSTER\s+BY\s+([\w\s,]+?)\s*(?:OPTIONS\b|;|$)/i.exec(tail);
      const expiration = /partition_expiration_days\s*=\s*(\d+)/i.exec(tail);
      if (expiration && !partition) throw new BigQueryError(400, 'invalidQuery', 'partition_expiration_days needs a partitioned table');
      this.tables.set(ref, {
        ref,
        type: 'TABLE',
        fields,
        rows: [],
        etag: 1,
        timePartitioning: partition
          ? { type: 'DAY', field: partition[1], ...(expiration ? { expirationMs: String(Number(expiration[1]) * DAY_MS) } : {}) }
          : undefined,
        clustering: cluster ? { fields: cluster[1].split(',').map((f) => f.trim()) } : undefined,
      });
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
      timePartitioning: table.timePartitioning,
      clustering: table.clustering,
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
      if (date.getTime() < MIN_TIMESTAMP_MS || date.getTime() > MAX_TIMESTAMP_MS) {
        throw new BigQueryError(
          400,
          'invalidQuery',
          `Timestamp value is out of allowed range: from 0001-01-01 00:00:00.000000+00 to 9999-12-31 23:59:59.999999+00 (field ${name})`,
        );
      }
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

/** A `fields` selection: each field name with what is selected inside it (undefined: all of it). */
type Selection = Map<string, Selection | undefined>;

/** Parses the partial-response syntax: `a,b/c,d(e,f/g)`; `*` selects everything. */
function parseFields(text: string): Selection | undefined {
  let at = 0;
  const bad = () => new BigQueryError(400, 'invalid', `Invalid field selection ${text}`);
  // item := name [ '/' item | '(' list ')' ]
  const item = (): [string, Selection | undefined] => {
    const name = /^(?:\*|[A-Za-z_]\w*)/.exec(text.slice(at))?.[0];
    if (!name) throw bad();
    at += name.length;
    if (text[at] === '/') {
      at++;
      const [inner, selection] = item();
      return [name, inner === '*' ? undefined : new Map([[inner, selection]])];
    }
    if (text[at] === '(') {
      at++;
      const selection = list();
      if (text[at++] !== ')') throw bad();
      return [name, selection];
    }
    return [name, undefined];
  };
  // list := item { ',' item }
  const list = (): Selection | undefined => {
    const selection: Selection = new Map();
    let all = false;
    for (;;) {
      const [name, inner] = item();
      if (name === '*') all = true;
      else selection.set(name, selection.has(name) ? union(selection.get(name), inner) : inner);
      if (text[at] !== ',') return all ? undefined : selection;
      at++;
    }
  };
  const selection = list();
  if (at !== text.length) throw bad();
  return selection;
}

function union(a: Selection | undefined, b: Selection | undefined): Selection | undefined {
  if (a === undefined || b === undefined) return undefined;
  const out: Selection = new Map(a);
  for (const [name, inner] of b) out.set(name, out.has(name) ? union(out.get(name), inner) : inner);
  return out;
}

/** The top-level fields of each resource the fake answers with: selecting another is a 400, as in BigQuery. */
const RESOURCE_FIELDS: Partial<Record<Route, readonly string[]>> = {
  'jobs.insert': ['kind', 'etag', 'id', 'selfLink', 'user_email', 'jobReference', 'configuration', 'status', 'statistics'],
  'jobs.get': ['kind', 'etag', 'id', 'selfLink', 'user_email', 'jobReference', 'configuration', 'status', 'statistics'],
};

function partialResponse(answer: unknown, selection: Selection | undefined, route: Route): unknown {
  const known = RESOURCE_FIELDS[route];
  if (selection && known) {
    for (const name of selection.keys()) {
      if (!known.includes(name)) throw new BigQueryError(400, 'invalid', `Invalid field selection ${name}`);
    }
  }
  return select(answer, selection);
}

function select(value: unknown, selection: Selection | undefined): unknown {
  if (selection === undefined || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => select(item, selection));
  const out: Record<string, unknown> = {};
  for (const [name, inner] of selection) {
    const field = (value as Record<string, unknown>)[name];
    if (field !== undefined) out[name] = select(field, inner);
  }
  return out;
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

function readBody(req: IncomingMessage): Promise<{ json: any; bytes: number }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', reject);
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const text = raw.toString('utf8');
      let json: any;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      resolve({ json, bytes: raw.length });
    });
  });
}
