/**
 * sql/ is written in BigQuery Standard SQL. This is the small layer that lets the embedded
 * DuckDB warehouse run the same files: a few textual rewrites of what DuckDB spells
 * differently, and macros (DUCKDB_MACROS) for BigQuery functions DuckDB lacks.
 */

const TYPE_NAMES: ReadonlyArray<[RegExp, string]> = [
  [/\bSTRING\b/gi, 'VARCHAR'],
  [/\bINT64\b/gi, 'BIGINT'],
  [/\bFLOAT64\b/gi, 'DOUBLE'],
  [/\bBOOL\b/gi, 'BOOLEAN'],
  [/\bBYTES\b/gi, 'BLOB'],
];

/** Storage clauses that only mean something to BigQuery. Each sits on its own line in sql/. */
const BIGQUERY_ONLY_CLAUSES = [/^\s*PARTITION BY\b.*$/gim, /^\s*CLUSTER BY\b.*$/gim, /\s*\bOPTIONS\s*\((?:[^()']|'[^']*')*\)/gi];

/**
 * Tables and views live in the connection's current schema (the dataset), so the
 * qualifier is dropped: a file named analytics.duckdb makes "analytics" a catalog too,
 * and DuckDB refuses `analytics.telemetry` as ambiguous.
 */
export function toDuckDb(sql: string): string {
  let out = sql.replace(/\{\{dataset\}\}\./g, '');
  for (const clause of BIGQUERY_ONLY_CLAUSES) out = out.replace(clause, '');
  // `dataset.table` is one quoted path in BigQuery, two quoted names in DuckDB.
  out = out.replace(/`([^`]+)`/g, (_, path: string) => path.split('.').map((part) => `"${part}"`).join('.'));
  for (const [pattern, name] of TYPE_NAMES) out = out.replace(pattern, name);
  return out;
}

/** Statements that define, in DuckDB, the BigQuery functions the views use. */
export const DUCKDB_MACROS: readonly string[] = [];
