import { BigQuery, BigQueryOptions, Job, TableField, TableMetadata } from '@google-cloud/bigquery';
import { Logger } from '@nestjs/common';
import { OAuth2Client } from 'google-auth-library';
import { AppConfig } from '../../config/app-config';
import { ColumnType, renderSql, Row, SqlCatalog, TableDef } from '../contracts';
import { Warehouse } from '../warehouse.factory';
import { assertReadOnly, CalendarDate, QueryParams, QueryStats } from '../warehouse-reader';
import { WarehouseWriteError, WriteResult } from '../warehouse-sink';
import { withDeadlines } from './deadlines';
import { InsertStatement } from './insert-statement';
import { httpStatus, isTransientPollFailure, jobError, writeError } from './failures';

/** Column types as the tables API spells them in a schema. */
const SCHEMA_TYPES: Record<ColumnType, string> = {
  STRING: 'STRING',
  INT64: 'INTEGER',
  FLOAT64: 'FLOAT',
  BOOL: 'BOOLEAN',
  TIMESTAMP: 'TIMESTAMP',
  DATE: 'DATE',
};

const POLL_FIRST_MS = 100;
const POLL_MAX_MS = 1_000;
/** How long one attempt waits for its job; past it the attempt fails and the retry finds the same job. */
const JOB_WAIT_MS = 120_000;
/** Batches whose earlier job is known to have failed; bounded, since dropped batches never come back. */
const MAX_REMEMBERED_BATCHES = 1_000;

/**
 * The production warehouse. Each batch is one DML job, an INSERT with the batch as a single typed
 * ARRAY<STRUCT<...>> parameter (InsertStatement), so that no event data is ever SQL text.
 */
export class BigQueryWarehouse implements Warehouse {
  private readonly logger = new Logger(BigQueryWarehouse.name);
  private client?: BigQuery;
  private deadlines?: { abortAll(error: Error): void };
  private projectId?: string;
  /** batchId -> how many of its jobs have finished failed. A failed job's id can never run again. */
  private readonly failedJobs = new Map<string, number>();
  private readonly statements = new Map<TableDef, InsertStatement>();

  constructor(
    private readonly config: AppConfig,
    private readonly catalog: SqlCatalog,
  ) {}

  /** No network here: the client authenticates on its first request. */
  open(): Promise<void> {
    this.bigquery();
    return Promise.resolve();
  }

  async write(table: TableDef, rows: readonly Row[], batchId: string): Promise<WriteResult> {
    const bigquery = this.bigquery();
    const location = this.config.bigquery.location;
    const projectId = await this.project();
    let statement = this.statements.get(table);
    if (!statement) this.statements.set(table, (statement = new InsertStatement(`${projectId}.${this.config.dataset}`, table)));
    const jobId = `ingest_${table.name}_${batchId}_${this.failedJobs.get(batchId) ?? 0}`;
    const body = statement.body(rows, { projectId, jobId, location });
    try {
      // jobs.insert with our job id, so that a retry after a lost answer gets 409 instead of a
      // second INSERT (jobs.query would not do: it deduplicates on its requestId only best-effort,
      // and never across our retries). Through the client's own authenticated request(), with the
      // body as text: createQueryJob() would convert, copy and walk every value first.
      await new Promise((resolve, reject) =>
        bigquery.request(
          { method: 'POST', uri: '/jobs', body, headers: { 'Content-Type': 'application/json' }, qs: { fields: INSERT_FIELDS } },
          (error, answer) => (error ? reject(error) : resolve(answer)),
        ),
      );
    } catch (error) {
      // 409: an earlier attempt created this job (its answer was lost); its outcome is ours.
      if (httpStatus(error) !== 409) throw writeError(error, 'jobs.insert');
    }
    // A job that failed at once is answered 200 with its status: the poll reads it like any other.
    const job = bigquery.job(jobId, { location });
    const affectedRows = await this.waitForJob(job, batchId);
    this.failedJobs.delete(batchId);
    return { affectedRows };
  }

