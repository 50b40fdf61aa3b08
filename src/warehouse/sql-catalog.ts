import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The tables the API writes. Their DDL is in sql/tables/<name>.sql. */
export type TableName = 'telemetry' | 'website_events';
export const TABLE_NAMES: readonly TableName[] = ['telemetry', 'website_events'];

/** BigQuery column types used in sql/. */
export type ColumnType = 'STRING' | 'INT64' | 'FLOAT64' | 'BOOL' | 'TIMESTAMP' | 'DATE';

export interface Column {
  readonly name: string;
  readonly type: ColumnType;
  readonly nullable: boolean;
}

export interface TableDef {
  readonly name: TableName;
  readonly columns: readonly Column[];
  /** BigQuery DDL with the {{dataset}} placeholder. */
  readonly sql: string;
}

export interface ViewDef {
  readonly name: string;
  readonly sql: string;
}

/** A row as the writer hands it to an adapter: one value per column, keyed by column name. */
export type Row = Record<string, string | number | boolean | Date | null>;

/** Resolves to <repo>/sql from both src/warehouse and dist/warehouse. */
export const SQL_DIR = resolve(__dirname, '../../sql');

const PLACEHOLDER = /\{\{dataset\}\}/g;
const CREATE_TABLE = /CREATE TABLE IF NOT EXISTS `\{\{dataset\}\}\.(\w+)`\s*\(([\s\S]*?)\n\)/i;
const COLUMN = /^\s*(\w+)\s+(STRING|INT64|FLOAT64|BOOL|TIMESTAMP|DATE)\b(\s+NOT NULL)?/i;

/**
 * sql/ is the single source of truth for the warehouse: tables in sql/tables, views in
 * sql/views, both in BigQuery Standard SQL with `{{dataset}}` where the dataset goes.
 */
export class SqlCatalog {
  private constructor(
    readonly tables: readonly TableDef[],
    readonly views: readonly ViewDef[],
  ) {}

  static load(dir: string = SQL_DIR): SqlCatalog {
    const read = (sub: string) =>
      listSql(join(dir, sub)).map((file) => ({
        name: file.replace(/\.sql$/, ''),
        sql: readFileSync(join(dir, sub, file), 'utf8'),
      }));
    const tables = read('tables').map(({ name, sql }) => parseTable(name, sql));
    for (const name of TABLE_NAMES) {
      if (!tables.some((t) => t.name === name)) throw new Error(`sql/tables/${name}.sql is missing`);
    }
    return new SqlCatalog(tables, read('views'));
  }

  table(name: TableName): TableDef {
    return this.tables.find((t) => t.name === name)!;
  }
}

/** Puts the dataset ("analytics", or "project.analytics" for BigQuery) where {{dataset}} stands, inside its backticks. */
export function renderSql(sql: string, datasetRef: string): string {
  return sql.replace(PLACEHOLDER, datasetRef);
}

export function parseTable(fileName: string, sql: string): TableDef {
  const match = CREATE_TABLE.exec(sql);
  if (!match || match[1] !== fileName) {
    throw new Error(`sql/tables/${fileName}.sql must hold CREATE TABLE IF NOT EXISTS \`{{dataset}}.${fileName}\` (...)`);
  }
  const columns = match[2]
    .split('\n')
    .map((line) => COLUMN.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ name: m[1], type: m[2].toUpperCase() as ColumnType, nullable: !m[3] }));
  return { name: fileName as TableName, columns, sql };
}

function listSql(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith('.sql'))
      .sort();
  } catch {
    return [];
  }
}
