// Before anything can load the client: no metadata server probe, and no traffic off loopback.
process.env.METADATA_SERVER_DETECTION = 'none';
import * as guard from './fake-bigquery/loopback-guard';
import { BigQuery } from '@google-cloud/bigquery';
import { OAuth2Client } from 'google-auth-library';
import { AppConfig } from '../src/config/app-config';
import { Row, SqlCatalog, TableDef, telemetry, websiteEvents } from '../src/warehouse/contracts';
import { BigQueryWarehouse } from '../src/warehouse/bigquery/bigquery.warehouse';
import { InsertStatement } from '../src/warehouse/bigquery/insert-statement';
import { ACCESS_TOKEN, bigQueryEnv, DATASET, PROJECT, tableRef } from './fake-bigquery/env';
import { FakeBigQuery, SeenRequest } from './fake-bigquery/fake-bigquery';

/**
 * The adapter writes its jobs.insert body itself (InsertStatement) rather than through
 * createQueryJob(): the client's own encoder, fed the same rows the way the adapter used to feed
 * it, is the reference. Same parameter, same SQL, the same rows stored; and BigQuery answers only
 * what the adapter reads.
 */
describe('The INSERT request on the wire (e2e)', () => {
  let fake: FakeBigQuery;
  let warehouse: BigQueryWarehouse;
  let client: BigQuery;
  const catalog = SqlCatalog.load();

  beforeAll(async () => {
    fake = await new FakeBigQuery().start();
    warehouse = new BigQueryWarehouse(AppConfig.fromEnv(bigQueryEnv(fake)), catalog);
    await warehouse.applySchema();
    const authClient = new OAuth2Client();
    authClient.setCredentials({ access_token: ACCESS_TOKEN });
    client = new BigQuery({ projectId: PROJECT, apiEndpoint: fake.url, authClient, autoRetry: false, location: 'US' });
  });
  afterAll(async () => {
    await warehouse.close();
    await fake.stop();
    expect(guard.violations()).toEqual([]);
  });

  /** The adapter's former encoding, through the client: Date as BigQuery.timestamp / BigQuery.date, typed from sql/. */
  async function throughClient(table: TableDef, rows: readonly Row[], jobId: string): Promise<void> {
    const params = {
      rows: rows.map((row) =>
        Object.fromEntries(
          table.columns.map((c) => {
            const value = row[c.name];
            if (value === null || value === undefined) return [c.name, null];
            if (value instanceof Date)
              return [c.name, c.type === 'DATE' ? BigQuery.date(value.toISOString().slice(0, 10)) : BigQuery.timestamp(value)];
            return [c.name, value];
          }),
        ),
      ),
    };
    const types = { rows: [Object.fromEntries(table.columns.map((c) => [c.name, c.type]))] };
    await client.createQueryJob({ query: new InsertStatement(`${PROJECT}.${DATASET}`, table).sql, params, types, jobId, location: 'US' });
  }

  const insertOf = (jobId: string): SeenRequest =>
    fake.requests.find((r) => r.route === 'jobs.insert' && r.body.jobReference.jobId.includes(jobId))!;

  async function compare(table: TableDef, rows: readonly Row[], name: string): Promise<void> {
    const ref = tableRef(table.name);
    const before = fake.rows(ref).length;
    await throughClient(table, rows, `client_${name}`);
    const stored = fake.rows(ref).slice(before);
    await warehouse.write(table, rows, name);
    const ours = insertOf(`_${name}_0`).body;
    const theirs = insertOf(`client_${name}`).body;
    const theirQuery = { ...theirs.configuration.query };
    delete theirQuery.types; // the client also sends its `types` option, which is no API field
    expect(ours.configuration.query).toEqual(theirQuery);
    expect(ours.jobReference).toEqual({ ...theirs.jobReference, jobId: `ingest_${table.name}_${name}_0` });
    expect(fake.rows(ref).slice(before + rows.length)).toEqual(stored);
    expect(stored).toHaveLength(rows.length);
  }

  it('telemetry: every type, nulls, the ends of the TIMESTAMP range, and text that JSON has to escape', async () => {
    const at = (iso: string) => new Date(iso);
    const rows = [
      telemetry.toRow(
        {
          installationId: '6C3B6F7A-1A8E-4F4E-9D2B-1F0E8E5C2A11',
          startTime: '0001-01-01T00:00:00Z',
          endTime: '9999-12-31T23:59:59.999Z',
          firstSession: true,
          version: 'v"quoted" \\ back\nslash\t\u0001\u007f\u2028 é 😀 \ud800',
          os: 'pageview',
          environmentsCount: 1_000_000,
          country: null,
          app: 'web',
          auth: false,
          paid: null,
        },
        { receivedAt: at('2024-05-01T10:00:00.123Z'), country: 'de' },
      ),
      telemetry.toRow({ ...baseTelemetry, environmentsCount: 0 }, { receivedAt: at('1970-01-01T00:00:00Z') }),
      telemetry.toRow({ ...baseTelemetry, environmentsCount: -1, app: undefined }, { receivedAt: at('2024-02-29T23:59:59.999Z') }),
    ];
    await compare(catalog.table('telemetry'), rows, 'telemetry_types');
  });

  it('website events: at every DTO limit, and the smallest page view', async () => {
    const receivedAt = new Date('2024-05-01T10:00:00Z');
    const rows = [
      websiteEvents.toRow(
        {
          type: 'event',
          eventName: 'é'.repeat(64),
          eventCategory: '\\'.repeat(128),
          path: '/'.padEnd(2048, '"'),
          entryPage: '/'.padEnd(2048, '\\'),
          referrer: `https://example.com/${'%22'.repeat(676)}`,
        },
        { receivedAt, country: 'br', visitorId: '0123456789abcdef' },
      ),
      websiteEvents.toRow({ type: 'pageview', path: '/' }, { receivedAt }),
    ];
    await compare(catalog.table('website_events'), rows, 'website_limits');
  });

  it('asks BigQuery for the few fields it reads: small answers, whatever the batch size', async () => {
    const table = catalog.table('telemetry');
    const rows = Array.from({ length: 500 }, (_, i) =>
      telemetry.toRow({ ...baseTelemetry, version: `v${i}` }, { receivedAt: new Date('2024-05-01T10:00:00Z') }),
    );
    await warehouse.write(table, rows, 'trimmed');
    const insert = insertOf('_trimmed_0');
    const poll = fake.requests.find((r) => r.route === 'jobs.get' && r.path.endsWith('_trimmed_0'))!;
    expect(new URLSearchParams(insert.search).get('fields')).toBe('jobReference,status');
    expect(new URLSearchParams(poll.search).get('fields')).toBe('status,statistics/query/numDmlAffectedRows');
    expect(insert.bytes).toBeGreaterThan(100_000);
    expect(insert.answerBytes).toBeLessThan(300);
    expect(poll.answerBytes).toBeLessThan(300);
  });
});

const baseTelemetry = {
  installationId: '6c3b6f7a-1a8e-4f4e-9d2b-1f0e8e5c2a11',
  startTime: '2024-05-01T10:00:00.000Z',
  endTime: '2024-05-01T10:42:17.250Z',
  firstSession: false,
  version: '2.4.0',
  os: 'win32',
  environmentsCount: 3,
};
