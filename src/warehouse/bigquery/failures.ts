import { WarehouseWriteError } from '../warehouse-sink';
import { RequestTimeoutError } from './deadlines';

/**
 * How BigQuery reports a failure, and whether the same batch is worth another attempt: the one
 * table the adapter classifies by. Reasons and wording from the documentation pages "Error
 * messages" (https://cloud.google.com/bigquery/docs/error-messages) and "Troubleshoot quota and
 * limit errors" (https://cloud.google.com/bigquery/docs/troubleshoot-quotas). A reason comes
 * either with an HTTP error on a request or as a finished job's status.errorResult.
 */
export const FAILURES: readonly { reason: string; status: number; retryable: boolean; doc: string }[] = [
  // Rate and quota limits, in every shape: retried with backoff and jitter (BatchWriter).
  {
    reason: 'rateLimitExceeded',
    status: 403,
    retryable: true,
    doc: 'a short-term limit: retry after a few seconds, with exponential backoff',
  },
  { reason: 'quotaExceeded', status: 403, retryable: true, doc: 'a longer-term limit: wait (10 minutes or more) before retrying' },
  {
    reason: 'jobRateLimitExceeded',
    status: 400,
    retryable: true,
    doc: 'the job was created successfully, but failed with a rateLimitExceeded error',
  },
  // Transient failures on BigQuery's side.
  { reason: 'backendError', status: 503, retryable: true, doc: 'the service is temporarily unavailable: retry with exponential backoff' },
  { reason: 'internalError', status: 500, retryable: true, doc: 'an internal error occurred within BigQuery: retry' },
  {
    reason: 'jobBackendError',
    status: 400,
    retryable: true,
    doc: 'the job was created successfully, but failed with an internal error: retry the job',
  },
  {
    reason: 'jobInternalError',
    status: 400,
    retryable: true,
    doc: 'the job was created successfully, but failed with an internal error: retry the job',
  },
  { reason: 'tableUnavailable', status: 400, retryable: true, doc: 'a table is temporarily unavailable: retry' },
  { reason: 'timeout', status: 400, retryable: true, doc: 'the job timed out: retry' },
  // Permanent: the same statement fails again. BatchWriter splits the batch to isolate the rows.
  { reason: 'invalidQuery', status: 400, retryable: false, doc: 'the query is invalid (or a value in it is refused)' },
  { reason: 'invalid', status: 400, retryable: false, doc: 'invalid input other than an invalid query' },
  { reason: 'badRequest', status: 400, retryable: false, doc: 'the request is malformed, e.g. over the 10 MB request size' },
  { reason: 'resourcesExceeded', status: 400, retryable: false, doc: 'the job used too many resources' },
  { reason: 'accessDenied', status: 403, retryable: false, doc: 'no permission on the dataset, table or job' },
  { reason: 'billingNotEnabled', status: 403, retryable: false, doc: 'billing is not enabled for the project' },
  { reason: 'blocked', status: 403, retryable: false, doc: 'BigQuery has blocklisted the operation' },
  { reason: 'responseTooLarge', status: 403, retryable: false, doc: 'the query result is larger than the maximum response size' },
  { reason: 'notFound', status: 404, retryable: false, doc: 'the dataset, table or job does not exist (see the jobs.get exception below)' },
  { reason: 'notImplemented', status: 501, retryable: false, doc: 'the method is not implemented' },
  { reason: 'stopped', status: 200, retryable: false, doc: 'the job was cancelled' },
];

/** "Exceeded rate limits: ..." / "Job exceeded rate limits: ...": a rate limit, whatever the reason says. */
export const RATE_LIMIT_MESSAGE = /exceeded rate limits|rate limits? (?:were |was |have been )?exceeded/i;

const BY_REASON = new Map(FAILURES.map((f) => [f.reason, f]));

/**
 * Whether a failure is worth another attempt, from what BigQuery reported: a message about rate
 * limits always is; then the reason, as the table says; then the HTTP status: 401 (an access token
 * that expired mid-flight), 408, 429 and 5xx are; other 4xx are not; no HTTP answer at all
 * (resets, lost answers, our own deadline) is.
 */
export function isRetryable(failure: { reason?: string; status?: number; message?: string }): boolean {
  if (failure.message && RATE_LIMIT_MESSAGE.test(failure.message)) return true;
  const known = failure.reason === undefined ? undefined : BY_REASON.get(failure.reason);
  if (known) return known.retryable;
  const status = failure.status;
  if (status === undefined) return true;
  return status === 401 || status === 408 || status === 429 || status >= 500;
}

/**
 * A failed jobs.get poll that says nothing about the job: retry the poll, not the batch. 404 just
 * after creation ("the job may not be visible yet"), 429, 5xx and lost answers.
 */
export function isTransientPollFailure(error: unknown, sinceCreationMs: number): boolean {
  const status = httpStatus(error);
  if (status === undefined) return true;
  if (status === 404) return sinceCreationMs < JOB_VISIBLE_AFTER_MS;
  return status === 408 || status === 429 || status >= 500;
}

/** How long a 404 on jobs.get may mean "not visible yet" rather than "no such job". */
export const JOB_VISIBLE_AFTER_MS = 30_000;

export function httpStatus(error: unknown): number | undefined {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}

/** Classifies a failed request (jobs.insert, jobs.get) by the table above. */
export function writeError(error: unknown, call: string): WarehouseWriteError {
  const status = httpStatus(error);
  const apiReason = (error as { errors?: { reason?: string }[] })?.errors?.[0]?.reason;
  const message = error instanceof Error ? error.message : String(error);
  const networkCode = (error as { code?: unknown })?.code;
  const reason =
    error instanceof RequestTimeoutError
      ? 'requestTimeout'
      : (apiReason ?? (status ? `HTTP ${status}` : typeof networkCode === 'string' ? networkCode : message.split('\n')[0]));
  return new WarehouseWriteError(`${call}: ${message}`, reason, isRetryable({ reason: apiReason, status, message }), { cause: error });
}

/** Classifies a job that finished with status.errorResult. */
export function jobError(jobId: string, errorResult: { reason?: string; message?: string }): WarehouseWriteError {
  const reason = errorResult.reason ?? 'jobFailed';
  const message = errorResult.message ?? reason;
  return new WarehouseWriteError(`job ${jobId} failed: ${message}`, reason, isRetryable({ reason, message }));
}
