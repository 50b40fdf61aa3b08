// Before anything can load the client: no metadata server probe, and no traffic off loopback.
process.env.METADATA_SERVER_DETECTION = 'none';
import * as guard from './loopback-guard';
import { BigQuery, Job } from '@google-cloud/bigquery';
import { OAuth2Client } from 'google-auth-library';
import { ACCESS_TOKEN, PROJECT, tableRef } from './env';
import { DML_LIMIT, DML_WINDOW_MS, FakeBigQuery, MAX_PENDING_INSERTS, MAX_REQUEST_BYTES, MAX_RUNNING_INSERTS } from './fake-bigquery';

/**
 * The fake itself, through the real client library: each behaviour BigQuery documents is produced
 * the way BigQuery reports it. (How the app copes with them is tested elsewhere.)
 */

const TABLE = tableRef('events');
const SQL = `INSERT INTO \`${TABLE}\` (\`name\`, \`at\`) SELECT s.\`name\`, s.\`at\` FROM UNNEST(@rows) AS s`;

interface ApiError extends Error {
  code?: number | string;
  errors?: { reason?: string; message?: string }[];
  response?: { status?: { state?: string; errorResult?: { reason?: string; message?: string } } };
}

interface JobMetadata {
  status: { state: string; errorResult?: { reason: string; message: string } };
  statistics: { query?: { numDmlAffectedRows?: string } };
}

let fake: FakeBigQuery;
let bq: BigQuery;
let jobs = 0;

function client(f: FakeBigQuery): BigQuery {
  const authClient = new OAuth2Client();
  authClient.setCredentials({ access_token: ACCESS_TOKEN });
  return new BigQuery({ projectId: PROJECT, apiEndpoint: f.url, authClient, autoRetry: false, location: 'US' });
}

function insert(rows: { name: string; at?: Date | null }[], jobId = `job_${++jobs}`): Promise<Job> {
  return bq
    .createQueryJob({
      query: SQL,
      params: { rows: rows.map((r) => ({ name: r.name, at: r.at ? BigQuery.timestamp(r.at) : null })) },
      types: { rows: [{ name: 'STRING', at: 'TIMESTAMP' }] },
      jobId,
      location: 'US',
    })
    .then(([job]) => job);
}

/** The error a call rejected with (fails the test if it did not reject). */
async function rejection(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (error) {
    return error as ApiError;
  }
  throw new Error('expected a rejection');
}

const metadata = async (jobId: string) => (await bq.job(jobId, { location: 'US' }).getMetadata())[0] as JobMetadata;
const names = () => fake.rows(TABLE).map((r) => r.name);

beforeEach(async () => {
  fake = await new FakeBigQuery().start();
  fake.seedTable(TABLE, [
    { name: 'name', type: 'STRING', mode: 'REQUIRED' },
    { name: 'at', type: 'TIMESTAMP', mode: 'NULLABLE' },
  ]);
  bq = client(fake);
});

afterEach(() => fake.stop());

afterAll(() => expect(guard.violations()).toEqual([]));

describe('the per-table DML rate limit (25 INSERTs per 10 s), as each report shape', () => {
  /** Fills the window on a clock that stands still. */
  async function fillWindow(): Promise<number> {
    const t0 = Date.now();
    fake.now = () => t0;
    for (let i = 0; i < DML_LIMIT; i++) await insert([{ name: `ok${i}` }]);
    return t0;
  }

  it('by default: HTTP 403 rateLimitExceeded on jobs.insert, and no job is created', async () => {
    await fillWindow();
    const error = await rejection(insert([{ name: 'late' }], 'late'));
    expect(error.code).toBe(403);
    expect(error.errors?.[0]).toMatchObject({
      reason: 'rateLimitExceeded',
      message: expect.stringMatching(/^Exceeded rate limits: too many table dml insert operations for this table/),
    });
    expect((await rejection(metadata('late'))).code).toBe(404);
    expect(names()).toHaveLength(DML_LIMIT);
  });

  it('jobRateLimitExceeded: the job is created, then finishes failed', async () => {
    fake.dmlRateLimitAs = 'jobRateLimitExceeded';
    await fillWindow();
    const error = await rejection(insert([{ name: 'late' }], 'late'));
    expect(error.errors?.[0]?.reason).toBe('jobRateLimitExceeded');
    const job = await metadata('late');
    expect(job.status).toMatchObject({ state: 'DONE', errorResult: { reason: 'jobRateLimitExceeded' } });
    expect(job.status.errorResult!.message).toMatch(/^Job exceeded rate limits:/);
    expect((await rejection(insert([{ name: 'again' }], 'late'))).code).toBe(409); // the id is spent
    expect(names()).not.toContain('late');
  });

  it('failedJob: a created job that failed with rateLimitExceeded and "Exceeded rate limits: too many table dml insert operations"', async () => {
    fake.dmlRateLimitAs = 'failedJob';
    const t0 = await fillWindow();
    await rejection(insert([{ name: 'late' }], 'late'));
    expect((await metadata('late')).status).toMatchObject({
      state: 'DONE',
      errorResult: {
        reason: 'rateLimitExceeded',
        message: expect.stringMatching(/^Exceeded rate limits: too many table dml insert operations for this table/),
      },
    });
    // One window later the table takes INSERTs again.
    fake.now = () => t0 + DML_WINDOW_MS;
    await insert([{ name: 'next window' }]);
    expect(names()).toContain('next window');
    expect(fake.counters.dmlRateLimited).toBe(1);
  });
});

