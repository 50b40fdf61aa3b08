import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Columns, ColumnType } from './table-contract';
import { TABLE_CONTRACTS, TableName } from './tables';

export interface Column {
  readonly name: string;
  readonly type: ColumnType;
  readonly nullable: boolean;
}

/** A table as its DDL in sql/tables declares it. */
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

/** A range query of sql/dashboard: one SELECT taking @start_date and @end_date (DATE, both included). */
export type QueryDef = ViewDef;

/** Resolves to <repo>/sql from both src/warehouse/contracts and dist/warehouse/contracts. */
export const SQL_DIR = resolve(__dirname, '../../../sql');

const PLACEHOLDER = /\{\{dataset\}\}/g;
const CREATE_TABLE = /CREATE TABLE IF NOT EXISTS `\{\{dataset\}\}\.(\w+)`\s*\(([\s\S]*?)\n\)/i;
const COLUMN = /^\s*(\w+)\s+(STRING|INT64|FLOAT64|BOOL|TIMESTAMP|DATE)\b(\s+NOT NULL)?/i;

/** What the check reads of a table contract. */
export interface ContractColumns {
  readonly name: string;
  readonly columns: Columns;
}

/** A table contract that does not match its DDL. The message is one line naming the table and the column. */
export class ContractMismatchError extends Error {}

/**
 * sql/ is the single source of truth for the warehouse: tables in sql/tables, views in
 * sql/views, the built-in dashboard's range queries in sql/dashboard, all in BigQuery
 * Standard SQL with `{{dataset}}` where the dataset goes.
 * Loading it checks every table contract against its DDL.
 */
export class SqlCatalog {
  private constructor(
    readonly tables: readonly TableDef[],
    readonly views: readonly ViewDef[],
    readonly queries: readonly QueryDef[] = [],
  ) {}

  /** Throws a ContractMismatchError when a contract and sql/tables disagree. */
  static load(dir: string = SQL_DIR, contracts: readonly ContractColumns[] = TABLE_CONTRACTS): SqlCatalog {
    const read = (sub: string) =>
      listSql(join(dir, sub)).map((file) => ({
        name: file.replace(/\.sql$/, ''),
        sql: readFileSync(join(dir, sub, file), 'utf8'),
      }));
    const tables = read('tables').map(({ name, sql }) => parseTable(name, sql));
    for (const contract of contracts)
      checkContract(
        contract,
        tables.find((t) => t.name === contract.name),
      );
    const orphan = tables.find((t) => !contracts.some((c) => c.name === t.name));
    if (orphan) throw new ContractMismatchError(`Table ${orphan.name}: sql/tables/${orphan.name}.sql has no table contract`);
    return new SqlCatalog(tables, read('views'), read('dashboard'));
  }

  table(name: TableName): TableDef {
    return this.tables.find((t) => t.name === name)!;
  }

  /** The range query sql/dashboard/<name>.sql; throws when there is none. */
  query(name: string): QueryDef {
    const query = this.queries.find((q) => q.name === name);
    if (!query) throw new Error(`sql/dashboard/${name}.sql is missing`);
    return query;
  }
}

/** Every column in the DDL has a field in the contract with the same type and nullability, and the other way round. */
export function checkContract(contract: ContractColumns, table: TableDef | undefined): void {
  const where = `sql/tables/${contract.name}.sql`;
  if (!table) throw new ContractMismatchError(`Table contract ${contract.name}: ${where} is missing`);
  const spell = (c: { type: ColumnType; nullable: boolean }) => `${c.type}${c.nullable ? '' : ' NOT NULL'}`;
  for (const column of table.columns) {
    const field = contract.columns[column.name];
    if (!field)
      throw new ContractMismatchError(`Table contract ${contract.name}: column ${column.name} is in ${where} but not in the contract`);
    if (field.type !== column.type || field.nullable !== column.nullable) {
      throw new ContractMismatchError(
        `Table contract ${contract.name}: column ${column.name} is ${spell(column)} in ${where} but ${spell(field)} in the contract`,
      );
    }
  }
  for (const name of Object.keys(contract.columns)) {
    if (!table.columns.some((c) => c.name === name)) {
      throw new ContractMismatchError(`Table contract ${contract.name}: column ${name} is in the contract but not in ${where}`);
    }
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

/** For entry points: the catalog, or, when a table contract and sql/ disagree, that one line on stderr and exit status 1. */
export function catalogOrExit(): SqlCatalog {
  try {
    return SqlCatalog.load();
  } catch (error) {
    if (!(error instanceof ContractMismatchError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
}
