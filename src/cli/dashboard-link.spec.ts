import { SqlCatalog } from '../warehouse/contracts';
import { dashboardLinkUrl, lookerSql, main, rangeDependent, USAGE } from './dashboard-link';

const catalog = SqlCatalog.load();

describe('dashboardLinkUrl', () => {
  it('copies the template and has one BigQuery TABLE source per view, aliased by the view name, fields kept', () => {
    const url = new URL(
      dashboardLinkUrl({
        projectId: 'my-proj-1',
        dataset: 'analytics',
        views: ['app_sessions_daily', 'website_entry_pages'],
        templateReportId: 'tpl-9',
      }),
    );
    expect(url.origin + url.pathname).toBe('https://lookerstudio.google.com/reporting/create');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      'c.reportId': 'tpl-9',
      'r.reportName': 'Analytics (analytics)',
      'ds.app_sessions_daily.connector': 'bigQuery',
      'ds.app_sessions_daily.type': 'TABLE',
      'ds.app_sessions_daily.projectId': 'my-proj-1',
      'ds.app_sessions_daily.datasetId': 'analytics',
      'ds.app_sessions_daily.tableId': 'app_sessions_daily',
      'ds.app_sessions_daily.datasourceName': 'app_sessions_daily',
      'ds.app_sessions_daily.refreshFields': 'false',
      'ds.website_entry_pages.connector': 'bigQuery',
      'ds.website_entry_pages.type': 'TABLE',
      'ds.website_entry_pages.projectId': 'my-proj-1',
      'ds.website_entry_pages.datasetId': 'analytics',
      'ds.website_entry_pages.tableId': 'website_entry_pages',
      'ds.website_entry_pages.datasourceName': 'website_entry_pages',
      'ds.website_entry_pages.refreshFields': 'false',
    });
  });

  it('bills another project when asked, encodes the report name and can ask Looker Studio to explain the link', () => {
    const url = new URL(
      dashboardLinkUrl({
        projectId: 'data-proj',
        dataset: 'd',
        views: ['v'],
        queries: [catalog.query('app_totals')],
        templateReportId: 'abc-123',
        reportName: 'A & B',
        billingProjectId: 'bill-proj',
        explain: true,
      }),
    );
    expect(url.search).toMatch(/^\?c\.reportId=abc-123&c\.explain=true&r\.reportName=A\+%26\+B&/);
    expect(url.searchParams.get('ds.v.billingProjectId')).toBe('bill-proj');
    expect(url.searchParams.get('ds.v.projectId')).toBe('data-proj');
    expect(url.searchParams.get('ds.app_totals.type')).toBe('CUSTOM_QUERY');
    expect(url.searchParams.get('ds.app_totals.projectId')).toBe('bill-proj');
    expect(url.searchParams.get('ds.app_totals.sql')).toContain('FROM `data-proj.d.telemetry`');
  });
});

describe('range-dependent custom queries', () => {
  it('are the sql/dashboard queries with a distinct count or median over the whole range', () => {
    expect(
      catalog.queries
        .filter(rangeDependent)
        .map((q) => q.name)
        .sort(),
    ).toEqual(['app_countries', 'app_environments', 'app_os', 'app_platforms', 'app_totals']);
  });

  it("take the range from Looker Studio's date parameters, without comments", () => {
    const sql = lookerSql(catalog.query('app_totals'), 'p.d');
    expect(sql).toMatch(/^SELECT COUNT\(\*\) AS sessions, COUNT\(DISTINCT installationId\)/);
    expect(sql).toContain("WHERE DATE(receivedAt) BETWEEN PARSE_DATE('%Y%m%d', @DS_START_DATE) AND PARSE_DATE('%Y%m%d', @DS_END_DATE)");
    expect(sql).not.toMatch(/--|@start_date|@end_date|\n|\{\{dataset\}\}/);
  });
});

