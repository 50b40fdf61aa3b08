import 'reflect-metadata';
import { renderSql, SqlCatalog } from '../src/warehouse/contracts';
import { toDuckDb } from '../src/warehouse/duckdb/duckdb-dialect';
import { SECTIONS } from '../src/cli/report';
import { lookerSql, rangeDependent } from '../src/cli/dashboard-link';
import { BigQueryAnalyzer, startBigQueryAnalyzer } from './support/zetasql';

/** Every view in sql/views, analyzed by ZetaSQL against the tables of sql/tables. */
describe('sql/views in BigQuery dialect (ZetaSQL analyzer)', () => {
  const catalog = SqlCatalog.load();
  let analyzer: BigQueryAnalyzer;

  beforeAll(async () => {
    analyzer = await startBigQueryAnalyzer('analytics', catalog.tables);
  });
  afterAll(() => analyzer?.stop());

  it('finds the views', () => {
    expect(catalog.views.length).toBeGreaterThanOrEqual(17);
  });

  for (const view of catalog.views) {
    it(`accepts ${view.name}`, async () => {
      const columns = await analyzer.analyze(renderSql(view.sql, 'analytics'));
      expect(columns.map((c) => c.name)).toContain('day');
      expect(columns.find((c) => c.name === 'day')?.typeKind).toBe(10); // DATE, for the date-range control
    });
  }

  it("accepts the report's queries against the views' own output columns", async () => {
    for (const view of catalog.views) analyzer.addTable(view.name, await analyzer.analyze(renderSql(view.sql, 'analytics')));
    for (const section of SECTIONS) {
      await expect(analyzer.analyze(renderSql(section.sql('2024-05-01'), 'analytics'))).resolves.not.toHaveLength(0);
    }
    await expect(
      analyzer.analyze(renderSql(`SELECT day, sessions_share FROM \`{{dataset}}.app_sessions_daily\``, 'analytics')),
    ).rejects.toThrow(/Unrecognized name: sessions_share/);
  });

  describe('sql/dashboard range queries', () => {
    const RANGE = { start_date: 'DATE', end_date: 'DATE' } as const;

    it('finds the queries', () => {
      expect(catalog.queries.length).toBeGreaterThanOrEqual(15);
    });

    for (const query of catalog.queries) {
      it(`accepts ${query.name} with DATE parameters @start_date and @end_date, filtering on the partition column`, async () => {
        await expect(analyzer.analyze(renderSql(query.sql, 'analytics'), RANGE)).resolves.not.toHaveLength(0);
        // The range bounds the partitioning expression of sql/tables itself, so BigQuery prunes partitions.
        expect(query.sql).toMatch(/WHERE DATE\((receivedAt|date)\) BETWEEN @start_date AND @end_date/);
      });
    }

    it('accepts the Looker Studio custom queries, with its STRING date parameters', async () => {
      const looker = catalog.queries.filter(rangeDependent);
      expect(looker.length).toBeGreaterThan(0);
      for (const query of looker) {
        await expect(
          analyzer.analyze(lookerSql(query, 'analytics'), { DS_START_DATE: 'STRING', DS_END_DATE: 'STRING' }),
        ).resolves.not.toHaveLength(0);
      }
    });

    it('rejects a query whose parameter is not declared, or declared with another type', async () => {
      const totals = renderSql(catalog.query('app_totals').sql, 'analytics');
      await expect(analyzer.analyze(totals)).rejects.toThrow(/start_date/);
      await expect(analyzer.analyze(totals, { start_date: 'TIMESTAMP', end_date: 'TIMESTAMP' })).rejects.toThrow(/BETWEEN|signature/);
    });
  });

  describe('rejects what BigQuery would reject', () => {
    const view = (select: string) => `CREATE OR REPLACE VIEW \`analytics.broken\` AS SELECT ${select} FROM \`analytics.telemetry\``;

    it('an unknown column', async () => {
      await expect(analyzer.analyze(view('DATE(receivedAt) AS day, sessionLength'))).rejects.toThrow(/Unrecognized name: sessionLength/);
    });

    it('a function BigQuery does not have (MEDIAN is DuckDB)', async () => {
      await expect(analyzer.analyze(view('MEDIAN(environmentsCount) AS m'))).rejects.toThrow(/Function not found: MEDIAN/);
    });

    it('a type error (COUNTIF of a STRING)', async () => {
      await expect(analyzer.analyze(view('COUNTIF(version) AS n'))).rejects.toThrow(/COUNTIF/);
    });

    it('a column neither grouped nor aggregated', async () => {
      await expect(analyzer.analyze(view('DATE(receivedAt) AS day, version, COUNT(*) AS n') + ' GROUP BY 1')).rejects.toThrow(
        /neither grouped nor aggregated/,
      );
    });

    it('a real view after the DuckDB rewrites, i.e. written for DuckDB', async () => {
      const duration = catalog.views.find((v) => v.name === 'app_session_duration_daily')!;
      await expect(analyzer.analyze(toDuckDb(renderSql(duration.sql, 'analytics')))).rejects.toThrow(/Syntax error|not found/);
    });
  });
});
