import { AppConfig } from '../../src/config/app-config';
import { Row, SqlCatalog } from '../../src/warehouse/contracts';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/duckdb.warehouse';

/**
 * A hand-made fixture over two days, written through the adapter's insert() (receivedAt and
 * date are server time, so the HTTP route cannot make a multi-day fixture). The numbers the
 * views must give are worked out by hand in test/views.e2e-spec.ts.
 */
export const D1 = '2024-05-01';
export const D2 = '2024-05-02';
/** An earlier day, 22 days before D2: inside a 30-day range that ends on D2, outside a 7-day one. */
export const D0 = '2024-04-10';
const at = (day: string, time: string) => new Date(`${day}T${time}Z`);

const A = '6c3b6f7a-1a8e-4f4e-9d2b-1f0e8e5c2a11';
const B = '0d9f5c1e-2b3a-4c5d-8e7f-9a0b1c2d3e4f';
const C = '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d';
const D = '2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e';
const E = '3c4d5e6f-7a8b-4c9d-0e1f-2a3b4c5d6e7f';
const F = '4d5e6f7a-8b9c-4d0e-8f2a-3b4c5d6e7f80';

function session(
  installationId: string,
  day: string,
  start: string,
  end: string,
  firstSession: boolean,
  version: string,
  os: string,
  country: string | null,
  environmentsCount: number,
  app: string | null,
  received: string,
): Row {
  return {
    installationId,
    startTime: at(day, start),
    endTime: at(day, end),
    firstSession,
    version,
    os,
    country,
    environmentsCount,
    app,
    auth: null,
    paid: null,
    receivedAt: at(day, received),
  };
}

export const TELEMETRY: Row[] = [
  // day 1: six sessions, four installations (A, B, C, D), two first sessions
  session(A, D1, '10:00:00.000', '10:10:00.000', true, '2.3.0', 'win32', 'US', 2, 'desktop', '00:00:00.000'), // 600 s
  session(A, D1, '11:00:00.000', '11:00:30.500', false, '2.4.0', 'win32', 'US', 3, 'desktop', '11:00:31.000'), // 30.5 s
  session(B, D1, '12:00:00.000', '11:59:00.000', true, '2.4.0', 'darwin', null, 1, null, '12:00:01.000'), // ends before it starts
  session(C, D1, '13:00:00.000', '13:20:00.000', false, '2.4.0', 'linux', 'DE', 0, 'web', '13:20:01.000'), // 1200 s
  session(D, D1, '14:00:00.000', '14:01:40.000', false, '2.4.0', 'win32', 'US', 4, 'desktop', '14:01:41.000'), // 100 s
  session(C, D1, '15:00:00.000', '15:00:10.000', false, '2.5.0', 'linux', 'DE', 2, 'web', '23:59:59.999'), // 10 s
  // day 2: four sessions, two installations (A, E), one first session
  session(A, D2, '09:00:00.000', '09:05:00.000', false, '2.5.0', 'win32', 'US', 1, 'desktop', '00:00:00.000'), // 300 s
  session(E, D2, '10:00:00.000', '09:00:00.000', true, '2.5.0', 'win32', null, 5, null, '10:00:01.000'), // ends before it starts
  session(E, D2, '11:00:00.000', '11:00:45.000', false, '2.5.0', 'win32', null, 5, 'web', '11:00:46.000'), // 45 s
  session(E, D2, '12:00:00.000', '12:02:00.000', false, '2.5.0', 'darwin', null, 2, 'web', '23:59:59.999'), // 120 s
];

function hit(
  day: string,
  time: string,
  type: 'pageview' | 'event',
  path: string,
  entryPage: string,
  referrer: string,
  country: string | null,
  eventName: string | null = null,
  eventCategory: string | null = null,
): Row {
  return { type, eventName, eventCategory, date: at(day, time), path, entryPage, referrer, country };
}

export const WEBSITE: Row[] = [
  hit(D1, '00:00:00.000', 'pageview', '/', '/', 'news.ycombinator.com/item', 'US'), // a visit
  hit(D1, '08:00:00.000', 'pageview', '/docs', '/', 'news.ycombinator.com/item', 'US'),
  hit(D1, '09:00:00.000', 'pageview', '/docs', '/docs', 'direct', null), // a visit, no country
  hit(D1, '10:00:00.000', 'pageview', '/pricing', '/docs', 'www.google.com/', 'DE'),
  hit(D1, '11:00:00.000', 'event', '/download', '/', 'news.ycombinator.com/item', 'US', 'download', 'win'),
  hit(D1, '12:00:00.000', 'event', '/download', '/', 'direct', null, 'download', 'mac'),
  hit(D1, '13:00:00.000', 'event', '/', '/', 'direct', 'US', 'signup', 'newsletter'), // not a download
  hit(D1, '23:59:59.999', 'event', '/download', '/download', 'github.com/org/repo', 'FR', 'download', 'Linux'),
  hit(D2, '00:00:00.000', 'pageview', '/', '/', 'direct', 'US'), // a visit
  hit(D2, '10:00:00.000', 'pageview', '/blog/post', '/blog/post', 'news.ycombinator.com/item', null), // a visit
  hit(D2, '23:59:59.999', 'event', '/download', '/', 'direct', 'US', 'download', 'win'),
];

/**
 * The earlier day D0, for the range queries of sql/dashboard (the views' test leaves it out):
 * one more installation (F, new, 240 s, 12 environments) and one more visit. Over the 30 days
 * ending D2 the timed sessions are then 9, an odd count, so the median is one input value on
 * both engines (BigQuery's APPROX_QUANTILES and DuckDB's quantile_disc may pick different
 * middle values of an even count).
 */
export const EARLIER_TELEMETRY: Row[] = [
  session(F, D0, '10:00:00.000', '10:04:00.000', true, '2.3.0', 'linux', 'FR', 12, 'web', '10:04:01.000'), // 240 s
];
export const EARLIER_WEBSITE: Row[] = [hit(D0, '12:00:00.000', 'pageview', '/', '/', 'duckduckgo.com/', 'FR')];

/** A DuckDB file at `path` with the schema, the views and the fixture rows (and D0's with `earlierDay`). */
export async function writeDashboardFixture(path: string, { earlierDay = false } = {}): Promise<void> {
  const catalog = SqlCatalog.load();
  const warehouse = new DuckDbWarehouse(AppConfig.fromEnv({ DUCKDB_PATH: path }), catalog);
  try {
    await warehouse.applySchema();
    await warehouse.write(catalog.table('telemetry'), earlierDay ? [...EARLIER_TELEMETRY, ...TELEMETRY] : TELEMETRY);
    await warehouse.write(catalog.table('website_events'), earlierDay ? [...EARLIER_WEBSITE, ...WEBSITE] : WEBSITE);
  } finally {
    await warehouse.close();
  }
}
