import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContractMismatchError, defineTable, required, SQL_DIR, SqlCatalog, TABLE_NAMES } from './index';

/** A copy of sql/ with one table's DDL edited, loaded as the app loads it. */
function loadEdited(table: string, edit: (ddl: string) => string): () => SqlCatalog {
  const dir = mkdtempSync(join(tmpdir(), 'sql-'));
  cpSync(SQL_DIR, dir, { recursive: true });
  const file = join(dir, 'tables', `${table}.sql`);
  writeFileSync(file, edit(readFileSync(file, 'utf8')));
  return () => {
    try {
      return SqlCatalog.load(dir);
    } finally {
      rmSync(dir, { recursive: true });
    }
  };
}

describe('table contracts against sql/tables', () => {
  it('match the DDL of every table, and name every table the catalog holds', () => {
    const catalog = SqlCatalog.load();
    expect(catalog.tables.map((t) => t.name).sort()).toEqual([...TABLE_NAMES].sort());
  });

  it.each([
    [
      'a column whose type changed',
      'telemetry',
      (ddl: string) => ddl.replace('environmentsCount INT64 NOT NULL', 'environmentsCount STRING NOT NULL'),
      'Table contract telemetry: column environmentsCount is STRING NOT NULL in sql/tables/telemetry.sql but INT64 NOT NULL in the contract',
    ],
    [
      'a column that became nullable',
      'website_events',
      (ddl: string) => ddl.replace('path STRING NOT NULL', 'path STRING'),
      'Table contract website_events: column path is STRING in sql/tables/website_events.sql but STRING NOT NULL in the contract',
    ],
    [
      'a column that became required',
      'telemetry',
      (ddl: string) => ddl.replace('  paid BOOL,', '  paid BOOL NOT NULL,'),
      'Table contract telemetry: column paid is BOOL NOT NULL in sql/tables/telemetry.sql but BOOL in the contract',
    ],
    [
      'a column added to the DDL only',
      'telemetry',
      (ddl: string) => ddl.replace('  paid BOOL,', '  paid BOOL,\n  visitorId STRING,'),
      'Table contract telemetry: column visitorId is in sql/tables/telemetry.sql but not in the contract',
    ],
    [
      'a column removed from the DDL only',
      'website_events',
      (ddl: string) => ddl.replace('  eventCategory STRING,\n', ''),
      'Table contract website_events: column eventCategory is in the contract but not in sql/tables/website_events.sql',
    ],
  ])('stop the load with one line naming table and column: %s', (_, table, edit, message) => {
    const load = loadEdited(table, edit);
    expect(load).toThrow(ContractMismatchError);
    expect(loadEdited(table, edit)).toThrow(message);
    expect(message).not.toContain('\n');
  });

  it('stop the load when a contract has no DDL, or a DDL no contract', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sql-'));
    cpSync(SQL_DIR, dir, { recursive: true });
    try {
      rmSync(join(dir, 'tables', 'website_events.sql'));
      expect(() => SqlCatalog.load(dir)).toThrow('Table contract website_events: sql/tables/website_events.sql is missing');
      cpSync(join(SQL_DIR, 'tables', 'website_events.sql'), join(dir, 'tables', 'website_events.sql'));
      writeFileSync(join(dir, 'tables', 'visitors.sql'), 'CREATE TABLE IF NOT EXISTS `{{dataset}}.visitors` (\n  id STRING NOT NULL\n);\n');
      expect(() => SqlCatalog.load(dir)).toThrow('Table visitors: sql/tables/visitors.sql has no table contract');
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('make a misspelt or missing key in a mapping a compile error', () => {
    const table = defineTable({
      name: 'sessions',
      columns: { environmentsCount: required('INT64'), receivedAt: required('TIMESTAMP') },
      receivedAt: 'receivedAt',
      // @ts-expect-error environmentsCount is misspelt: the row has an unknown key and misses a column
      toRow: (count: number, context) => ({ enviromentsCount: count, receivedAt: context.receivedAt }),
    });
    expect(table.name).toBe('sessions');
  });
});
