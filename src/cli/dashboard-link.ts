import 'reflect-metadata';
import { AppConfig, ConfigError } from '../config/app-config';
import { SqlCatalog } from '../warehouse/contracts';
import { parseCliArgs } from './args';

export interface DashboardLinkOptions {
  projectId: string;
  dataset: string;
  views: readonly string[];
  reportName?: string;
  /** A Looker Studio report to copy (c.reportId); without it the report starts blank. */
  templateReportId?: string;
}

/**
 * A Looker Studio Linking API URL that creates a report with one BigQuery data source per
 * view. Aliases are ds0, ds1, ... in the order given; each data source is named after its
 * view, which is what the report editor shows.
 */
export function dashboardLinkUrl(options: DashboardLinkOptions): string {
  const params = new URLSearchParams();
  if (options.templateReportId) params.set('c.reportId', options.templateReportId);
  params.set('r.reportName', options.reportName ?? `Analytics (${options.dataset})`);
  options.views.forEach((view, i) => {
    const ds = `ds.ds${i}`;
    params.set(`${ds}.connector`, 'bigQuery');
    params.set(`${ds}.type`, 'TABLE');
    params.set(`${ds}.projectId`, options.projectId);
    params.set(`${ds}.datasetId`, options.dataset);
    params.set(`${ds}.tableId`, view);
    params.set(`${ds}.datasourceName`, view);
  });
  return `https://lookerstudio.google.com/reporting/create?${params.toString()}`;
}

export const USAGE = 'Usage: npm run dashboard:link [-- --template REPORT_ID]';

/** `npm run dashboard:link [-- --template REPORT_ID]`: prints the URL, or what is wrong (one line each). */
export function main(argv: readonly string[], env: NodeJS.ProcessEnv, catalog = SqlCatalog.load()): { code: number; out: string } {
  const args = parseCliArgs<{ template?: string }>('dashboard:link', USAGE, argv, { template: { type: 'string' } });
  if ('exit' in args) return { code: args.exit.code, out: (args.exit.stdout ?? args.exit.stderr ?? '').trimEnd() };
  try {
    const config = AppConfig.fromEnv(env, { warehouse: false }); // only prints a URL: no credentials needed
    const projectId = config.bigquery.projectId;
    if (!projectId) {
      return { code: 1, out: 'dashboard:link: no BigQuery project: set BIGQUERY_PROJECT (or GOOGLE_CLOUD_PROJECT)' };
    }
    const templateReportId = args.values.template;
    if (templateReportId === '') return { code: 1, out: 'dashboard:link: --template needs a report id' };
    const views = catalog.views.map((v) => v.name);
    return { code: 0, out: dashboardLinkUrl({ projectId, dataset: config.dataset, views, templateReportId }) };
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