  async applySchema(): Promise<string[]> {
    const bigquery = this.bigquery();
    const { location } = this.config.bigquery;
    const datasetRef = await this.datasetRef();
    const done: string[] = [];
    const dataset = bigquery.dataset(this.config.dataset, { location });
    const [datasetExists] = await dataset.exists();
    if (!datasetExists) {
      await bigquery.createDataset(this.config.dataset, { location }).catch((error: unknown) => {
        if (httpStatus(error) !== 409) throw error;
      });
      done.push(`created dataset ${datasetRef} in ${location}`);
    } else {
      const [metadata] = (await dataset.getMetadata()) as [{ location?: string }, unknown];
      if (metadata.location && metadata.location.toUpperCase() !== location.toUpperCase()) {
        throw new Error(
          `dataset ${datasetRef} is in ${metadata.location}, not in BIGQUERY_LOCATION=${location}: ` +
            `set BIGQUERY_LOCATION=${metadata.location}, or another BIGQUERY_DATASET (a dataset cannot move)`,
        );
      }
    }
    const days = this.config.partitionExpirationDays;
    for (const def of this.catalog.tables) {
      const table = dataset.table(def.name);
      const ref = `${datasetRef}.${def.name}`;
      const [exists] = await table.exists();
      if (!exists) {
        await this.run(withPartitionExpiration(renderSql(def.sql, datasetRef), days));
        done.push(`created table ${ref}${days ? ` (partitions kept ${days} days)` : ''}`);
        continue;
      }
      const [metadata] = (await table.getMetadata()) as [TableMetadata, unknown];
      done.push(...layoutDifferences(ref, def.sql, metadata));
      if (days !== undefined && metadata.timePartitioning && Number(metadata.timePartitioning.expirationMs) !== days * DAY_MS) {
        await this.run(`ALTER TABLE \`${ref}\` SET OPTIONS (partition_expiration_days = ${days})`);
        done.push(`set partition expiration of ${ref} to ${days} days`);
      }
      const fields: TableField[] = metadata.schema?.fields ?? [];
      const missing = def.columns.filter((c) => !fields.some((f) => f.name?.toLowerCase() === c.name.toLowerCase()));
      if (missing.length === 0) continue;
      const required = missing.find((c) => !c.nullable);
      if (required) {
        throw new Error(
          `${datasetRef}.${def.name} exists without ${required.name}: BigQuery only adds nullable columns, drop NOT NULL in sql/`,
        );
      }
      const added = missing.map((c) => ({ name: c.name, type: SCHEMA_TYPES[c.type], mode: 'NULLABLE' }));
      // The etag makes a concurrent schema change fail instead of being overwritten.
      await table.setMetadata({ schema: { fields: [...fields, ...added] }, etag: metadata.etag });
      for (const c of missing) done.push(`added column ${datasetRef}.${def.name}.${c.name}`);
    }
    for (const view of this.catalog.views) {
      const sql = renderSql(view.sql, datasetRef);
      const [exists] = await dataset.table(view.name).exists();
      if (exists) {
        const [metadata] = (await dataset.table(view.name).getMetadata()) as [TableMetadata, unknown];
        if (sameQuery(metadata.view?.query, viewQuery(sql))) continue;
      }
      await this.run(sql);
      done.push(`${exists ? 'replaced' : 'created'} view ${datasetRef}.${view.name}`);
    }
    return done;
  }

  async read<R extends object = Record<string, unknown>>(sql: string, params: QueryParams = {}): Promise<R[]> {
    return (await this.readWithStats<R>(sql, params)).rows;
  }

