import { Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { IngestStats } from '../stats/ingest-stats';
import { BatchWriter } from './batch-writer.service';
import { Row, SqlCatalog, TableDef } from './sql-catalog';
import { Warehouse, WarehouseWriteError } from './warehouse.port';

/**
 * The port's contract seen from BatchWriter: an engine that records each insert call and
 * fails on demand. The real engines are exercised end to end in test/.
 */
class ScriptedWarehouse implements Warehouse {
  readonly calls: { table: string; rows: number; batchId: string; at: number }[] = [];
  readonly stored: Row[] = [];
  failures: Error[] = [];
  inFlight = 0;
  maxInFlight = 0;
  latencyMs = 0;

  async prepare(): Promise<void> {}
  applySchema(): Promise<string[]> {
    return Promise.resolve([]);
  }
  query(): Promise<Record<string, unknown>[]> {
    return Promise.resolve([]);
  }
  async close(): Promise<void> {}

  async insert(table: TableDef, rows: readonly Row[], batchId: string): Promise<void> {
    this.calls.push({ table: table.name, rows: rows.length, batchId, at: Date.now() });
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await new Promise((r) => setTimeout(r, this.latencyMs));
      const failure = this.failures.shift();
      if (failure) throw failure;
      this.stored.push(...rows);
    } finally {
      this.inFlight--;
    }
  }
}

function setup(env: Record<string, string> = {}) {
  const config = AppConfig.fromEnv({ FLUSH_INTERVAL_MS: '20', RETRY_BASE_DELAY_MS: '10', ...env });
  const warehouse = new ScriptedWarehouse();
  const stats = new IngestStats();
  const writer = new BatchWriter(() => Promise.resolve(warehouse), SqlCatalog.load(), config, stats);
  return { warehouse, stats, writer };
}

const row = (i: number): Row => ({ type: 'pageview', path: `/${i}` });

describe('BatchWriter', () => {
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['log', 'error', 'warn']));

  it('closes a batch at BATCH_SIZE rows and the rest after FLUSH_INTERVAL_MS', async () => {
    const { warehouse, writer } = setup({ BATCH_SIZE: '10', FLUSH_INTERVAL_MS: '300' });
    const started = Date.now();
    for (let i = 0; i < 25; i++) writer.enqueue('website_events', row(i));
    await writer.onApplicationShutdown();
    expect(warehouse.calls.map((c) => c.rows)).toEqual([10, 10, 5]);
    expect(warehouse.calls[0].at - started).toBeLessThan(250);
    expect(warehouse.stored).toHaveLength(25);
  });

  it('keeps one write in flight per table', async () => {
    const { warehouse, writer } = setup({ BATCH_SIZE: '5' });
    warehouse.latencyMs = 30;
    for (let i = 0; i < 40; i++) writer.enqueue('telemetry', row(i));
    await writer.onApplicationShutdown();
    expect(warehouse.calls).toHaveLength(8);
    expect(warehouse.maxInFlight).toBe(1);
  });

  it('merges the batches that close while a write is in flight, up to BATCH_SIZE rows', async () => {
    const { warehouse, writer } = setup({ BATCH_SIZE: '30', FLUSH_INTERVAL_MS: '10' });
    // Writes slower than the whole enqueue loop, so that timing noise cannot split the merges.
    warehouse.latencyMs = 400;
    for (let i = 0; i < 10; i++) {
      for (let j = 0; j < 5; j++) writer.enqueue('telemetry', row(i * 5 + j));
      await new Promise((r) => setTimeout(r, 20));
    }
    await writer.onApplicationShutdown();
    expect(warehouse.stored.map((r) => r.path)).toEqual(Array.from({ length: 50 }, (_, i) => `/${i}`));
    // About ten batches closed; the ones that closed during a write were merged into the next.
    expect(warehouse.calls.length).toBeLessThanOrEqual(4);
    expect(Math.max(...warehouse.calls.map((c) => c.rows))).toBeLessThanOrEqual(30);
    expect(warehouse.calls.some((c) => c.rows > 5)).toBe(true);
  });

  it('retries a failed batch under the same batch id, and counts the retries', async () => {
    const { warehouse, writer, stats } = setup();
    warehouse.failures = [new WarehouseWriteError('503', 'backendError', true), new Error('socket hang up')];
    writer.enqueue('website_events', row(1));
    await writer.onApplicationShutdown();
    expect(warehouse.calls).toHaveLength(3);
    expect(new Set(warehouse.calls.map((c) => c.batchId)).size).toBe(1);
    expect(warehouse.stored).toHaveLength(1);
    expect(stats.snapshot().website_events).toMatchObject({ written: 1, retried: 2, dropped: 0 });
  });

  it('gives each batch its own id', async () => {
    const { warehouse, writer } = setup({ BATCH_SIZE: '1' });
    for (let i = 0; i < 3; i++) writer.enqueue('website_events', row(i));
    await writer.onApplicationShutdown();
    expect(new Set(warehouse.calls.map((c) => c.batchId)).size).toBe(3);
  });

  it('drops a batch the warehouse calls permanent at once, and counts it', async () => {
    const { warehouse, writer, stats } = setup();
    warehouse.failures = [new WarehouseWriteError('bad', 'invalidQuery', false)];
    writer.enqueue('telemetry', row(1));
    writer.enqueue('telemetry', row(2));
    await writer.onApplicationShutdown();
    expect(warehouse.calls).toHaveLength(1);
    expect(stats.snapshot().telemetry).toMatchObject({ written: 0, retried: 0, dropped: 2 });
    expect(writer.pending('telemetry')).toBe(0);
  });

  it('drops a batch after WRITE_MAX_ATTEMPTS', async () => {
    const { warehouse, writer, stats } = setup({ WRITE_MAX_ATTEMPTS: '3' });
    warehouse.failures = Array.from({ length: 10 }, () => new Error('down'));
    writer.enqueue('telemetry', row(1));
    await writer.onApplicationShutdown();
    expect(warehouse.calls).toHaveLength(3);
    expect(stats.snapshot().telemetry).toMatchObject({ written: 0, retried: 2, dropped: 1 });
  });

  it('bounds what waits in memory and counts every row it turns away', async () => {
    const { warehouse, writer, stats } = setup({ MAX_BUFFERED_EVENTS: '50', BATCH_SIZE: '10' });
    warehouse.latencyMs = 50;
    const accepted = Array.from({ length: 200 }, (_, i) => writer.enqueue('telemetry', row(i))).filter(Boolean).length;
    expect(accepted).toBe(50);
    expect(writer.pending('telemetry')).toBe(50);
    await writer.onApplicationShutdown();
    expect(warehouse.stored).toHaveLength(50);
    expect(stats.snapshot().telemetry).toMatchObject({ written: 50, dropped: 150 });
  });

  it('gives up on what is left when the shutdown deadline passes, and counts it', async () => {
    const { warehouse, writer, stats } = setup({ SHUTDOWN_FLUSH_TIMEOUT_MS: '100' });
    warehouse.latencyMs = 1000;
    for (let i = 0; i < 5; i++) writer.enqueue('telemetry', row(i));
    const started = Date.now();
    await writer.onApplicationShutdown();
    expect(Date.now() - started).toBeLessThan(900);
    expect(stats.snapshot().telemetry.dropped).toBe(5);
  });
});
