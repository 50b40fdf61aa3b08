import 'reflect-metadata';
import { AppConfig, ConfigError } from '../config/app-config';
import { QueryDef, renderSql, SqlCatalog } from '../warehouse/contracts';
import { parseCliArgs } from './args';

export interface DashboardLinkOptions {
  /** Project of the dataset. */
  projectId: string;
  dataset: string;
  views: readonly string[];
  /** The range queries of sql/dashboard that become custom-query data sources (see rangeDependent). */
  queries?: readonly QueryDef[];
  /** The template report to copy (c.reportId): it holds the charts, and one data source per alias. */
  templateReportId: string;
  /** Project billed for the queries the report runs (the reader needs BigQuery Job User there); the dataset's by default. */
  billingProjectId?: string;
  reportName?: string;
  /** c.explain=true: Looker Studio shows how it read the link, to debug one. */
  explain?: boolean;
}

/** Looker Studio's date range control, as custom-query parameters: STRING YYYYMMDD. */
const LOOKER_RANGE: Record<string, string> = {
  start_date: "PARSE_DATE('%Y%m%d', @DS_START_DATE)",
  end_date: "PARSE_DATE('%Y%m%d', @DS_END_DATE)",
};

/**
 * A range query whose figures cannot be made from the views' daily rows: a distinct count or a
 * median over the whole range (a query grouped by day is covered by the daily views).
 */
export function rangeDependent(query: QueryDef): boolean {
  return /COUNT\s*\(\s*DISTINCT|APPROX_QUANTILES/i.test(query.sql) && !/\bAS\s+day\b/i.test(query.sql);
}

/**
 * sql/dashboard/<name>.sql as Looker Studio runs it: the dataset filled in, @start_date and
 * @end_date taken from the report's date range control, comments and indentation dropped so
 * that the link stays short. Derived from the file at each run: never a second copy.
 */
export function lookerSql(query: QueryDef, datasetRef: string): string {
  return renderSql(query.sql, datasetRef)
    .split('\n')
    .filter((line) => !/^\s*--/.test(line))
    .map((line) => line.trim())
    .join(' ')
    .trim()
    .replace(/@(start_date|end_date)\b/g, (_, name: string) => LOOKER_RANGE[name]);
}

/**
 * A Looker Studio Linking API URL (https://developers.google.com/looker-studio/integrate/linking-api)
 * that copies the template report and points each of its data sources at this project: one
 * BigQuery TABLE source per view and one CUSTOM_QUERY source per range-dependent query, each
 * under the alias of its view or query name, so that adding a view shifts no other alias.
 * refreshFields=false keeps the template's field settings (e.g. country as Geo > Country).
 */
export function dashboardLinkUrl(options: DashboardLinkOptions): string {
  const params = new URLSearchParams();
  params.set('c.reportId', options.templateReportId);
  if (options.explain) params.set('c.explain', 'true');
  params.set('r.reportName', options.reportName ?? `Analytics (${options.dataset})`);
  const billing = options.billingProjectId;
  for (const view of options.views) {
    const ds = `ds.${view}`;
    params.set(`${ds}.connector`, 'bigQuery');
    params.set(`${ds}.type`, 'TABLE');
    params.set(`${ds}.projectId`, options.projectId);
    params.set(`${ds}.datasetId`, options.dataset);
    params.set(`${ds}.tableId`, view);
    if (billing) params.set(`${ds}.billingProjectId`, billing);
    params.set(`${ds}.datasourceName`, view);
    params.set(`${ds}.refreshFields`, 'false');
  }
  for (const query of options.queries ?? []) {
    const ds = `ds.${query.name}`;
    params.set(`${ds}.connector`, 'bigQuery');
    params.set(`${ds}.type`, 'CUSTOM_QUERY');
    // For a custom query, projectId is the project that runs (and pays for) it.
    params.set(`${ds}.projectId`, billing ?? options.projectId);
    if (billing) params.set(`${ds}.billingProjectId`, billing);
    params.set(`${ds}.sql`, lookerSql(query, `${options.projectId}.${options.dataset}`));
    params.set(`${ds}.datasourceName`, query.name);
    params.set(`${ds}.refreshFields`, 'false');
  }
  return `https://lookerstudio.google.com/reporting/create?${params.toString()}`;
}

export const USAGE =
  'Usage: npm run dashboard:link -- --template <report id> [--billing-project <project id>] [--explain], or -- --sql <query> ' +
  '(the template report is built once: docs/dashboard.md, "The template report")';

/** `npm run dashboard:link -- --template REPORT_ID [...]`: prints the URL, or one line saying what is missing. */
export function main(argv: readonly string[], env: NodeJS.ProcessEnv, catalog = SqlCatalog.load()): { code: number; out: string } {
  const args = parseCliArgs<{ template?: string; 'billing-project'?: string; explain?: boolean; sql?: string }>(
    'dashboard:link',
    USAGE,
    argv,
    { template: { type: 'string' }, 'billing-project': { type: 'string' }, explain: { type: 'boolean' }, sql: { type: 'string' } },
  );
  if ('exit' in args) return { code: args.exit.code, out: (args.exit.stdout ?? args.exit.stderr ?? '').trimEnd() };
  try {
    const config = AppConfig.fromEnv(env, { warehouse: false }); // only prints a URL: no credentials needed
    const projectId = config.bigquery.projectId;
    if (!projectId) {
      return { code: 1, out: 'dashboard:link: no BigQuery project: set BIGQUERY_PROJECT (or GOOGLE_CLOUD_PROJECT)' };
    }
    const { values } = args;
    // The custom query to paste once into the template report (docs/dashboard.md).
    if (values.sql !== undefined) {
      const query = catalog.queries.find((q) => q.name === values.sql && rangeDependent(q));
      const names = catalog.queries.filter(rangeDependent).map((q) => q.name);
      if (!query) return { code: 1, out: `dashboard:link: --sql takes one of ${names.join(', ')}` };
      return { code: 0, out: lookerSql(query, `${projectId}.${config.dataset}`) };
    }
    const templateReportId = values.template;
    if (!templateReportId) return { code: 1, out: `dashboard:link: --template is required: ${USAGE}` };
    if (values['billing-project'] === '') return { code: 1, out: `dashboard:link: --billing-project needs a project id: ${USAGE}` };
    const url = dashboardLinkUrl({
      projectId,
      dataset: config.dataset,
      views: catalog.views.map((v) => v.name),
      queries: catalog.queries.filter(rangeDependent),
      templateReportId,
      billingProjectId: values['billing-project'],
      explain: values.explain === true,
    });
    return { code: 0, out: url };
  } catch (error) {
    if (error instanceof ConfigError) return { code: 1, out: error.lines.map((line) => `dashboard:link: ${line}`).join('\n') };
    throw error;
  }
}

if (require.main === module) {
  const { code, out } = main(process.argv.slice(2), process.env);
  (code === 0 ? process.stdout : process.stderr).write(`${out}\n`);
  process.exitCode = code;
}
