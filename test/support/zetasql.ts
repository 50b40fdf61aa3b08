import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { LanguageOptions, ZetaSQLClient } from '@fivetrandevelopers/zetasql';
import { ColumnType, TableDef } from '../../src/warehouse/contracts';

/**
 * BigQuery's SQL front end, ZetaSQL, run offline: @fivetrandevelopers/zetasql ships the
 * analyzer as a native gRPC server inside its npm package. Statements are analyzed (parsed,
 * names resolved, types checked) against tables described by sql/tables, so a view that
 * BigQuery would reject for its syntax, an unknown function or column, or a type error
 * fails here.
 */
const TYPE_KINDS: Record<ColumnType, string> = {
  STRING: 'TYPE_STRING',
  INT64: 'TYPE_INT64',
  FLOAT64: 'TYPE_DOUBLE',
  BOOL: 'TYPE_BOOL',
  TIMESTAMP: 'TYPE_TIMESTAMP',
  DATE: 'TYPE_DATE',
};

export interface OutputColumn {
  name: string;
  /** ZetaSQL's TypeKind number, e.g. 2 for INT64. */
  typeKind: number;
}

export interface BigQueryAnalyzer {
  /**
   * Resolves, with the statement's output columns, when ZetaSQL accepts it; rejects with
   * ZetaSQL's message otherwise. `params` declares the query parameters (@name) and their
   * types, as BigQuery's query parameters; a parameter not declared is an error.
   */
  analyze(sql: string, params?: Readonly<Record<string, ColumnType>>): Promise<OutputColumn[]>;
  /** Makes `dataset.name` known to later statements, e.g. a view analyzed before. */
  addTable(name: string, columns: readonly OutputColumn[]): void;
  stop(): void;
}

export async function startBigQueryAnalyzer(dataset: string, tables: readonly TableDef[]): Promise<BigQueryAnalyzer> {
  const port = await freePort();
  const server = spawnServer(port);
  // Not left behind when a test run ends without afterAll (a crash, a timeout).
  const killServer = () => server.kill('SIGKILL');
  process.once('exit', killServer);
  server.once('exit', () => process.off('exit', killServer));
  const exited = new Promise<never>((_, reject) =>
    server.once('exit', (code, signal) => reject(new Error(`ZetaSQL server exited (${code ?? signal})`))),
  );
  exited.catch(() => undefined);
  try {
    ZetaSQLClient.init(port);
    const client = ZetaSQLClient.getInstance();
    if (!(await Promise.race([client.testConnection(), exited]))) throw new Error('ZetaSQL server did not answer');
    const languageOptions = {
      ...(await new LanguageOptions().enableMaximumLanguageFeatures()).serialize(),
      // BigQuery is ZetaSQL's external product mode: INT64/FLOAT64 only, no proto types.
      productMode: 'PRODUCT_EXTERNAL' as const,
      supportedStatementKinds: ['RESOLVED_QUERY_STMT' as const, 'RESOLVED_CREATE_VIEW_STMT' as const],
    };
    // A backticked `dataset.table` is one identifier to ZetaSQL, so that is the table's name.
    const simpleCatalog = {
      name: 'bigquery',
      table: tables.map((t) => ({
        name: `${dataset}.${t.name}`,
        column: t.columns.map((c) => ({ name: c.name, type: { typeKind: TYPE_KINDS[c.type] as never } })),
      })),
      builtinFunctionOptions: { languageOptions },
    };
    return {
      async analyze(sql: string, params = {}) {
        const queryParameters = Object.entries(params).map(([name, type]) => ({ name, type: { typeKind: TYPE_KINDS[type] as never } }));
        let response: unknown;
        try {
          response = await client.analyze({
            simpleCatalog,
            sqlStatement: sql,
            options: { languageOptions, defaultTimezone: 'UTC', queryParameters },
          });
        } catch (error) {
          throw new Error((error as { details?: string }).details ?? String(error), { cause: error });
        }
        return outputColumns(response);
      },
      addTable(name, columns) {
        simpleCatalog.table.push({
          name: `${dataset}.${name}`,
          column: columns.map((c) => ({ name: c.name, type: { typeKind: c.typeKind as never } })),
        });
      },
      stop: () => server.kill('SIGKILL'),
    };
  } catch (error) {
    server.kill('SIGKILL');
    throw error;
  }
}

/** The first outputColumnList in the resolved AST (a query's or a view's). */
function outputColumns(node: unknown): OutputColumn[] {
  if (node === null || typeof node !== 'object') return [];
  const list = (node as { outputColumnList?: { name: string; column: { type: { typeKind: number } } }[] }).outputColumnList;
  if (Array.isArray(list)) return list.map((o) => ({ name: o.name, typeKind: o.column.type.typeKind }));
  for (const child of Object.values(node)) {
    const found = outputColumns(child);
    if (found.length > 0) return found;
  }
  return [];
}

function spawnServer(port: number): ChildProcess {
  // The package's own runServer() never resolves and keeps no handle to stop; this starts the same binary.
  const suffix = (process.arch.startsWith('arm') ? '_arm' : '') + (process.platform === 'darwin' ? '' : '.so');
  const binary = join(dirname(require.resolve('@fivetrandevelopers/zetasql')), 'zetasql', `remote_server${suffix}`);
  return spawn(binary, ['localhost', String(port)], { stdio: 'ignore' });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}