  async readWithStats<R extends object = Record<string, unknown>>(
    sql: string,
    params: QueryParams = {},
  ): Promise<{ rows: R[]; stats: QueryStats }> {
    assertReadOnly(sql);
    const query = renderSql(sql, await this.datasetRef());
    const hasParams = Object.keys(params).length > 0;
    const bqParams = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, v instanceof CalendarDate ? BigQuery.date(v.iso) : v]));
    // The last element is the jobs.query / getQueryResults answer, which carries totalBytesProcessed.
    const [rows, , response] = (await this.bigquery().query({
      query,
      ...(hasParams ? { params: bqParams } : {}),
      location: this.config.bigquery.location,
    })) as unknown as [Record<string, unknown>[], unknown, { totalBytesProcessed?: string } | undefined];
    const bytes = Number(response?.totalBytesProcessed);
    return {
      rows: rows.map((row) => Object.fromEntries(Object.entries(row).map(([key, value]) => [key, fromResult(value)])) as R),
      stats: Number.isFinite(bytes) && response?.totalBytesProcessed !== undefined ? { bytesProcessed: bytes } : {},
    };
  }

  /** Aborts what is still in flight: nothing of this client outlives it. */
  close(): Promise<void> {
    this.deadlines?.abortAll(new Error('BigQuery client closed'));
    this.deadlines = undefined;
    this.client = undefined;
    return Promise.resolve();
  }

  private bigquery(): BigQuery {
    if (!this.client) {
      const { projectId, location, apiEndpoint, accessToken } = this.config.bigquery;
      const options: BigQueryOptions = {
        projectId,
        location,
        apiEndpoint,
        // BatchWriter owns retries: jittered backoff, one log line per failure, a bounded number
        // of attempts. The client's own retries (3, on 429/5xx, 403 rateLimitExceeded and lost
        // connections) would multiply those attempts, hide reasons from our logs and retry
        // rate-limited INSERTs without jitter. Safe either way for inserts: a retried jobs.insert
        // answers 409, which we treat as accepted.
        autoRetry: false,
      };
      if (accessToken) {
        const auth = new OAuth2Client();
        auth.setCredentials({ access_token: accessToken });
        options.authClient = auth;
      }
      this.client = new BigQuery(options);
      // One line per request given up on; the write's own failure is logged by BatchWriter.
      this.deadlines = withDeadlines(this.client, this.config.warehouseTimeoutMs, (error) =>
        this.logger.warn({ message: 'BigQuery request timed out, aborted', request: error.request, timeoutMs: error.timeoutMs }),
      );
    }
    return this.client;
  }

  private async project(): Promise<string> {
    return (this.projectId ??= this.config.bigquery.projectId ?? (await this.bigquery().getProjectId()));
  }

  private async datasetRef(): Promise<string> {
    return `${await this.project()}.${this.config.dataset}`;
  }

  /** Runs a DDL statement to completion. */
  private async run(sql: string): Promise<void> {
    await this.bigquery().query({ query: sql, location: this.config.bigquery.location });
  }

  /**
   * Polls the job until it is DONE; returns its numDmlAffectedRows. A poll that fails transiently
   * (5xx, 429, no answer, a 404 just after creation) is polled again: the job exists or will, and
   * retrying the batch would only find it again. A job that finished failed gets a new id for the
   * next attempt.
   */
  private async waitForJob(job: Job, batchId: string): Promise<number | undefined> {
    const started = Date.now();
    const deadline = started + JOB_WAIT_MS;
    let delay = POLL_FIRST_MS;
    for (;;) {
      let metadata: JobMetadata | undefined;
      try {
        [metadata] = (await job.getMetadata({ fields: POLL_FIELDS })) as [JobMetadata, unknown];
      } catch (error) {
        if (!isTransientPollFailure(error, Date.now() - started) || Date.now() + delay > deadline) throw writeError(error, 'jobs.get');
      }
      const status = metadata?.status ?? {};
      if (status.state === 'DONE') {
        if (!status.errorResult) {
          const affected = metadata?.statistics?.query?.numDmlAffectedRows;
          return affected === undefined ? undefined : Number(affected);
        }
        this.rememberFailure(batchId);
        throw jobError(job.id!, status.errorResult);
      }
      if (Date.now() + delay > deadline) {
        throw new WarehouseWriteError(`job ${job.id} still ${status.state} after ${JOB_WAIT_MS} ms`, 'jobStillRunning', true);
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(POLL_MAX_MS, delay * 2);
    }
  }

  private rememberFailure(batchId: string): void {
    const failures = (this.failedJobs.get(batchId) ?? 0) + 1;
    this.failedJobs.delete(batchId);
    this.failedJobs.set(batchId, failures);
    if (this.failedJobs.size > MAX_REMEMBERED_BATCHES) this.failedJobs.delete(this.failedJobs.keys().next().value!);
  }
}

/** What a poll reads of a job: BigQuery answers with these alone, not the whole job, which echoes every row. */
const POLL_FIELDS = 'status,statistics/query/numDmlAffectedRows';
/** What jobs.insert answers with: its reference and status, not the whole job. */
const INSERT_FIELDS = 'jobReference,status';

interface JobMetadata {
  status?: { state?: string; errorResult?: { reason?: string; message?: string } };
  statistics?: { query?: { numDmlAffectedRows?: string } };
}

/** Result wrappers (BigQueryTimestamp, BigQueryDate, ...) as plain JS values. */
function fromResult(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || value instanceof Date || !('value' in value)) return value;
  const inner = value.value;
  return value.constructor?.name === 'BigQueryTimestamp' ? new Date(String(inner)) : inner;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Partitioning and clustering as sql/ declares them: `PARTITION BY DATE(col)`, `CLUSTER BY a, b`. */
