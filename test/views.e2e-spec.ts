import 'reflect-metadata';
import { SqlCatalog } from '../src/warehouse/contracts';
import request from 'supertest';
import { queryDuckDb, startApp, tempDuckDbPath } from './support/app';
import { appBeacon, BROWSER_UA, olderAppJson, websiteDownload, websitePageview } from './support/payloads';
import { D1, D2, writeDashboardFixture } from './support/dashboard-fixture';

/**
 * Every view read back from a DuckDB file by a fresh instance, compared with numbers worked
 * out by hand from the fixture in support/dashboard-fixture.ts. Medians are over odd counts:
 * on an even count BigQuery's APPROX_QUANTILES and DuckDB's quantile_disc may pick different
 * middle values.
 */
type Value = string | number | boolean | null;

/** Dates as YYYY-MM-DD, integers as numbers, fractions rounded so that 1/6 compares. */
function normalize(rows: Record<string, unknown>[]): Record<string, Value>[] {
  return rows.map((row) =>
    Object.fromEntries(
      Object.entries(row).map(([k, v]) => {
        if (v instanceof Date) return [k, v.toISOString().slice(0, 10)];
        if (typeof v === 'bigint') return [k, Number(v)];
        if (typeof v === 'number') return [k, Math.round(v * 1e9) / 1e9];
        return [k, v as Value];
      }),
    ),
  );
}
const r = (x: number) => Math.round(x * 1e9) / 1e9;

