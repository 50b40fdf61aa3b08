import type { BigQuery } from '@google-cloud/bigquery';
import { AsyncLocalStorage } from 'node:async_hooks';
import { subscribe } from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';

/** A BigQuery request that got no answer within its deadline: its socket is destroyed, and the attempt may be retried. */
export class RequestTimeoutError extends Error {
  /** What Node calls a timed-out connection, so that anything reading `code` sees a network timeout. */
  readonly code = 'ETIMEDOUT';

  constructor(
    readonly request: string,
    readonly timeoutMs: number,
  ) {
    super(`${request}: no answer within ${timeoutMs} ms (WAREHOUSE_TIMEOUT_MS), request aborted`);
  }
}

/**
 * How long BigQuery may hold a jobs.query or getQueryResults request on purpose while the query
 * runs, when the request does not say (`timeoutMs`, "By default, this limit is 10 seconds":
 * https://cloud.google.com/bigquery/docs/reference/rest/v2/jobs/query). Such a request gets it on
 * top of its deadline.
 */
export const QUERY_WAIT_MS = 10_000;

/** One request of the client, from the client's call until its callback: the sockets its deadline destroys. */
interface Call {
  readonly requests: Set<ClientRequest>;
  expired?: Error;
  /** The call needs its async context no more: its request has been sent, or it called back. */
  release(): void;
}

const calls = new AsyncLocalStorage<Call>();
/**
 * Calls whose request has been neither sent nor called back. An AsyncLocalStorage costs every
 * promise of the process a hook while it is enabled (about 2 % of the API's CPU under load,
 * measured on Node 20), so it is enabled only while a call is on its way to its socket.
 */
let open = 0;
let watching = false;

/**
 * Node publishes each client request on this channel once it is sent (when it is handed to its
 * socket), in the async context of the code that made it: that is how the ClientRequest that
 * teeny-request and node-fetch create deep inside the client is tied to the call that caused it,
 * and can be destroyed when its deadline passes.
 */
function watchRequests(): void {
  if (watching) return;
  watching = true;
  subscribe('http.client.request.start', (message) => {
    const call = calls.getStore();
    if (!call) return;
    const { request } = message as { request: ClientRequest };
    if (call.expired) request.destroy(call.expired);
    else {
      call.requests.add(request);
      request.once('close', () => call.requests.delete(request));
    }
    call.release();
  });
}

type Callback = (error: Error | null, ...rest: unknown[]) => void;
type Send = ((reqOpts: RequestOptions, optionsOrCallback?: unknown) => unknown) & Record<string, unknown>;
export interface RequestOptions {
  method?: string;
  uri: string;
  qs?: { timeoutMs?: unknown };
  json?: { timeoutMs?: unknown };
}

/**
 * Gives every request of this client a deadline: `timeoutMs` from the client's call (its token,
 * if one is fetched, included) to the answer, plus what BigQuery may hold a query request on
 * purpose. Past it, the request's socket is destroyed and the caller gets a RequestTimeoutError.
 *
 * The client's own `timeout` option cannot do it: @google-cloud/common passes it to teeny-request,
 * which passes it to node-fetch 3, which no longer has that option
 * (https://github.com/googleapis/google-cloud-node/issues/7998): nothing ever aborts.
 * A token fetch that outlives the deadline is left to the auth library, which shares it among
 * requests; only the request waiting for it gives up.
 */
export function withDeadlines(
  client: BigQuery,
  timeoutMs: number,
  onTimeout: (error: RequestTimeoutError) => void,
): { abortAll(error: Error): void } {
  watchRequests();
  const send = client.makeAuthenticatedRequest as unknown as Send;
  const inFlight = new Set<(error: Error) => void>();
  const bounded = (reqOpts: RequestOptions, optionsOrCallback?: unknown): unknown => {
    // Streams and `onAuthenticated` are not used by the adapter.
    if (typeof optionsOrCallback !== 'function') return send(reqOpts, optionsOrCallback);
    const callback = optionsOrCallback as Callback;
    let released = false;
    const call: Call = {
      requests: new Set(),
      release: () => {
        if (released) return;
        released = true;
        if (--open === 0) calls.disable();
      },
    };
    open++;
    const ms = deadlineOf(reqOpts, timeoutMs);
    let settled = false;
    const settle: Callback = (error, ...rest) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      inFlight.delete(abort);
      callback(error, ...rest);
    };
    const abort = (error: Error) => {
      call.expired = error;
      for (const request of call.requests) request.destroy(error);
      settle(error);
    };
    const timer = setTimeout(() => {
      const error = new RequestTimeoutError(describe(reqOpts), ms);
      onTimeout(error);
      abort(error);
    }, ms);
    inFlight.add(abort);
    // A call given up on before its request was sent keeps its context: that request is destroyed when it is.
    const onAnswer: Callback = (error, ...rest) => {
      call.release();
      settle(error, ...rest);
    };
    return calls.run(call, () => send(reqOpts, onAnswer));
  };
  client.makeAuthenticatedRequest = Object.assign(bounded, send) as unknown as BigQuery['makeAuthenticatedRequest'];
  return {
    abortAll: (error) => {
      for (const abort of [...inFlight]) abort(error);
    },
  };
}

/** A request's deadline: `timeoutMs`, plus what BigQuery may hold a jobs.query or getQueryResults request on purpose. */
export function deadlineOf(reqOpts: RequestOptions, timeoutMs: number): number {
  if (!/\/queries(?:\/|\?|$)/.test(reqOpts.uri)) return timeoutMs;
  const asked = Number(reqOpts.qs?.timeoutMs ?? reqOpts.json?.timeoutMs);
  return timeoutMs + (Number.isFinite(asked) && asked >= 0 ? asked : QUERY_WAIT_MS);
}

/** "POST /jobs", "GET /jobs/<id>": the request without its endpoint, project and query string. */
function describe(reqOpts: RequestOptions): string {
  const path = reqOpts.uri.replace(/^[a-z]+:\/\/[^/]+/i, '').replace(/^\/bigquery\/v2\/projects\/[^/]+/, '');
  return `${(reqOpts.method ?? 'GET').toUpperCase()} ${path.split('?')[0] || '/'}`;
}
