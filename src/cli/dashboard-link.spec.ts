import { SqlCatalog } from '../warehouse/contracts';
import { dashboardLinkUrl, main, USAGE } from './dashboard-link';

describe('dashboardLinkUrl', () => {
  it('has one BigQuery TABLE data source per view, for the project and dataset', () => {
    const url = new URL(
      dashboardLinkUrl({ projectId: 'my-proj-1', dataset: 'analytics', views: ['app_sessions_daily', 'website_entry_pages'] }),
    );
    expect(url.origin + url.pathname).toBe('https://lookerstudio.google.com/reporting/create');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      'r.reportName': 'Analytics (analytics)',
      'ds.ds0.connector': 'bigQuery',
      'ds.ds0.type': 'TABLE',
      'ds.ds0.projectId': 'my-proj-1',
      'ds.ds0.datasetId': 'analytics',
      'ds.ds0.tableId': 'app_sessions_daily',
      'ds.ds0.datasourceName': 'app_sessions_daily',
      'ds.ds1.connector': 'bigQuery',
      'ds.ds1.type': 'TABLE',
      'ds.ds1.projectId': 'my-proj-1',
      'ds.ds1.datasetId': 'analytics',
      'ds.ds1.tableId': 'website_entry_pages',
      'ds.ds1.datasourceName': 'website_entry_pages',
    });
  });

  it('copies a template report when given one, and encodes the report name', () => {
    const url = dashboardLinkUrl({ projectId: 'p-12345', dataset: 'd', views: [], templateReportId: 'abc-123', reportName: 'A & B' });
    expect(url).toBe('https://lookerstudio.google.com/reporting/create?c.reportId=abc-123&r.reportName=A+%26+B');
  });
});

describe('dashboard:link main', () => {
  it('links every view of sql/views for the configured project and dataset', () => {
    const { code, out } = main([], { BIGQUERY_PROJECT: 'acme-analytics', BIGQUERY_DATASET: 'prod_events' });
    expect(code).toBe(0);
    const params = new URL(out).searchParams;
    const views = SqlCatalog.load().views.map((v) => v.name);
    expect(views.length).toBeGreaterThan(0);
    views.forEach((view, i) => {
      expect(params.get(`ds.ds${i}.tableId`)).toBe(view);
      expect(params.get(`ds.ds${i}.projectId`)).toBe('acme-analytics');
      expect(params.get(`ds.ds${i}.datasetId`)).toBe('prod_events');
    });
    expect(params.get(`ds.ds${views.length}.tableId`)).toBeNull();
  });

  it('falls back to GOOGLE_CLOUD_PROJECT and takes --template', () => {
    const { out } = main(['--template', 'tpl-1'], { GOOGLE_CLOUD_PROJECT: 'gae-project' });
    const params = new URL(out).searchParams;
    expect(params.get('c.reportId')).toBe('tpl-1');
    expect(params.get('ds.ds0.projectId')).toBe('gae-project');
  });

  it('says in one line that the project is missing', () => {
    expect(main([], {})).toEqual({ code: 1, out: 'dashboard:link: no BigQuery project: set BIGQUERY_PROJECT (or GOOGLE_CLOUD_PROJECT)' });
  });

  it('names every bad variable, one line each', () => {
    const { code, out } = main([], { BIGQUERY_PROJECT: 'x', BIGQUERY_DATASET: 'no-dashes' });
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