describe('dashboard views on DuckDB', () => {
  let path: string;
  const view = async (name: string, orderBy: string) => normalize(await queryDuckDb(path, `SELECT * FROM ${name} ORDER BY ${orderBy}`));

  beforeAll(async () => {
    path = tempDuckDbPath();
    await writeDashboardFixture(path);
  });

  it('has a test below for every view in sql/views', () => {
    expect(
      SqlCatalog.load()
        .views.map((v) => v.name)
        .sort(),
    ).toEqual([...TESTED].sort());
  });

  const TESTED: string[] = [];
  const check = (name: string, body: () => Promise<void>) => {
    TESTED.push(name);
    it(name, body);
  };

  check('website_pageviews_daily', async () => {
    expect(await view('website_pageviews_daily', 'day')).toEqual([
      { day: D1, pageviews: 4, visits: 2 },
      { day: D2, pageviews: 2, visits: 2 },
    ]);
  });

  check('website_downloads_daily', async () => {
    expect(await view('website_downloads_daily', 'day, os')).toEqual([
      { day: D1, os: 'linux', downloads: 1 },
      { day: D1, os: 'mac', downloads: 1 },
      { day: D1, os: 'win', downloads: 1 },
      { day: D2, os: 'win', downloads: 1 },
    ]);
  });

  check('website_pageviews_by_page', async () => {
    expect(await view('website_pageviews_by_page', 'day, path')).toEqual([
      { day: D1, path: '/', pageviews: 1 },
      { day: D1, path: '/docs', pageviews: 2 },
      { day: D1, path: '/pricing', pageviews: 1 },
      { day: D2, path: '/', pageviews: 1 },
      { day: D2, path: '/blog/post', pageviews: 1 },
    ]);
  });

  check('website_pageviews_by_referrer', async () => {
    expect(await view('website_pageviews_by_referrer', 'day, referrer_host')).toEqual([
      { day: D1, referrer_host: 'direct', pageviews: 1 },
      { day: D1, referrer_host: 'news.ycombinator.com', pageviews: 2 },
      { day: D1, referrer_host: 'www.google.com', pageviews: 1 },
      { day: D2, referrer_host: 'direct', pageviews: 1 },
      { day: D2, referrer_host: 'news.ycombinator.com', pageviews: 1 },
    ]);
  });

  check('website_downloads_by_referrer', async () => {
    expect(await view('website_downloads_by_referrer', 'day, referrer_host')).toEqual([
      { day: D1, referrer_host: 'direct', downloads: 1 },
      { day: D1, referrer_host: 'github.com', downloads: 1 },
      { day: D1, referrer_host: 'news.ycombinator.com', downloads: 1 },
      { day: D2, referrer_host: 'direct', downloads: 1 },
    ]);
  });

  check('website_entry_pages', async () => {
    expect(await view('website_entry_pages', 'day, entry_page')).toEqual([
      { day: D1, entry_page: '/', visits: 1 },
      { day: D1, entry_page: '/docs', visits: 1 },
      { day: D2, entry_page: '/', visits: 1 },
      { day: D2, entry_page: '/blog/post', visits: 1 },
    ]);
  });

  check('website_pageviews_by_country', async () => {
    expect(await view('website_pageviews_by_country', 'day, country')).toEqual([
      { day: D1, country: 'DE', pageviews: 1 },
      { day: D1, country: 'US', pageviews: 2 },
      { day: D1, country: 'Unknown', pageviews: 1 },
      { day: D2, country: 'US', pageviews: 1 },
      { day: D2, country: 'Unknown', pageviews: 1 },
    ]);
  });

  check('app_sessions_daily', async () => {
    // The sessions that end before they start count here.
    expect(await view('app_sessions_daily', 'day')).toEqual([
      { day: D1, sessions: 6 },
      { day: D2, sessions: 4 },
    ]);
  });

  check('app_active_installations_daily', async () => {
    expect(await view('app_active_installations_daily', 'day')).toEqual([
      { day: D1, active_installations: 4 },
      { day: D2, active_installations: 2 },
    ]);
  });

  check('app_new_installations_daily', async () => {
    expect(await view('app_new_installations_daily', 'day')).toEqual([
      { day: D1, new_installations: 2 },
      { day: D2, new_installations: 1 },
    ]);
  });

  check('app_versions_daily', async () => {
    // Day 1: A ran 2.3.0 and 2.4.0, C ran 2.4.0 and 2.5.0; the day has 4 installations.
    expect(await view('app_versions_daily', 'day, version')).toEqual([
      { day: D1, version: '2.3.0', sessions: 1, installations: 1, sessions_share: r(1 / 6), installations_share: r(1 / 4) },
      { day: D1, version: '2.4.0', sessions: 4, installations: 4, sessions_share: r(4 / 6), installations_share: 1 },
      { day: D1, version: '2.5.0', sessions: 1, installations: 1, sessions_share: r(1 / 6), installations_share: r(1 / 4) },
      { day: D2, version: '2.5.0', sessions: 4, installations: 2, sessions_share: 1, installations_share: 1 },
    ]);
  });

  check('app_sessions_by_os', async () => {
    expect(await view('app_sessions_by_os', 'day, os')).toEqual([
      { day: D1, os: 'darwin', sessions: 1 },
      { day: D1, os: 'linux', sessions: 2 },
      { day: D1, os: 'win32', sessions: 3 },
      { day: D2, os: 'darwin', sessions: 1 },
      { day: D2, os: 'win32', sessions: 3 },
    ]);
  });

  check('app_sessions_by_country', async () => {
    expect(await view('app_sessions_by_country', 'day, country')).toEqual([
      { day: D1, country: 'DE', sessions: 2 },
      { day: D1, country: 'US', sessions: 3 },
      { day: D1, country: 'Unknown', sessions: 1 },
      { day: D2, country: 'US', sessions: 1 },
      { day: D2, country: 'Unknown', sessions: 3 },
    ]);
  });

  check('app_session_duration_daily', async () => {
    // Day 1 timed: 600, 30.5, 1200, 100, 10 (B's session is left out); day 2: 300, 45, 120.
    expect(await view('app_session_duration_daily', 'day')).toEqual([
      { day: D1, timed_sessions: 5, total_duration_seconds: 1940.5, avg_duration_seconds: r(1940.5 / 5), median_duration_seconds: 100 },
      { day: D2, timed_sessions: 3, total_duration_seconds: 465, avg_duration_seconds: 155, median_duration_seconds: 120 },
    ]);
  });

  check('app_session_duration_by_version', async () => {
    expect(await view('app_session_duration_by_version', 'day, version')).toEqual([
      {
        day: D1,
        version: '2.3.0',
        timed_sessions: 1,
        total_duration_seconds: 600,
        avg_duration_seconds: 600,
        median_duration_seconds: 600,
      },
      // 30.5, 1200, 100; B's negative session is left out
      {
        day: D1,
        version: '2.4.0',
        timed_sessions: 3,
        total_duration_seconds: 1330.5,
        avg_duration_seconds: 443.5,
        median_duration_seconds: 100,
      },
      { day: D1, version: '2.5.0', timed_sessions: 1, total_duration_seconds: 10, avg_duration_seconds: 10, median_duration_seconds: 10 },
      {
        day: D2,
        version: '2.5.0',
        timed_sessions: 3,
        total_duration_seconds: 465,
        avg_duration_seconds: 155,
        median_duration_seconds: 120,
      },
    ]);
  });

  check('app_environments_daily', async () => {
    expect(await view('app_environments_daily', 'day')).toEqual([
      { day: D1, sessions: 6, total_environments: 12, avg_environments: 2 },
      { day: D2, sessions: 4, total_environments: 13, avg_environments: 3.25 },
    ]);
  });

  check('app_platform_daily', async () => {
    // Sessions without app (B on day 1, E's first on day 2) are left out.
    expect(await view('app_platform_daily', 'day, app')).toEqual([
      { day: D1, app: 'desktop', sessions: 3, installations: 2 },
      { day: D1, app: 'web', sessions: 2, installations: 1 },
      { day: D2, app: 'desktop', sessions: 1, installations: 1 },
      { day: D2, app: 'web', sessions: 2, installations: 1 },
    ]);
  });
});

