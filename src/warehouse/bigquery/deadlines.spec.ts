import { deadlineOf, QUERY_WAIT_MS } from './deadlines';

describe('deadlineOf', () => {
  const base = 'https://bigquery.googleapis.com/bigquery/v2/projects/p';

  it('is the timeout for a request BigQuery answers at once', () => {
    expect(deadlineOf({ method: 'POST', uri: `${base}/jobs` }, 500)).toBe(500);
    expect(deadlineOf({ uri: `${base}/jobs/ingest_x_0` }, 500)).toBe(500);
    expect(deadlineOf({ uri: `${base}/datasets/analytics/tables/telemetry` }, 500)).toBe(500);
  });

  it('adds what BigQuery may hold a query request on purpose: 10 s by default, or the timeoutMs it asks for', () => {
    expect(deadlineOf({ method: 'POST', uri: `${base}/queries` }, 500)).toBe(500 + QUERY_WAIT_MS);
    expect(deadlineOf({ uri: `${base}/queries/job_1` }, 500)).toBe(500 + QUERY_WAIT_MS);
    expect(deadlineOf({ uri: `${base}/queries/job_1`, qs: { timeoutMs: 2000 } }, 500)).toBe(2500);
    expect(deadlineOf({ method: 'POST', uri: `${base}/queries`, json: { timeoutMs: 0 } }, 500)).toBe(500);
    expect(QUERY_WAIT_MS).toBe(10_000);
  });
});
