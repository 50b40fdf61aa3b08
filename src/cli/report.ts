import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { AppConfig, ConfigError } from '../config/app-config';
import { SqlCatalog } from '../warehouse/contracts';
import { createWarehouse } from '../warehouse/warehouse.factory';
import { WarehouseReader } from '../warehouse/warehouse-reader';
import { parseCliArgs } from './args';

/**
 * `npm run report [-- --days N]`: the main dashboard views as terminal tables, over the last
 * N days (today, UTC, included; 30 by default), from the configured warehouse. The SQL is
 * BigQuery's, with {{dataset}}: each adapter renders it for its engine. Over a range only
 * additive columns are summed (see docs/dashboard.md); per-day figures are shown per day.
 */

interface Section {
  title: string;
  sql: (since: string) => string;
}

const from = (view: string, since: string) => `\`{{dataset}}.${view}\` WHERE day >= DATE '${since}'`;
const top = (view: string, dimension: string, metric: string, since: string) =>
  `SELECT ${dimension}, SUM(${metric}) AS ${metric} FROM ${from(view, since)} GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10`;

export const SECTIONS: readonly Section[] = [
  {
    title: 'Website per day',
    sql: (since) => `
      SELECT day, p.pageviews, p.visits, IFNULL(d.downloads, 0) AS downloads
      FROM (SELECT * FROM ${from('website_pageviews_daily', since)}) AS p
      FULL JOIN (SELECT day, SUM(downloads) AS downloads FROM ${from('website_downloads_daily', since)} GROUP BY 1) AS d USING (day)
      ORDER BY day`,
  },
  { title: 'Downloads by OS', sql: (since) => top('website_downloads_daily', 'os', 'downloads', since) },
  { title: 'Top pages', sql: (since) => top('website_pageviews_by_page', 'path', 'pageviews', since) },
  { title: 'Top entry pages', sql: (since) => top('website_entry_pages', 'entry_page', 'visits', since) },
  { title: 'Top referrers (page views)', sql: (since) => top('website_pageviews_by_referrer', 'referrer_host', 'pageviews', since) },
  { title: 'Top referrers (downloads)', sql: (since) => top('website_downloads_by_referrer', 'referrer_host', 'downloads', since) },
  { title: 'Website countries', sql: (since) => top('website_pageviews_by_country', 'country', 'pageviews', since) },
  {
    title: 'App per day',
    sql: (since) => `
      SELECT day, s.sessions, a.active_installations, n.new_installations,
        d.median_duration_seconds AS median_seconds, d.avg_duration_seconds AS avg_seconds, e.avg_environments
      FROM (SELECT * FROM ${from('app_sessions_daily', since)}) AS s
      JOIN \`{{dataset}}.app_active_installations_daily\` AS a USING (day)
      JOIN \`{{dataset}}.app_new_installations_daily\` AS n USING (day)
      JOIN \`{{dataset}}.app_session_duration_daily\` AS d USING (day)
      JOIN \`{{dataset}}.app_environments_daily\` AS e USING (day)
      ORDER BY day`,
  },
  {
    title: 'App versions (share of sessions over the range)',
    sql: (since) => `
      SELECT version, SUM(sessions) AS sessions,
        ROUND(100 * SUM(sessions) / SUM(SUM(sessions)) OVER (), 1) AS share_pct
      FROM ${from('app_versions_daily', since)}
      GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10`,
  },
  { title: 'App sessions by OS', sql: (since) => top('app_sessions_by_os', 'os', 'sessions', since) },
  { title: 'App countries', sql: (since) => top('app_sessions_by_country', 'country', 'sessions', since) },
  { title: 'Web vs desktop', sql: (since) => top('app_platform_daily', 'app', 'sessions', since) },
];

export interface ReportIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