describe('PENDING INSERTs past the daily count', () => {
  let clock: number;
  beforeEach(() => {
    clock = Date.now();
    fake.now = () => clock;
    fake.jobRunMs = 1000;
  });

  it('runs the first INSERTs of the day at once, then 10 at a time per table, queues 100 and refuses more', async () => {
    fake.queueInsertsAfter = 3; // BigQuery: DOCUMENTED_INSERTS_PER_DAY (1,500); a test starts near it
    let submitted = 0;
    const spread = async (n: number) => {
      // 25 per 10 s is still the rate limit: spread the submissions on the fake clock.
      for (let i = 0; i < n; i++) {
        clock += DML_WINDOW_MS / DML_LIMIT + 1;
        submitted++;
        await insert([{ name: `row${submitted}` }], `q${submitted}`);
      }
    };
    // Runs of 1 s each, submitted 0.4 s apart: never more than 3 run at once, nothing waits.
    await spread(3);
    expect(fake.counters.queued).toBe(0);
    // Past the daily count, with jobs that never finish (the clock stops): 10 run, then they queue.
    fake.jobRunMs = 10 * DML_WINDOW_MS * MAX_PENDING_INSERTS;
    await spread(MAX_RUNNING_INSERTS + MAX_PENDING_INSERTS);
    expect(fake.insertJobs(TABLE)).toEqual({ RUNNING: MAX_RUNNING_INSERTS, PENDING: MAX_PENDING_INSERTS });
    const pending = await metadata(`q${submitted}`);
    expect(pending.status).toEqual({ state: 'PENDING' });
    expect(pending.statistics.query).toBeUndefined();
    const full = await rejection(insert([{ name: 'one too many' }], 'full'));
    expect(full.errors?.[0]?.reason).toBe('quotaExceeded');
    expect((await metadata('full')).status.errorResult?.message).toMatch(
      /Too many DML statements outstanding against table .*limit is 100/,
    );
    expect(names()).not.toContain('one too many');
  });

  it('starts a queued INSERT, oldest first, when a running one completes; its rows land then', async () => {
    fake.queueInsertsAfter = 0; // already past the day's count
    for (let i = 0; i < MAX_RUNNING_INSERTS + 2; i++) await insert([{ name: `r${i}` }], `p${i}`);
    expect(fake.insertJobs(TABLE)).toEqual({ RUNNING: MAX_RUNNING_INSERTS, PENDING: 2 });
    expect(names()).toHaveLength(MAX_RUNNING_INSERTS);
    expect((await metadata('p10')).status.state).toBe('PENDING');
    clock += 1000; // the running ten complete
    expect((await metadata('p0')).status.state).toBe('DONE');
    expect((await metadata('p10')).status.state).toBe('RUNNING');
    expect(names()).toEqual(Array.from({ length: MAX_RUNNING_INSERTS + 2 }, (_, i) => `r${i}`));
    clock += 1000;
    expect(await metadata('p11')).toMatchObject({ status: { state: 'DONE' }, statistics: { query: { numDmlAffectedRows: '1' } } });
  });
});

describe('the 10 MB request limit', () => {
  const rowsOf = (bytes: number) => Array.from({ length: Math.ceil(bytes / (1 << 20)) }, (_, i) => ({ name: `${i}`.padEnd(1 << 20, 'x') }));

  it('refuses a larger request with HTTP 400 "Request payload size exceeds the limit", before any job exists', async () => {
    const error = await rejection(insert(rowsOf(MAX_REQUEST_BYTES + 1), 'big'));
    expect(error.code).toBe(400);
    expect(error.message).toMatch(/^Request payload size exceeds the limit: 10485760 bytes\./);
    expect((await rejection(metadata('big'))).code).toBe(404);
    expect(fake.counters.tooLarge).toBe(1);
    expect(names()).toHaveLength(0);
  });

  it('takes a request just under it', async () => {
    await insert(rowsOf(MAX_REQUEST_BYTES - (1 << 20)));
    expect(names()).toHaveLength(9);
  });
});

