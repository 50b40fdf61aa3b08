import { DuckDBDateValue, DuckDBTimestampValue } from '@duckdb/node-api';
import { TableDef } from '../contracts';
import { layoutOf, RefusedValue, toChunks } from './duckdb-chunks';

/** Rows into DuckDB data chunks, read back from the chunks' own vectors. */
describe('toChunks', () => {
  const table = {
    name: 'telemetry',
    sql: '',
    columns: [
      { name: 'day', type: 'DATE', nullable: false },
      { name: 'at', type: 'TIMESTAMP', nullable: true },
      { name: 'n', type: 'INT64', nullable: true },
      { name: 'x', type: 'FLOAT64', nullable: true },
      { name: 'ok', type: 'BOOL', nullable: true },
      { name: 's', type: 'STRING', nullable: true },
    ],
  } as unknown as TableDef;

  it('converts each type, and fills a column sql/ no longer has with NULL', () => {
    const layout = layoutOf(table, ['old', 's', 'ok', 'x', 'n', 'at', 'day']);
    const row = { day: new Date('2024-05-01T23:59:59Z'), at: new Date('2024-05-01T10:00:00.123Z'), n: 7, x: 0.5, ok: true, s: 'é\u0000' };
    const [chunk] = toChunks(table, layout, [row, { ...row, at: null, n: null, x: null, ok: null, s: null }]);
    expect(chunk.getRows()).toEqual([
      [null, 'é\u0000', true, 0.5, 7n, new DuckDBTimestampValue(1714557600123000n), new DuckDBDateValue(19844)],
      [null, null, null, null, null, null, new DuckDBDateValue(19844)],
    ]);
  });

  it('splits rows into chunks of 2,048, none empty', () => {
    const layout = layoutOf(table, ['day', 'at', 'n', 'x', 'ok', 's']);
    const sizes = (n: number) =>
      toChunks(
        table,
        layout,
        Array.from({ length: n }, () => ({ day: new Date(0) })),
      ).map((c) => c.rowCount);
    expect(sizes(4097)).toEqual([2048, 2048, 1]);
    expect(sizes(4096)).toEqual([2048, 2048]);
  });

  it('empties and refills the chunks it is given, and adds the ones it creates', () => {
    const layout = layoutOf(table, ['day', 'at', 'n', 'x', 'ok', 's']);
    const day = new Date(0);
    const kept = toChunks(table, layout, [
      { day, n: 1, s: 'first' },
      { day, n: 2, ok: true },
    ]);
    const [chunk] = kept;
    expect(toChunks(table, layout, [{ day, s: 'second' }], kept)).toEqual([chunk]);
    // Nothing left of the first rows: neither the second row, nor the first row's values, nor its NULL masks.
    expect(chunk.getRows()).toEqual([[new DuckDBDateValue(0), null, null, null, null, 'second']]);
    const more = toChunks(
      table,
      layout,
      Array.from({ length: 2049 }, () => ({ day, n: 3 })),
      kept,
    );
    expect(more.map((c) => c.rowCount)).toEqual([2048, 1]);
    expect(more[0]).toBe(chunk);
    expect(kept).toEqual(more);
    expect(more[1].getRows()).toEqual([[new DuckDBDateValue(0), null, 3n, null, null, null]]);
  });

  it('refuses a table the file keeps without one of its columns, rather than leave the column out', () => {
    expect(() => layoutOf(table, ['day', 'at', 'n', 'x', 'ok'])).toThrow('DuckDB table telemetry has no column s: sql/ is not applied');
  });

  it.each([
    ['day', null, 'Constraint Error: NOT NULL constraint failed: telemetry.day'],
    ['day', new Date(Number.NaN), "Conversion Error: telemetry.day (DATE) cannot hold the row's value (an invalid Date)"],
    ['at', '2024-05-01', "Conversion Error: telemetry.at (TIMESTAMP) cannot hold the row's value (a string)"],
    ['n', 2 ** 53, "Conversion Error: telemetry.n (INT64) cannot hold the row's value (a number)"],
    ['x', '1', "Conversion Error: telemetry.x (FLOAT64) cannot hold the row's value (a string)"],
    ['ok', 1, "Conversion Error: telemetry.ok (BOOL) cannot hold the row's value (a number)"],
    ['s', 1, "Conversion Error: telemetry.s (STRING) cannot hold the row's value (a number)"],
  ])('refuses %s = %p', (column, value, message) => {
    const layout = layoutOf(table, ['day', 'at', 'n', 'x', 'ok', 's']);
    const refused = () => toChunks(table, layout, [{ day: new Date(0), [column]: value }]);
    expect(refused).toThrow(RefusedValue);
    expect(refused).toThrow(message);
  });
});