describe('dashboard:link main', () => {
  it('links every view and range-dependent query for the configured project and dataset', () => {
    const { code, out } = main(['--template', 'tpl-1'], { BIGQUERY_PROJECT: 'acme-analytics', BIGQUERY_DATASET: 'prod_events' });
    expect(code).toBe(0);
    const params = new URL(out).searchParams;
    expect(params.get('c.reportId')).toBe('tpl-1');
    expect(catalog.views.length).toBeGreaterThan(0);
    for (const { name } of catalog.views) {
      expect(params.get(`ds.${name}.tableId`)).toBe(name);
      expect(params.get(`ds.${name}.projectId`)).toBe('acme-analytics');
      expect(params.get(`ds.${name}.datasetId`)).toBe('prod_events');
    }
    expect(params.get('ds.app_totals.sql')).toContain('`acme-analytics.prod_events.telemetry`');
    expect(params.get('ds.website_totals.type')).toBeNull(); // additive: the views cover it
    // Aliases, views and queries together, never collide.
    const aliases = [...new Set([...params.keys()].filter((k) => k.startsWith('ds.')).map((k) => k.split('.')[1]))];
    expect(aliases).toHaveLength(catalog.views.length + catalog.queries.filter(rangeDependent).length);
  });

  it('falls back to GOOGLE_CLOUD_PROJECT and takes --billing-project and --explain', () => {
    const { out } = main(['--template', 'tpl-1', '--billing-project', 'payer-1', '--explain'], { GOOGLE_CLOUD_PROJECT: 'gae-project' });
    const params = new URL(out).searchParams;
    expect(params.get('c.explain')).toBe('true');
    expect(params.get('ds.app_sessions_daily.projectId')).toBe('gae-project');
    expect(params.get('ds.app_sessions_daily.billingProjectId')).toBe('payer-1');
  });

  it('prints the custom query of a range-dependent metric, to paste into the template once', () => {
    const { code, out } = main(['--sql', 'app_os'], { BIGQUERY_PROJECT: 'acme-analytics' });
    expect(code).toBe(0);
    expect(out).toBe(lookerSql(catalog.query('app_os'), 'acme-analytics.analytics'));
    expect(main(['--sql', 'website_totals'], { BIGQUERY_PROJECT: 'acme-analytics' })).toEqual({
      code: 1,
      out: 'dashboard:link: --sql takes one of app_countries, app_environments, app_os, app_platforms, app_totals',
    });
  });

  it('requires the template report, in one line', () => {
    const { code, out } = main([], { BIGQUERY_PROJECT: 'acme-analytics' });
    expect(code).toBe(1);
    expect(out).toMatch(/^dashboard:link: --template is required: Usage: npm run dashboard:link -- --template <report id>/);
    expect(out).not.toContain('\n');
  });

  it('refuses a flag without its value as a usage error', () => {
    for (const argv of [['--template'], ['--template', '--explain'], ['--template', 't', '--billing-project']]) {
      const { code, out } = main(argv, { BIGQUERY_PROJECT: 'acme-analytics' });
      expect(code).toBe(2);
      expect(out.split('\n')).toEqual([expect.stringMatching(/^dashboard:link: Option '--(template|billing-project)/), USAGE]);
    }
  });

  it('says in one line that the project is missing', () => {
    expect(main(['--template', 't'], {})).toEqual({
      code: 1,
      out: 'dashboard:link: no BigQuery project: set BIGQUERY_PROJECT (or GOOGLE_CLOUD_PROJECT)',
    });
  });

  it('names every bad variable, one line each', () => {
    const { code, out } = main(['--template', 't'], { BIGQUERY_PROJECT: 'x', BIGQUERY_DATASET: 'no-dashes' });
    expect(code).toBe(1);
    expect(out.split('\n')).toEqual([
      'dashboard:link: Invalid configuration: BIGQUERY_PROJECT="x": must be a Google Cloud project id',
      'dashboard:link: Invalid configuration: BIGQUERY_DATASET="no-dashes": must be letters, digits and underscores',
    ]);
  });

  it('rejects an unknown flag or a stray argument with its usage, and prints the usage for --help', () => {
    const env = { BIGQUERY_PROJECT: 'acme-analytics' };
    const unknown = main(['--tempate', 'x'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.out.split('\n')).toEqual([expect.stringMatching(/^dashboard:link: Unknown option '--tempate'/), USAGE]);
    expect(main(['tpl-1'], env)).toMatchObject({
      code: 2,
      out: expect.stringMatching(/^dashboard:link: Unexpected argument 'tpl-1'.*\nUsage: /),
    });
    expect(main(['--template'], env)).toMatchObject({
      code: 2,
      out: expect.stringMatching(/^dashboard:link: Option '--template <value>' argument missing\nUsage: /),
    });
    expect(main(['--help'], env)).toEqual({ code: 0, out: USAGE });
  });
});
