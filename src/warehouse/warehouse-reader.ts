/** A DATE parameter, e.g. new CalendarDate('2024-05-01'): a JS Date is a TIMESTAMP. */
export class CalendarDate {
  constructor(readonly iso: string) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(iso)) throw new Error(`CalendarDate: ${iso} is not YYYY-MM-DD`);
  }
}

/** Values a query may take as @name parameters: never SQL text. */
export type QueryParams = Readonly<Record<string, string | number | boolean | Date | CalendarDate>>;

/** What the engine says a query cost: BigQuery's bytes processed (what on-demand pricing bills); absent on DuckDB. */
export interface QueryStats {
  readonly bytesProcessed?: number;
}

/** The read role: `npm run report` and the operator route. */
export interface WarehouseReader {
  /**
   * Runs one read-only query written in BigQuery SQL, with `{{dataset}}` where the dataset goes and
   * `@name` for each parameter (the engine renders both). Values come back as plain JS values
   * (numbers, strings, booleans, Dates, null); the caller names the row type it expects.
   */
  read<R extends object = Record<string, unknown>>(sql: string, params?: QueryParams): Promise<R[]>;

  /** As read(), with the query's statistics. */
  readWithStats<R extends object = Record<string, unknown>>(sql: string, params?: QueryParams): Promise<{ rows: R[]; stats: QueryStats }>;

  close(): Promise<void>;
}

/** Leading `--` comment lines are allowed (sql/dashboard files open with one). */
const ONE_SELECT = /^\s*(?:--[^\n]*\n\s*)*(SELECT|WITH)\b[^;]*;?\s*$/i;

/** The reader runs one SELECT: no DML, no DDL, no second statement. */
export function assertReadOnly(sql: string): void {
  if (!ONE_SELECT.test(sql)) throw new Error('A warehouse reader runs one SELECT statement, without semicolons inside');
}