describe('all or nothing: one refused value fails the whole statement with invalidQuery', () => {
  it.each([
    ['year 0', new Date('0000-12-31T23:59:59.999Z')],
    ['after 9999-12-31 UTC', new Date('9999-12-31T23:00:00-05:00')],
  ])('a TIMESTAMP out of range (%s)', async (_, at) => {
    const error = await rejection(
      insert(
        [
          { name: 'good', at: new Date() },
          { name: 'bad', at },
        ],
        'ts',
      ),
    );
    expect(error.errors?.[0]?.reason).toBe('invalidQuery');
    expect((await metadata('ts')).status.errorResult).toMatchObject({
      reason: 'invalidQuery',
      message: expect.stringMatching(/out of allowed range/),
    });
    expect(names()).toEqual([]);
  });

  it('takes the ends of the TIMESTAMP range', async () => {
    await insert([
      { name: 'first', at: new Date('0001-01-01T00:00:00.000Z') },
      { name: 'last', at: new Date('9999-12-31T23:59:59.999Z') },
    ]);
    expect(fake.rows(TABLE).map((r) => (r.at as Date).toISOString())).toEqual(['0001-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z']);
  });

  it('a value the badValue predicate refuses; the same rows without it go in', async () => {
    fake.badValue = (column, value) => column === 'name' && value === 'bad';
    const error = await rejection(insert([{ name: 'a' }, { name: 'bad' }, { name: 'b' }], 'mixed'));
    expect(error.errors?.[0]?.reason).toBe('invalidQuery');
    expect(names()).toEqual([]);
    await insert([{ name: 'a' }, { name: 'b' }]);
    expect(names()).toEqual(['a', 'b']);
    expect(fake.counters.badStatements).toBe(1);
  });
});

describe('statistics.query.numDmlAffectedRows', () => {
  it('reports the rows a finished INSERT inserted', async () => {
    await insert([{ name: 'a' }, { name: 'b' }, { name: 'c' }], 'three');
    expect((await metadata('three')).statistics.query?.numDmlAffectedRows).toBe('3');
  });

  it('can be switched to report a wrong count', async () => {
    fake.reportAffectedRows = (n) => n - 1;
    await insert([{ name: 'a' }, { name: 'b' }, { name: 'c' }], 'three');
    expect((await metadata('three')).statistics.query?.numDmlAffectedRows).toBe('2');
    expect(names()).toHaveLength(3);
  });
});

describe('transient jobs.get failures', () => {
  it('404 for the first polls just after creation, then the job', async () => {
    fake.jobsGetNotFoundFirst = 2;
    await insert([{ name: 'a' }], 'fresh');
    expect((await rejection(metadata('fresh'))).code).toBe(404);
    expect((await rejection(metadata('fresh'))).code).toBe(404);
    expect((await metadata('fresh')).status.state).toBe('DONE');
    expect(names()).toEqual(['a']);
  });

  it('a 5xx, then the job', async () => {
    await insert([{ name: 'a' }], 'j');
    fake.inject({ route: 'jobs.get', mode: 'status', status: 503, times: 1 });
    expect((await rejection(metadata('j'))).code).toBe(503);
    expect((await metadata('j')).status.state).toBe('DONE');
  });

  it('a lost answer (connection cut), then the job', async () => {
    await insert([{ name: 'a' }], 'j');
    fake.inject({ route: 'jobs.get', mode: 'lose', times: 1 });
    const error = await rejection(metadata('j'));
    expect(error.code).toBe('ECONNRESET'); // no HTTP answer at all
    expect((await metadata('j')).status.state).toBe('DONE');
    expect(names()).toEqual(['a']);
  });
});

describe('signals for tests', () => {
  it('holds a route until released, and tells when a request was answered', async () => {
    const gate = fake.hold('jobs.insert');
    const answered = fake.nextAnswer('jobs.insert');
    const job = insert([{ name: 'a' }]);
    await gate.arrived();
    expect(gate.waiting()).toBe(1);
    expect(names()).toEqual([]);
    gate.release();
    expect((await answered).status).toBe(200);
    await job;
    expect(names()).toEqual(['a']);
  });
});