export function declaredLayout(ddl: string): { partitionField?: string; clusterFields: string[] } {
  const partition = /\bPARTITION\s+BY\s+(?:DATE\s*\(\s*`?(\w+)`?\s*\)|`?(\w+)`?)/i.exec(ddl);
  const cluster = /\bCLUSTER\s+BY\s+([\w`\s,]+?)\s*(?:OPTIONS\b|;|$)/i.exec(ddl);
  return {
    partitionField: partition ? (partition[1] ?? partition[2]) : undefined,
    clusterFields: cluster ? cluster[1].split(',').map((f) => f.trim().replace(/`/g, '')) : [],
  };
}

/**
 * What differs between an existing table's partitioning and clustering and sql/'s, each with what
 * would fix it. Nothing is changed: repartitioning copies the table, which the operator decides.
 */
export function layoutDifferences(ref: string, ddl: string, metadata: TableMetadata): string[] {
  const want = declaredLayout(ddl);
  const hasField = metadata.timePartitioning?.field;
  const hasClustering = metadata.clustering?.fields ?? [];
  const lines: string[] = [];
  const [, , table] = ref.split('.');
  if ((want.partitionField ?? '') !== (hasField ?? '') || (want.partitionField && metadata.timePartitioning?.type !== 'DAY')) {
    const partitionBy = want.partitionField ? ` PARTITION BY DATE(${want.partitionField})` : '';
    const clusterBy = want.clusterFields.length ? ` CLUSTER BY ${want.clusterFields.join(', ')}` : '';
    lines.push(
      `warning: ${ref} is partitioned ${hasField ? `by ${metadata.timePartitioning?.type ?? 'DAY'}(${hasField})` : 'not at all'}, ` +
        `sql/ says ${want.partitionField ? `by DATE(${want.partitionField})` : 'not at all'}; nothing changed. To fix it, copy it and swap the names: ` +
        `CREATE TABLE \`${ref}_new\`${partitionBy}${clusterBy} AS SELECT * FROM \`${ref}\`; ` +
        `ALTER TABLE \`${ref}\` RENAME TO \`${table}_old\`; ALTER TABLE \`${ref}_new\` RENAME TO \`${table}\``,
    );
  } else if (want.clusterFields.join(',').toLowerCase() !== hasClustering.join(',').toLowerCase()) {
    const [project, dataset] = ref.split('.');
    lines.push(
      `warning: ${ref} is clustered by ${hasClustering.join(', ') || 'nothing'}, sql/ says ${want.clusterFields.join(', ') || 'nothing'}; ` +
        `nothing changed. To fix it (new data only; a copy as above reclusters the old): ` +
        `bq update --clustering_fields=${want.clusterFields.join(',')} ${project}:${dataset}.${table}`,
    );
  }
  return lines;
}

/** A CREATE TABLE of sql/ with partition_expiration_days added to its OPTIONS (or an OPTIONS of its own). */
export function withPartitionExpiration(ddl: string, days: number | undefined): string {
  if (days === undefined) return ddl;
  if (/\bOPTIONS\s*\(/i.test(ddl.slice(ddl.search(/\n\)/)))) {
    const at = ddl.search(/\n\)/);
    return ddl.slice(0, at) + ddl.slice(at).replace(/\bOPTIONS\s*\(/i, `OPTIONS (partition_expiration_days = ${days}, `);
  }
  return ddl.replace(/\s*;?\s*$/, `\nOPTIONS (partition_expiration_days = ${days});`);
}

/** The query of a CREATE [OR REPLACE] VIEW statement, as BigQuery stores it in the view's definition. */
export function viewQuery(ddl: string): string | undefined {
  const match =
    /CREATE\s+(?:OR\s+REPLACE\s+)?VIEW\s+(?:IF\s+NOT\s+EXISTS\s+)?`[^`]+`(?:\s*\([^)]*\))?(?:\s*OPTIONS\s*\((?:[^()']|'[^']*')*\))?\s+AS\s+([\s\S]+?)\s*;?\s*$/i.exec(
      ddl,
    );
  return match?.[1];
}

function sameQuery(a: string | undefined, b: string | undefined): boolean {
  const normalize = (s: string) => s.replace(/\s+/g, ' ').trim();
  return a !== undefined && b !== undefined && normalize(a) === normalize(b);
}
