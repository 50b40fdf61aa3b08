import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SQL_DIR } from '../sql-catalog';
import { toDuckDb } from './duckdb-dialect';

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
