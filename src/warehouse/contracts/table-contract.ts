/** BigQuery column types used in sql/. */
export type ColumnType = 'STRING' | 'INT64' | 'FLOAT64' | 'BOOL' | 'TIMESTAMP' | 'DATE';

export interface ColumnSpec<T extends ColumnType = ColumnType, N extends boolean = boolean> {
  readonly type: T;
  readonly nullable: N;
}

export const required = <T extends ColumnType>(type: T): ColumnSpec<T, false> => ({ type, nullable: false });
export const nullable = <T extends ColumnType>(type: T): ColumnSpec<T, true> => ({ type, nullable: true });

type JsType<T extends ColumnType> = T extends 'STRING'
  ? string
  : T extends 'INT64' | 'FLOAT64'
    ? number
    : T extends 'BOOL'
      ? boolean
      : Date;
type ValueOf<C extends ColumnSpec> = JsType<C['type']> | (C['nullable'] extends true ? null : never);

export type Columns = Readonly<Record<string, ColumnSpec>>;

/** A row of a table whose columns are C: every column present, each value of its column's type. */
export type RowOf<C extends Columns> = { [K in keyof C]: ValueOf<C[K]> };

/** Any row, as an engine sees it: one value per column, keyed by column name. */
export type RowValue = string | number | boolean | Date | null;
export type Row = Readonly<Record<string, RowValue>>;

/** What the server knows about a request beyond its body. Raw values; a mapping decides what is stored. */
export interface RequestContext {
  readonly receivedAt: Date;
  /** X-Appengine-Country: ISO 3166-1 alpha-2, or ZZ when App Engine does not know. */
  readonly country?: string;
  readonly userAgent?: string;
}

/**
 * One table as the code knows it: the columns with their types (checked against sql/tables/<name>.sql
 * when the catalog loads), and the mapping from a validated event plus its request to a row.
 */
export interface TableContract<Name extends string = string, C extends Columns = Columns, Input = never> {
  readonly name: Name;
  readonly columns: C;
  /** The column that holds the server's receive time. */
  readonly receivedAt: keyof C & string;
  /** NoInfer: the columns alone define the row, so a misspelt or missing key is a compile error. */
  toRow(input: Input, context: RequestContext): NoInfer<RowOf<C>>;
}

export function defineTable<const Name extends string, const C extends Columns, Input>(
  contract: TableContract<Name, C, Input>,
): TableContract<Name, C, Input> {
  return contract;
}
