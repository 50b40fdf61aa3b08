import 'reflect-metadata';
import { AppConfig } from '../src/config/app-config';
import { DashboardService } from '../src/dashboard/dashboard.service';
import { SqlCatalog } from '../src/warehouse/contracts';
import { DuckDbWarehouse } from '../src/warehouse/duckdb/duckdb.warehouse';
import { CalendarDate } from '../src/warehouse/warehouse-reader';
import { D0, D1, D2, writeDashboardFixture } from './support/dashboard-fixture';
import { tempDuckDbPath } from './support/app';

/**
 * Every range query of sql/dashboard, run on DuckDB through the dialect layer over the fixture
 * (with its earlier day D0), against numbers worked out by hand. Over the 30 days ending D2:
 *   installations: F on D0; A, B, C, D on D1; A, E on D2. Distinct over the range: 6, while the
 *   daily distinct counts sum to 1 + 4 + 2 = 7.
 *   timed durations (s): 240 | 600, 30.5, 1200, 100, 10 | 300, 45, 120: sum 2645.5, median 120.
 *   environmentsCount: 12 | 2, 3, 1, 0, 4, 2 | 1, 5, 5, 2: sum 37 over 11 sessions.
 */
const r = (x: number) => Math.round(x * 1e9) / 1e9;
const round = (rows: Record<string, unknown>[]) =>
  rows.map((row) =>
    Object.fromEntries(
      Object.entries(row).map(([k, v]) => [k, v instanceof Date ? v.toISOString().slice(0, 10) : typeof v === 'number' ? r(v) : v]),
    ),
  );
const THIRTY_DAYS = { start: '2024-04-03', end: D2 };