describe('dashboard views over events sent to the HTTP API', () => {
  let path: string;
  let today: string;
  const view = async (name: string, orderBy: string) => normalize(await queryDuckDb(path, `SELECT * FROM ${name} ORDER BY ${orderBy}`));

  beforeAll(async () => {
    const t = await startApp();
    path = t.config.duckdbPath;
    const http = request(t.app.getHttpServer());
    today = new Date().toISOString().slice(0, 10);
    // A session that ends before it starts, from a country App Engine does not know (ZZ: null).
    const backwards = { ...appBeacon, startTime: appBeacon.endTime, endTime: appBeacon.startTime };
    await http
      .post('/events/telemetry')
      .set('Content-Type', 'text/plain;charset=UTF-8')
      .set('X-Appengine-Country', 'ZZ')
      .send(JSON.stringify(backwards))
      .expect(204);
    // 22:15:03.512 to 23:01:44.004 is 2800.492 s; no app.
    await http.post('/events/telemetry').send(olderAppJson).expect(204);
    // A full referrer URL, stored as host and path; no country.
    await http.post('/events/website').set('User-Agent', BROWSER_UA).set('X-Appengine-Country', 'ZZ').send(websitePageview).expect(204);
    // No referrer and no entryPage: direct, and a visit of its own path.
    await http
      .post('/events/website')
      .set('User-Agent', BROWSER_UA)
      .set('X-Appengine-Country', 'BR')
      .send({ type: 'pageview', eventName: null, eventCategory: null, path: '/' })
      .expect(204);
    await http.post('/events/website').set('User-Agent', BROWSER_UA).set('X-Appengine-Country', 'BR').send(websiteDownload).expect(204);
    await t.app.close();
    // A run across midnight UTC would split the rows over two days.
    expect(new Date().toISOString().slice(0, 10)).toBe(today);
  });

  it('counts both sessions, times only the one that ends after it starts', async () => {
    expect(await view('app_sessions_daily', 'day')).toEqual([{ day: today, sessions: 2 }]);
    expect(await view('app_session_duration_daily', 'day')).toEqual([
      {
        day: today,
        timed_sessions: 1,
        total_duration_seconds: 2800.492,
        avg_duration_seconds: 2800.492,
        median_duration_seconds: 2800.492,
      },
    ]);
    expect(await view('app_sessions_by_country', 'country')).toEqual([
      { day: today, country: 'FR', sessions: 1 },
      { day: today, country: 'Unknown', sessions: 1 },
    ]);
    expect(await view('app_platform_daily', 'app')).toEqual([{ day: today, app: 'desktop', sessions: 1, installations: 1 }]);
  });

  it('shows referrer hosts, direct, visits and Unknown countries', async () => {
    expect(await view('website_pageviews_daily', 'day')).toEqual([{ day: today, pageviews: 2, visits: 1 }]);
    expect(await view('website_pageviews_by_referrer', 'referrer_host')).toEqual([
      { day: today, referrer_host: 'direct', pageviews: 1 },
      { day: today, referrer_host: 'news.ycombinator.com', pageviews: 1 },
    ]);
    expect(await view('website_downloads_by_referrer', 'referrer_host')).toEqual([{ day: today, referrer_host: 'direct', downloads: 1 }]);
    expect(await view('website_pageviews_by_country', 'country')).toEqual([
      { day: today, country: 'BR', pageviews: 1 },
      { day: today, country: 'Unknown', pageviews: 1 },
    ]);
    expect(await view('website_entry_pages', 'entry_page')).toEqual([{ day: today, entry_page: '/', visits: 1 }]);
    expect(await view('website_downloads_daily', 'os')).toEqual([{ day: today, os: 'mac', downloads: 1 }]);
  });
});
