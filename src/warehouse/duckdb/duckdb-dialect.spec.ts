import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SQL_DIR } from '../contracts';
import { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { DUCKDB_MACROS, toDuckDb } from './duckdb-dialect';

describe('toDuckDb', () => {
  it('drops BigQuery storage clauses and maps types and quoted paths', () => {
    const bigquery = [
      'CREATE TABLE IF NOT EXISTS `{{dataset}}.t` (',
      '  a STRING NOT NULL,',
      "  b INT64 OPTIONS (description = 'count (of things)'),",
      '  c BOOL,',
      '  d FLOAT64,',
      '  e TIMESTAMP',
      ')',
      'PARTITION BY DATE(e)',
      'CLUSTER BY a, b',
      "OPTIONS (description = 'x');",
    ].join('\n');
    expect(toDuckDb(bigquery)).toBe(
      [
        'CREATE TABLE IF NOT EXISTS "t" (',
        '  a VARCHAR NOT NULL,',
        '  b BIGINT,',
        '  c BOOLEAN,',
        '  d DOUBLE,',
        '  e TIMESTAMP',
        ');',
      ].join('\n'),
    );
  });

  it('quotes each part of a backticked path', () => {
    expect(toDuckDb('SELECT * FROM `other.t`')).toBe('SELECT * FROM "other"."t"');
  });

  it('leaves BOOLEAN and names that merely contain a type name alone', () => {
    expect(toDuckDb('SELECT CAST(x AS BOOLEAN) AS stringy, int64_col FROM t')).toBe(
      'SELECT CAST(x AS BOOLEAN) AS stringy, int64_col FROM t',
    );
  });

  it('rewrites the real table files so that no BigQuery-only keyword is left', () => {
    for (const table of ['telemetry', 'website_events']) {
      const out = toDuckDb(readFileSync(join(SQL_DIR, 'tables', `${table}.sql`), 'utf8'));
      expect(out).not.toMatch(/PARTITION BY|CLUSTER BY|OPTIONS|`|\{\{|\bSTRING\b|\bINT64\b|\bBOOL\b/);
    }
  });
});

describe('toDuckDb: what the views need', () => {
  it('turns the median idiom APPROX_QUANTILES(x, n)[OFFSET(k)] into quantile_disc(x, k / n)', () => {
    expect(toDuckDb('SELECT APPROX_QUANTILES(IF(a > b, f(a, b), NULL), 2)[OFFSET(1)] / 1000 AS m FROM t')).toBe(
      'SELECT quantile_disc(IF(a > b, f(a, b), NULL), 1 / 2) / 1000 AS m FROM t',
    );
    expect(toDuckDb('approx_quantiles(x, 4) [ SAFE_OFFSET( 3 ) ]')).toBe('quantile_disc(x, 3 / 4)');
  });

  it('refuses an APPROX_QUANTILES it cannot translate rather than guessing', () => {
    expect(() => toDuckDb('SELECT APPROX_QUANTILES(x, 2) FROM t')).toThrow(/OFFSET/);
  });

  it('turns TIMESTAMP_DIFF(a, b, part) into bq_timestamp_diff(a, b, microseconds per part), nested too', () => {
    expect(toDuckDb('TIMESTAMP_DIFF(endTime, startTime, MILLISECOND)')).toBe('bq_timestamp_diff(endTime, startTime, 1000)');
    expect(toDuckDb("SUM(timestamp_diff(x, TIMESTAMP_DIFF(a, b, second), hour)) AS 'TIMESTAMP_DIFF(' ")).toBe(
      "SUM(bq_timestamp_diff(x, bq_timestamp_diff(a, b, 1000000), 3600000000)) AS 'TIMESTAMP_DIFF(' ",
    );
    expect(() => toDuckDb('TIMESTAMP_DIFF(a, b, WEEK)')).toThrow(/WEEK/);
  });

  it('turns 0-based [OFFSET(i)] and [SAFE_OFFSET(i)] into 1-based list indexes', () => {
    expect(toDuckDb("SPLIT(r, '/')[SAFE_OFFSET(0)], a[OFFSET(i + 1)] FROM t LIMIT 5 OFFSET 2")).toBe(
      "SPLIT(r, '/')[1 + (0)], a[1 + (i + 1)] FROM t LIMIT 5 OFFSET 2",
    );
  });

  it("reads past -- comments and their apostrophes (the day's median), but not past a quoted --", () => {
    expect(toDuckDb("-- the day's median, TIMESTAMP_DIFF(x) stays\nSELECT 'a--b', TIMESTAMP_DIFF(a, b, SECOND) -- it's\nFROM t")).toBe(
      "-- the day's median, TIMESTAMP_DIFF(x) stays\nSELECT 'a--b', bq_timestamp_diff(a, b, 1000000) -- it's\nFROM t",
    );
  });

  it('leaves alone the functions DuckDB already spells as BigQuery does', () => {
    const same = "SELECT DATE(ts), IFNULL(c, 'Unknown'), NULLIF(s, ''), IF(a, 1, 2), SAFE_DIVIDE(a, b), LOWER(s), LEAST(n, 10) FROM t";
    expect(toDuckDb(same)).toBe(same);
  });

  it('turns COUNTIF(x) into COUNT(NULLIF(x, FALSE)), which is 0 over no rows as in BigQuery', () => {
    expect(toDuckDb("COUNTIF(type = 'pageview' AND LOWER(c) IN ('a', 'b'))")).toBe(
      "COUNT(NULLIF(type = 'pageview' AND LOWER(c) IN ('a', 'b'), FALSE))",
    );
  });
});

describe('the rewritten SQL on DuckDB gives what BigQuery gives', () => {
  let db: DuckDBConnection;
  let instance: DuckDBInstance;
  beforeAll(async () => {
    instance = await DuckDBInstance.create(':memory:');
    db = await instance.connect();
    for (const macro of DUCKDB_MACROS) await db.run(macro);
  });
  afterAll(() => {
    db.closeSync();
    instance.closeSync();
  });
  const value = async (bigquerySql: string) => {
    const rows = (await db.runAndReadAll(toDuckDb(`SELECT ${bigquerySql} AS v`))).getRowObjectsJS();
    const v = rows[0].v;
    return typeof v === 'bigint' ? Number(v) : v;
  };

  it('SAFE_DIVIDE: a quotient, or NULL for a zero divisor', async () => {
    expect(await value('SAFE_DIVIDE(3, 4)')).toBe(0.75);
    expect(await value('SAFE_DIVIDE(3, 0)')).toBeNull();
    expect(await value('SAFE_DIVIDE(NULL, 2)')).toBeNull();
  });

  it('TIMESTAMP_DIFF: whole units, truncated toward zero, negative when the end is first', async () => {
    const a = "TIMESTAMP '2024-05-01 10:00:30.500'";
    const b = "TIMESTAMP '2024-05-01 10:00:00'";
    expect(await value(`TIMESTAMP_DIFF(${a}, ${b}, MILLISECOND)`)).toBe(30_500);
    expect(await value(`TIMESTAMP_DIFF(${a}, ${b}, SECOND)`)).toBe(30);
    expect(await value(`TIMESTAMP_DIFF(${b}, ${a}, SECOND)`)).toBe(-30);
    expect(await value(`TIMESTAMP_DIFF(${a}, ${b}, MINUTE)`)).toBe(0);
    expect(await value(`TIMESTAMP_DIFF(TIMESTAMP '2024-05-03 00:00:00', ${b}, DAY)`)).toBe(1);
  });

  it('APPROX_QUANTILES(x, 2)[OFFSET(1)]: the middle input value, NULLs ignored, NULL when empty', async () => {
    const median = async (values: string) => value(`(SELECT APPROX_QUANTILES(x, 2)[OFFSET(1)] FROM (SELECT UNNEST([${values}]) AS x))`);
    expect(await median('7, 1, 100, NULL, 3, 5')).toBe(5);
    expect(await median('CAST(NULL AS BIGINT)')).toBeNull();
  });

  it('SPLIT(s, d)[SAFE_OFFSET(0)]: the part before the first delimiter, the whole string without one', async () => {
    expect(await value("SPLIT('news.ycombinator.com/item/x', '/')[SAFE_OFFSET(0)]")).toBe('news.ycombinator.com');
    expect(await value("SPLIT('direct', '/')[SAFE_OFFSET(0)]")).toBe('direct');
    expect(await value("SPLIT('a/b', '/')[SAFE_OFFSET(5)]")).toBeNull();
  });

  it('LEAST caps a value as BigQuery does', async () => {
    expect(await value('LEAST(12, 10)')).toBe(10);
    expect(await value('LEAST(3, 10)')).toBe(3);
  });

  it('DATE(timestamp) is the UTC day; COUNTIF, IF and IFNULL mean what they do in BigQuery', async () => {
    expect(await value("CAST(DATE(TIMESTAMP '2024-05-01 23:59:59.999') AS STRING)")).toBe('2024-05-01');
    expect(await value('(SELECT COUNTIF(x > 1) FROM (SELECT UNNEST([1, 2, 3, NULL]) AS x))')).toBe(2);
    expect(await value('(SELECT COUNTIF(x > 1) FROM (SELECT UNNEST([1, 2, 3, NULL]) AS x) WHERE FALSE)')).toBe(0);
    expect(await value("IFNULL(NULL, 'Unknown')")).toBe('Unknown');
    expect(await value('IF(1 > 2, 1, 2)')).toBe(2);
  });
});