describe('sql/dashboard range queries on DuckDB', () => {
  const catalog = SqlCatalog.load();
  let warehouse: DuckDbWarehouse;
  const run = async (name: string, range = THIRTY_DAYS) =>
    round(
      await warehouse.read(catalog.query(name).sql, { start_date: new CalendarDate(range.start), end_date: new CalendarDate(range.end) }),
    );

  beforeAll(async () => {
    const path = tempDuckDbPath();
    await writeDashboardFixture(path, { earlierDay: true });
    warehouse = new DuckDbWarehouse(AppConfig.fromEnv({ DUCKDB_PATH: path }), catalog);
    await warehouse.open();
  });
  afterAll(() => warehouse.close());

  const TESTED: string[] = [];
  const check = (name: string, body: () => Promise<void>) => {
    TESTED.push(name);
    it(name, body);
  };

  it('has a test below for every query in sql/dashboard', () => {
    expect(catalog.queries.map((q) => q.name).sort()).toEqual([...TESTED].sort());
  });

  check('app_totals', async () => {
    expect(await run('app_totals')).toEqual([
      {
        sessions: 11,
        active_installations: 6,
        new_installations: 4,
        timed_sessions: 9,
        avg_duration_seconds: r(2645.5 / 9),
        median_duration_seconds: 120,
        avg_environments: r(37 / 11),
      },
    ]);
  });

  it('counts installations over the range, not the sum of daily counts (D1..D2: 5, daily 4 + 2)', async () => {
    const range = { start: D1, end: D2 };
    const [totals] = await run('app_totals', range);
    const days = await run('app_days', range);
    expect(days.map((d) => d.active_installations)).toEqual([4, 2]);
    expect(totals.active_installations).toBe(5);
    // The 30 days: 6 installations, daily counts summing to 7.
    const [thirty] = await run('app_totals');
    const thirtyDays = await run('app_days');
    expect(thirtyDays.reduce((sum, d) => sum + (d.active_installations as number), 0)).toBe(7);
    expect(thirty.active_installations).toBe(6);
  });

  it('gives zeros and no medians over a range without events (0, as BigQuery, not NULL)', async () => {
    const empty = { start: '2024-03-04', end: '2024-04-02' };
    expect(await run('app_totals', empty)).toEqual([
      {
        sessions: 0,
        active_installations: 0,
        new_installations: 0,
        timed_sessions: 0,
        avg_duration_seconds: null,
        median_duration_seconds: null,
        avg_environments: null,
      },
    ]);
    expect(await run('website_totals', empty)).toEqual([{ pageviews: 0, visits: 0, downloads: 0 }]);
    expect(await run('website_days', empty)).toEqual([]);
  });

  check('app_days', async () => {
    expect(await run('app_days')).toEqual([
      { day: D0, sessions: 1, active_installations: 1, new_installations: 1, avg_duration_seconds: 240, median_duration_seconds: 240 },
      { day: D1, sessions: 6, active_installations: 4, new_installations: 2, avg_duration_seconds: 388.1, median_duration_seconds: 100 },
      { day: D2, sessions: 4, active_installations: 2, new_installations: 1, avg_duration_seconds: 155, median_duration_seconds: 120 },
    ]);
  });

  check('app_version_days', async () => {
    expect(await run('app_version_days')).toEqual([
      { day: D0, version: '2.3.0', installations: 1, sessions: 1 },
      { day: D1, version: '2.3.0', installations: 1, sessions: 1 },
      { day: D1, version: '2.4.0', installations: 4, sessions: 4 },
      { day: D1, version: '2.5.0', installations: 1, sessions: 1 },
      { day: D2, version: '2.5.0', installations: 2, sessions: 4 },
    ]);
  });

  check('app_os', async () => {
    // win32: A, A, D | A, E, E; linux: F | C, C; darwin: B | E.
    expect(await run('app_os')).toEqual([
      { os: 'win32', sessions: 6, installations: 3 },
      { os: 'linux', sessions: 3, installations: 2 },
      { os: 'darwin', sessions: 2, installations: 2 },
    ]);
  });

  check('app_platforms', async () => {
    // Without app: B on D1, E's first on D2.
    expect(await run('app_platforms')).toEqual([
      { app: 'web', sessions: 5, installations: 3 },
      { app: 'desktop', sessions: 4, installations: 2 },
    ]);
  });

  check('app_countries', async () => {
    // A tie on sessions is ordered by name, in byte order as in BigQuery: 'US' before 'Unknown'.
    expect(await run('app_countries')).toEqual([
      { country: 'US', sessions: 4, installations: 2 },
      { country: 'Unknown', sessions: 4, installations: 2 },
      { country: 'DE', sessions: 2, installations: 1 },
      { country: 'FR', sessions: 1, installations: 1 },
    ]);
  });

  check('app_environments', async () => {
    expect(await run('app_environments')).toEqual([
      { environments: 0, sessions: 1, installations: 1 },
      { environments: 1, sessions: 2, installations: 2 },
      { environments: 2, sessions: 3, installations: 3 },
      { environments: 3, sessions: 1, installations: 1 },
      { environments: 4, sessions: 1, installations: 1 },
      { environments: 5, sessions: 2, installations: 1 },
      { environments: 10, sessions: 1, installations: 1 }, // F's 12
    ]);
  });

  check('website_totals', async () => {
    expect(await run('website_totals')).toEqual([{ pageviews: 7, visits: 5, downloads: 4 }]);
  });

  check('website_days', async () => {
    expect(await run('website_days')).toEqual([
      { day: D0, pageviews: 1, visits: 1, downloads: 0 },
      { day: D1, pageviews: 4, visits: 2, downloads: 3 },
      { day: D2, pageviews: 2, visits: 2, downloads: 1 },
    ]);
  });

  check('website_pages', async () => {
    expect(await run('website_pages')).toEqual([
      { path: '/', pageviews: 3 },
      { path: '/docs', pageviews: 2 },
      { path: '/blog/post', pageviews: 1 },
      { path: '/pricing', pageviews: 1 },
    ]);
  });

  check('website_entries', async () => {
    expect(await run('website_entries')).toEqual([
      { entry_page: '/', visits: 3 },
      { entry_page: '/blog/post', visits: 1 },
      { entry_page: '/docs', visits: 1 },
    ]);
  });

  check('website_referrers', async () => {
    expect(await run('website_referrers')).toEqual([
      { referrer_host: 'news.ycombinator.com', pageviews: 3 },
      { referrer_host: 'direct', pageviews: 2 },
      { referrer_host: 'duckduckgo.com', pageviews: 1 },
      { referrer_host: 'www.google.com', pageviews: 1 },
    ]);
  });

  check('website_countries', async () => {
    expect(await run('website_countries')).toEqual([
      { country: 'US', pageviews: 3 },
      { country: 'Unknown', pageviews: 2 },
      { country: 'DE', pageviews: 1 },
      { country: 'FR', pageviews: 1 },
    ]);
  });

  check('website_download_os', async () => {
    expect(await run('website_download_os')).toEqual([
      { os: 'win', downloads: 2 },
      { os: 'linux', downloads: 1 },
      { os: 'mac', downloads: 1 },
    ]);
  });

  check('website_download_referrers', async () => {
    expect(await run('website_download_referrers')).toEqual([
      { referrer_host: 'direct', downloads: 2 },
      { referrer_host: 'github.com', downloads: 1 },
      { referrer_host: 'news.ycombinator.com', downloads: 1 },
    ]);
  });

  it('DashboardService: every query over the range, the totals over the previous period, dates as YYYY-MM-DD', async () => {
    const service = new DashboardService(() => Promise.resolve(warehouse), catalog, AppConfig.fromEnv({}));
    const data = await service.load(service.resolve({ range: 'today', end: D2 }));
    expect(data.range).toEqual({
      preset: 'today',
      current: { start: D2, end: D2, days: 1 },
      previous: { start: D1, end: D1, days: 1 },
    });
    expect(Object.keys(data.results).sort()).toEqual(catalog.queries.map((q) => q.name).sort());
    expect(data.results.app_totals[0]).toMatchObject({ sessions: 4, active_installations: 2, median_duration_seconds: 120 });
    expect(data.previous.app_totals[0]).toMatchObject({ sessions: 6, active_installations: 4, median_duration_seconds: 100 });
    expect(data.previous.website_totals).toEqual([{ pageviews: 4, visits: 2, downloads: 3 }]);
    expect(data.results.app_days).toEqual([expect.objectContaining({ day: D2 })]);
    expect(data.maxAgeSeconds).toBe(0); // DuckDB: no cache
  });
});