describe('requests that are never answered', () => {
  /** A jobs.insert for one row, as the client sends it, that the test can abort (the client cannot). */
  function abortableInsert(jobId: string, signal: AbortSignal): Promise<unknown> {
    const body = {
      jobReference: { projectId: PROJECT, jobId, location: 'US' },
      configuration: {
        query: {
          query: SQL,
          useLegacySql: false,
          parameterMode: 'named',
          queryParameters: [
            {
              name: 'rows',
              parameterType: {
                type: 'ARRAY',
                arrayType: {
                  type: 'STRUCT',
                  structTypes: [
                    { name: 'name', type: { type: 'STRING' } },
                    { name: 'at', type: { type: 'TIMESTAMP' } },
                  ],
                },
              },
              parameterValue: { arrayValues: [{ structValues: { name: { value: 'hung' }, at: { value: null } } }] },
            },
          ],
        },
      },
    };
    return fetch(`${fake.url}/bigquery/v2/projects/${PROJECT}/jobs`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${ACCESS_TOKEN}` },
      body: JSON.stringify(body),
      signal,
    }).catch((error: unknown) => error);
  }

  it.each([
    ['hang', 'nothing is done', [], 200],
    ['hang-after-work', 'the job is created and runs', ['hung'], 409],
  ] as const)('%s: %s, the request stays open until the client aborts it', async (mode, _, stored, retryStatus) => {
    fake.inject({ route: 'jobs.insert', mode, times: 1 });
    const hang = fake.nextHang('jobs.insert');
    const abort = new AbortController();
    const request = abortableInsert('hung_job', abort.signal);
    const hung = await hang;
    expect(hung.seen.body.jobReference.jobId).toBe('hung_job');
    expect(names()).toEqual(stored);
    expect(fake.counters).toMatchObject({ hung: 1, hungClosed: 0 });
    abort.abort();
    expect(await hung.closed).toBeGreaterThanOrEqual(hung.arrivedAt);
    expect(await request).toMatchObject({ name: 'AbortError' });
    expect(fake.counters.hungClosed).toBe(1);
    // The next request is answered: the same job id is new (hang) or taken (hang-after-work).
    const retried = fake.nextAnswer('jobs.insert');
    await insert([{ name: 'hung' }], 'hung_job').catch(() => undefined);
    expect((await retried).status).toBe(retryStatus);
    expect(names()).toEqual(['hung']);
  });

  it('hangs jobs.get too; the job is there for the next poll', async () => {
    await insert([{ name: 'a' }], 'polled');
    fake.inject({ route: 'jobs.get', mode: 'hang', times: 1 });
    const hang = fake.nextHang('jobs.get');
    const abort = new AbortController();
    const poll = fetch(`${fake.url}/bigquery/v2/projects/${PROJECT}/jobs/polled?location=US`, { signal: abort.signal }).catch(
      (e: unknown) => e,
    );
    await hang;
    abort.abort();
    await poll;
    expect((await metadata('polled')).status.state).toBe('DONE');
  });
});

describe('partial responses (the fields parameter)', () => {
  it('trims a jobs.get answer to the fields named, nested by "/"', async () => {
    await insert([{ name: 'a' }, { name: 'b' }], 'trimmed');
    const [job] = await bq.job('trimmed', { location: 'US' }).getMetadata({ fields: 'status,statistics/query/numDmlAffectedRows' });
    expect(job).toEqual({ status: { state: 'DONE' }, statistics: { query: { numDmlAffectedRows: '2' } } });
  });

  it('trims a jobs.insert answer, and selects sub-fields in parentheses', async () => {
    const answer = await new Promise((resolve, reject) =>
      bq.request(
        {
          method: 'POST',
          uri: '/jobs',
          json: {
            jobReference: { projectId: PROJECT, jobId: 'trimmed_insert', location: 'US' },
            configuration: { query: { query: `SELECT * FROM \`${TABLE}\``, useLegacySql: false } },
          },
          qs: { fields: 'jobReference(jobId,location),status/state' },
        },
        (error, body) => (error ? reject(error) : resolve(body)),
      ),
    );
    expect(answer).toEqual({ jobReference: { jobId: 'trimmed_insert', location: 'US' }, status: { state: 'DONE' } });
  });

  it('answers 400 for a field the resource does not have, as BigQuery does', async () => {
    await insert([{ name: 'a' }], 'typo');
    const error = await rejection(bq.job('typo', { location: 'US' }).getMetadata({ fields: 'stauts' }));
    expect(error.code).toBe(400);
  });
});
