/** Values a query may take as @name parameters: never SQL text. */
export type QueryParams = Readonly<Record<string, string | number | boolean | Date>>;

/** The read role: `npm run report` and the operator route. */
export interface WarehouseReader {
  /**
   * Runs one read-only query written in BigQuery SQL, with `{{dataset}}` where the dataset goes and
   * `@name` for each parameter (the engine renders both). Values come back as plain JS values
   * (numbers, strings, booleans, Dates, null); the caller names the row type it expects.
   */
  read<R extends object = Record<string, unknown>>(sql: string, params?: QueryParams): Promise<R[]>;

  close(): Promise<void>;
}

const ONE_SELECT = /^\s*(SELECT|WITH)\b[^;]*;?\s*$/i;

/** The reader runs one SELECT: no DML, no DDL, no second statement. */
export function assertReadOnly(sql: string): void {
  if (!ONE_SELECT.test(sql)) throw new Error('A warehouse reader runs one SELECT statement, without semicolons inside');
}