export const USAGE = 'Usage: npm run report [-- --days N]   (N from 1 to 3660, default 30)';

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv, io: ReportIo, now = new Date()): Promise<number> {
  const args = parseCliArgs<{ days?: string }>('report', USAGE, argv, { days: { type: 'string' } });
  if ('exit' in args) {
    if (args.exit.stdout) io.out(args.exit.stdout);
    if (args.exit.stderr) io.err(args.exit.stderr);
    return args.exit.code;
  }
  const days = parseDays(args.values.days);
  if (typeof days === 'string') {
    io.err(`report: ${days}\n`);
    return 1;
  }
  let config: AppConfig;
  try {
    config = AppConfig.fromEnv(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.err(error.lines.map((line) => `report: ${line}\n`).join(''));
    return 1;
  }
  if (config.warehouse === 'duckdb' && config.duckdbPath !== ':memory:' && !existsSync(config.duckdbPath)) {
    io.err(`report: no DuckDB file at ${config.duckdbPath}: start the API or run npm run warehouse:setup first\n`);
    return 1;
  }
  const since = new Date(now.getTime() - (days - 1) * 86_400_000).toISOString().slice(0, 10);
  const warehouse: WarehouseReader = await createWarehouse(config, SqlCatalog.load());
  try {
    io.out(`Analytics report: ${since} to ${now.toISOString().slice(0, 10)} (${days} days, UTC), ${describe(config)}\n`);
    for (const section of SECTIONS) io.out(`\n${section.title}\n${formatTable(await warehouse.read(section.sql(since)))}`);
    return 0;
  } catch (error) {
    const message = (error instanceof Error ? error.message : String(error)).split('\n')[0];
    io.err(`report: ${message} (${hint(config, message)})\n`);
    return 1;
  } finally {
    await closeQuietly(warehouse);
  }
}

function parseDays(raw: string | undefined): number | string {
  if (raw === undefined) return 30;
  const days = Number(raw);
  return /^\d+$/.test(raw) && days >= 1 && days <= 3660 ? days : `--days must be a whole number of days from 1 to 3660, not ${raw}`;
}

/** DuckDB lets one process at a time open a file: while the API runs, it is the one to ask. */
function hint(config: AppConfig, message: string): string {
  if (config.warehouse === 'duckdb' && /lock/i.test(message)) {
    return `the running API holds ${config.duckdbPath}: GET /admin/events on the API shows the last events and today's counts`;
  }
  return 'are the views there? npm run warehouse:setup applies them';
}

function describe(config: AppConfig): string {
  return config.warehouse === 'bigquery' ? `BigQuery dataset ${config.dataset}` : `DuckDB ${config.duckdbPath}`;
}

async function closeQuietly(warehouse: WarehouseReader): Promise<void> {
  await warehouse.close().catch(() => undefined);
}

/** Rows as an aligned text table: numbers right-aligned, at most two decimals. */
export function formatTable(rows: readonly Record<string, unknown>[]): string {
  if (rows.length === 0) return '  (no data)\n';
  const columns = Object.keys(rows[0]);
  const cells = rows.map((row) => columns.map((c) => formatValue(row[c])));
  const numeric = columns.map((_, i) => rows.every((row) => isNumeric(row[columns[i]])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i].length)));
  const line = (values: string[]) =>
    '  ' +
    values
      .map((v, i) => (numeric[i] ? v.padStart(widths[i]) : v.padEnd(widths[i])))
      .join('  ')
      .trimEnd() +
    '\n';
  return line(columns) + line(widths.map((w) => '-'.repeat(w))) + cells.map(line).join('');
}

function isNumeric(value: unknown): boolean {
  return value === null || value === undefined || typeof value === 'number' || typeof value === 'bigint';
}

function formatValue(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (value instanceof Date) return value.toISOString().slice(0, 10);
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : String(Math.round(value * 100) / 100);
  // BigQuery's client wraps DATE (and big numbers) in objects carrying a string `value`.
  if (typeof value === 'object' && typeof (value as { value?: unknown }).value === 'string') return (value as { value: string }).value;
  return typeof value === 'object' ? JSON.stringify(value) : `${value as string}`;
}

if (require.main === module) {
  void main(process.argv.slice(2), process.env, {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
  }).then((code) => (process.exitCode = code));
}
