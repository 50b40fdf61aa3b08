import { SqlCatalog, telemetry, websiteEvents } from './contracts';
import { InsertStatement } from './bigquery/insert-statement';
import { estimateRowBytes } from './row-size';

/** The estimate against the bytes each row really takes in the jobs.insert body the BigQuery adapter sends. */
describe('estimateRowBytes', () => {
  const catalog = SqlCatalog.load();
  const ref = { projectId: 'p', jobId: 'j', location: 'US' };
  const share = (statement: InsertStatement, row: Parameters<typeof estimateRowBytes>[0]) =>
    Buffer.byteLength(statement.body([row, row], ref)) - Buffer.byteLength(statement.body([row], ref));
  const receivedAt = new Date('2024-05-01T10:00:00Z');
  const telemetryRow = (version: string) =>
    telemetry.toRow(
      {
        installationId: '6c3b6f7a-1a8e-4f4e-9d2b-1f0e8e5c2a11',
        startTime: '2024-05-01T10:00:00.000Z',
        endTime: '2024-05-01T10:42:17.250Z',
        firstSession: false,
        version,
        os: 'win32',
        environmentsCount: 1_000_000,
        app: 'desktop',
        auth: true,
        paid: null,
      },
      { receivedAt },
    );
  const text = [
    'plain',
    '',
    'é'.repeat(64),
    '😀'.repeat(16),
    '"'.repeat(64),
    '\\'.repeat(64),
    '\n\t\r\b\f',
    '\u0000\u0001\u001f',
    '\u007f\u0080\u2028\u2029',
    'lone \ud800 high',
    'lone \udc00 low',
    '\ud83d', // a high surrogate at the end
  ];

  it.each(text.map((t) => [JSON.stringify(t), t]))('is an upper bound of a telemetry row holding %s, and not 1.5× over', (_, t) => {
    const statement = new InsertStatement('p.d', catalog.table('telemetry'));
    const row = telemetryRow(t);
    expect(estimateRowBytes(row)).toBeGreaterThanOrEqual(share(statement, row));
    expect(estimateRowBytes(row)).toBeLessThan(share(statement, row) * 1.5);
  });

  it('is an upper bound of website rows, the smallest and the largest the DTOs accept', () => {
    const statement = new InsertStatement('p.d', catalog.table('website_events'));
    const rows = [
      websiteEvents.toRow({ type: 'pageview', path: '/' }, { receivedAt }),
      websiteEvents.toRow(
        {
          type: 'event',
          eventName: 'é'.repeat(64),
          eventCategory: '\\'.repeat(128),
          path: '/'.padEnd(2048, '"'),
          entryPage: '/'.padEnd(2048, '😀'),
          referrer: `https://example.com/${'%22'.repeat(676)}`,
        },
        { receivedAt, country: 'de', visitorId: '0123456789abcdef' },
      ),
    ];
    for (const row of rows) {
      expect(estimateRowBytes(row)).toBeGreaterThanOrEqual(share(statement, row));
      expect(estimateRowBytes(row)).toBeLessThan(share(statement, row) * 1.5);
    }
  });

  it('counts every value: a longer string, a larger number, a longer literal, a value for a null', () => {
    const a = telemetryRow('a');
    expect(estimateRowBytes(telemetryRow('ab'))).toBe(estimateRowBytes(a) + 1);
    expect(estimateRowBytes(telemetryRow('é'))).toBe(estimateRowBytes(a) + 1);
    expect(estimateRowBytes(telemetryRow('"'))).toBe(estimateRowBytes(a) + 1);
    expect(estimateRowBytes({ ...a, environmentsCount: 10 })).toBe(estimateRowBytes({ ...a, environmentsCount: 1 }) + 1);
    expect(estimateRowBytes({ ...a, paid: false })).toBe(estimateRowBytes({ ...a, paid: true }) + 1);
    expect(estimateRowBytes({ ...a, country: null })).toBe(estimateRowBytes({ ...a, country: 'xyz' }) - 1);
  });
});
