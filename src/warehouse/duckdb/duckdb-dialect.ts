/**
 * sql/ is written in BigQuery Standard SQL. This is the small layer that lets the embedded
 * DuckDB warehouse run the same files: a few textual rewrites of what DuckDB spells
 * differently, and macros (DUCKDB_MACROS) for BigQuery functions DuckDB lacks.
 *
 * DuckDB already has, with BigQuery's meaning for the way sql/ uses them: DATE(timestamp),
 * IF, IFNULL, NULLIF, SPLIT, LOWER, LEAST, COUNT(DISTINCT), window functions. COUNTIF it has
 * too, but over no rows it gives NULL where BigQuery gives 0, so it is rewritten.
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

/** TIMESTAMP_DIFF's date parts, as microseconds (the unit of DuckDB's epoch_us). */
const MICROSECONDS: Record<string, number> = {
  MICROSECOND: 1,
  MILLISECOND: 1_000,
  SECOND: 1_000_000,
  MINUTE: 60_000_000,
  HOUR: 3_600_000_000,
  DAY: 86_400_000_000,
};

/**
 * Tables and views live in the connection's current schema (the dataset), so the
 * qualifier is dropped: a file named analytics.duckdb makes "analytics" a catalog too,
 * and DuckDB refuses `analytics.telemetry` as ambiguous.
 */
export function toDuckDb(sql: string): string {
  let out = sql.replace(/\{\{dataset\}\}\./g, '');
  for (const clause of BIGQUERY_ONLY_CLAUSES) out = out.replace(clause, '');
  // `dataset.table` is one quoted path in BigQuery, two quoted names in DuckDB.
  out = out.replace(/`([^`]+)`/g, (_, path: string) =>
    path
      .split('.')
      .map((part) => `"${part}"`)
      .join('.'),
  );
  for (const [pattern, name] of TYPE_NAMES) out = out.replace(pattern, name);
  out = rewriteCalls(out, 'APPROX_QUANTILES', (args, rest) => {
    // BigQuery's median idiom APPROX_QUANTILES(x, n)[OFFSET(k)]: the k/n quantile, taken (as
    // BigQuery does) from the input values rather than interpolated.
    const pick = /^\s*\[\s*(?:SAFE_)?OFFSET\s*\(\s*(\d+)\s*\)\s*\]/i.exec(rest);
    if (args.length !== 2 || !pick) throw new Error('toDuckDb: APPROX_QUANTILES is supported as APPROX_QUANTILES(x, n)[OFFSET(k)] only');
    return { call: `quantile_disc(${args[0]}, ${pick[1]} / ${args[1].trim()})`, consumed: pick[0].length };
  });
  out = rewriteCalls(out, 'TIMESTAMP_DIFF', (args) => {
    const part = args[2]?.trim().toUpperCase();
    if (args.length !== 3 || !(part in MICROSECONDS))
      throw new Error(`toDuckDb: TIMESTAMP_DIFF with date part ${args[2]} is not supported`);
    return { call: `bq_timestamp_diff(${args[0]}, ${args[1].trim()}, ${MICROSECONDS[part]})`, consumed: 0 };
  });
  // COUNTIF over no rows (a range without events) is 0 in BigQuery, NULL in DuckDB; COUNT is 0 in both.
  out = rewriteCalls(out, 'COUNTIF', (args) => {
    if (args.length !== 1) throw new Error('toDuckDb: COUNTIF takes one argument');
    return { call: `COUNT(NULLIF(${args[0].trim()}, FALSE))`, consumed: 0 };
  });
  // BigQuery arrays are 0-based, DuckDB lists 1-based; both give NULL past the end here.
  out = out.replace(/\[\s*(?:SAFE_)?OFFSET\s*\(/gi, '[1 + (');
  return out;
}

/** Statements that define, in DuckDB, the BigQuery functions the views use. */
export const DUCKDB_MACROS: readonly string[] = [
  // BigQuery: NULL instead of an error when dividing by zero.
  'CREATE OR REPLACE MACRO safe_divide(a, b) AS CASE WHEN b = 0 THEN NULL ELSE a / b END',
  // BigQuery: whole units between two timestamps, truncated toward zero (negative when b > a).
  'CREATE OR REPLACE MACRO bq_timestamp_diff(a, b, unit_us) AS CAST(trunc((epoch_us(a) - epoch_us(b)) / unit_us) AS BIGINT)',
];

/**
 * Replaces each call NAME(args...) (case-insensitive, not part of a longer name) with what
 * `replace` returns; `rest` is the text after the closing parenthesis, of which the
 * replacement may consume a prefix (e.g. a following [OFFSET(1)]).
 */
function rewriteCalls(sql: string, name: string, replace: (args: string[], rest: string) => { call: string; consumed: number }): string {
  const start = new RegExp(`(?<![\\w.])${name}\\s*\\(`, 'gi');
  let out = '';
  let from = 0;
  for (let match = start.exec(sql); match; match = start.exec(sql)) {
    if (insideString(sql, match.index)) continue;
    const open = match.index + match[0].length;
    const { args, end } = splitArgs(sql, open);
    const inner = args.map((a) => rewriteCalls(a, name, replace));
    const { call, consumed } = replace(inner, sql.slice(end + 1));
    out += sql.slice(from, match.index) + call;
    from = end + 1 + consumed;
    start.lastIndex = from;
  }
  return out + sql.slice(from);
}

/** Inside a quoted string or a `--` comment (whose apostrophes, as in "the day's", quote nothing). */
function insideString(sql: string, index: number): boolean {
  let quote: string | undefined;
  for (let i = 0; i < index; i++) {
    if (!quote && sql.startsWith('--', i)) {
      const end = sql.indexOf('\n', i);
      if (end < 0 || end >= index) return true;
      i = end;
    } else if (quote ? sql[i] === quote : sql[i] === "'" || sql[i] === '"') quote = quote ? undefined : sql[i];
  }
  return quote !== undefined;
}

/** The top-level, comma-separated arguments of a call whose '(' is just before `open`. */
function splitArgs(sql: string, open: number): { args: string[]; end: number } {
  const args: string[] = [];
  let depth = 0;
  let argStart = open;
  for (let i = open; i < sql.length; i++) {
    const ch = sql[i];
    if (ch === "'" || ch === '"') {
      const close = sql.indexOf(ch, i + 1);
      if (close < 0) break;
      i = close;
    } else if (ch === '(' || ch === '[') {
      depth++;
    } else if (ch === ')' || ch === ']') {
      if (depth === 0) {
        args.push(sql.slice(argStart, i));
        return { args, end: i };
      }
      depth--;
    } else if (ch === ',' && depth === 0) {
      args.push(sql.slice(argStart, i));
      argStart = i + 1;
    }
  }
  throw new Error('toDuckDb: unbalanced parentheses');
}
