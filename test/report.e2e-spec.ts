import 'reflect-metadata';
import { join } from 'node:path';
import { main, USAGE } from '../src/cli/report';
import { tempDuckDbPath } from './support/app';
import { writeDashboardFixture } from './support/dashboard-fixture';

async function report(argv: string[], env: Record<string, string>, now: string) {
  let out = '';
  let err = '';
  const code = await main(argv, env, { out: (t) => (out += t), err: (t) => (err += t) }, new Date(now));
  return { code, out, err };
}

/** The report over the fixture of support/dashboard-fixture.ts; totals worked out by hand. */
describe('npm run report on DuckDB', () => {
  let path: string;
  beforeAll(async () => {
    path = tempDuckDbPath();
    await writeDashboardFixture(path);
  });

  it('sums the additive columns over both days and shows per-day figures per day', async () => {
    const { code, out, err } = await report(['--days', '2'], { DUCKDB_PATH: path }, '2024-05-02T12:00:00Z');
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toBe(
      `Analytics report: 2024-05-01 to 2024-05-02 (2 days, UTC), DuckDB ${path}

Website per day
  day         pageviews  visits  downloads
  ----------  ---------  ------  ---------
  2024-05-01          4       2          3
  2024-05-02          2       2          1

Downloads by OS
  os     downloads
  -----  ---------
  win            2
  linux          1
  mac            1

Top pages
  path        pageviews
  ----------  ---------
  /                   2
  /docs               2
  /blog/post          1
  /pricing            1

Top entry pages
  entry_page  visits
  ----------  ------
  /                2
  /blog/post       1
  /docs            1

Top referrers (page views)
  referrer_host         pageviews
  --------------------  ---------
  news.ycombinator.com          3
  direct                        2
  www.google.com                1

Top referrers (downloads)
  referrer_host         downloads
  --------------------  ---------
  direct                        2
  github.com                    1
  news.ycombinator.com          1

Website countries
  country  pageviews
  -------  ---------
  US               3
  Unknown          2
  DE               1

App per day
  day         sessions  active_installations  new_installations  median_seconds  avg_seconds  avg_environments
  ----------  --------  --------------------  -----------------  --------------  -----------  ----------------
  2024-05-01         6                     4                  2             100        388.1                 2
  2024-05-02         4                     2                  1             120          155              3.25

App versions (share of sessions over the range)
  version  sessions  share_pct
  -------  --------  ---------
  2.5.0           5         50
  2.4.0           4         40
  2.3.0           1         10

App sessions by OS
  os      sessions
  ------  --------
  win32          6
  darwin         2
  linux          2

App countries
  country  sessions
  -------  --------
  US              4
  Unknown         4
  DE              2

Web vs desktop
  app      sessions
  -------  --------
  desktop         4
  web             4
`,
    );
  });

  it('takes the last 30 days by default, and --days N counts today as one of the N', async () => {
    const recent = await report([], { DUCKDB_PATH: path }, '2024-05-30T23:00:00Z');
    expect(recent.out).toContain('2024-05-01 to 2024-05-30 (30 days, UTC)');
    expect(recent.out).toContain('  2024-05-01          4       2          3\n');

    const tooLate = await report([], { DUCKDB_PATH: path }, '2024-05-31T00:00:00Z');
    expect(tooLate.out).not.toContain('2024-05-01  ');
    expect(tooLate.out).toContain('  2024-05-02          2       2          1\n');

    const today = await report(['--days=1'], { DUCKDB_PATH: path }, '2024-05-02T08:00:00Z');
    expect(today.code).toBe(0);
    expect(today.out).toContain(
      'Top pages\n  path        pageviews\n  ----------  ---------\n  /                   1\n  /blog/post          1\n\n',
    );
    expect(today.out).toContain(
      'App versions (share of sessions over the range)\n  version  sessions  share_pct\n  -------  --------  ---------\n  2.5.0           4        100\n',
    );
  });

  it('says so when a range has no data', async () => {
    const { code, out } = await report(['--days', '3'], { DUCKDB_PATH: path }, '2025-01-01T00:00:00Z');
    expect(code).toBe(0);
    expect(out).toContain('Website per day\n  (no data)\n');
  });

  it('rejects an unknown flag or a stray argument with its usage (exit 2), and prints the usage for --help', async () => {
    for (const argv of [['--day', '7'], ['--days', '7', '--verbose'], ['7'], ['--days']]) {
      const { code, out, err } = await report(argv, { DUCKDB_PATH: path }, '2024-05-02T00:00:00Z');
      expect({ code, out }).toEqual({ code: 2, out: '' });
      expect(err).toMatch(
        /^report: (Unknown option|Unexpected argument|Option '--days <value>' argument missing)[^\n]*\nUsage: npm run report \[-- --days N\][^\n]*\n$/,
      );
    }
    expect(await report(['--help'], { DUCKDB_PATH: path }, '2024-05-02T00:00:00Z')).toEqual({ code: 0, out: `${USAGE}\n`, err: '' });
  });

  it('refuses a bad --days, a bad variable or a missing file in one line', async () => {
    for (const days of ['0', 'x', '1.5']) {
      const { code, err } = await report(['--days', days], { DUCKDB_PATH: path }, '2024-05-02T00:00:00Z');
      expect(code).toBe(1);
      expect(err).toBe(`report: --days must be a whole number of days from 1 to 3660, not ${days}\n`);
    }
    const bad = await report([], { DUCKDB_PATH: path, WAREHOUSE: 'sqlite' }, '2024-05-02T00:00:00Z');
    expect(bad).toMatchObject({ code: 1, out: '' });
    expect(bad.err).toMatch(/^report: Invalid configuration: WAREHOUSE="sqlite"[^\n]*\n$/);
    const two = await report([], { DUCKDB_PATH: path, WAREHOUSE: 'sqlite', BATCH_SIZE: '0' }, '2024-05-02T00:00:00Z');
    expect(two.err.split('\n')).toEqual([
      expect.stringMatching(/^report: Invalid configuration: WAREHOUSE="sqlite"/),
      expect.stringMatching(/^report: Invalid configuration: BATCH_SIZE="0"/),
      '',
    ]);
    const missing = join(path, '..', 'none.duckdb');
    const none = await report([], { DUCKDB_PATH: missing }, '2024-05-02T00:00:00Z');
    expect(none).toEqual({
      code: 1,
      out: '',
      err: `report: no DuckDB file at ${missing}: start the API or run npm run warehouse:setup first\n`,
    });
  });
});
