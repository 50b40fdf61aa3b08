import { Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { IngestStats } from '../stats/ingest-stats';
import { BatchWriter } from './batch-writer.service';
import { Row, SqlCatalog, TableDef } from './sql-catalog';
import { Warehouse, WarehouseWriteError } from './warehouse.port';

/** An engine that fails its first `failures` inserts with a retryable error, and notes when each insert was tried. */
class FlakyWarehouse implements Warehouse {
  readonly attemptsAt: number[] = [];
  readonly stored: Row[] = [];

  constructor(private failures: number) {}

  prepare(): Promise<void> {
    return Promise.resolve();
  }
  applySchema(): Promise<string[]> {
    return Promise.resolve([]);
  }
  query(): Promise<Record<string, unknown>[]> {
    return Promise.resolve([]);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  insert(_table: TableDef, rows: readonly Row[]): Promise<void> {
    this.attemptsAt.push(Date.now());
    if (this.failures-- > 0) return Promise.reject(new WarehouseWriteError('503', 'backendError', true));
    this.stored.push(...rows);
    return Promise.resolve();
  }

  /** Time between one attempt and the next. */
  gaps(): number[] {
    return this.attemptsAt.slice(1).map((at, i) => at - this.attemptsAt[i]);
  }
}

/**
 * How long a failed batch waits before its next attempt: exponential backoff from
 * RETRY_BASE_DELAY_MS with "equal jitter" (half the ceiling, plus up to the other half at random),
 * capped at a minute; 250 ms while shutting down. Time here is jest's fake clock, and the jitter
 * is pinned through Math.random, so each wait is exact.
 */
describe('BatchWriter retry backoff', () => {
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['log', 'error', 'warn']));
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  function setup(failures: number, env: Record<string, string>) {
    const config = AppConfig.fromEnv({ FLUSH_INTERVAL_MS: '100', WRITE_MAX_ATTEMPTS: '8', ...env });
    const warehouse = new FlakyWarehouse(failures);
    const stats = new IngestStats();
    const writer = new BatchWriter(() => Promise.resolve(warehouse), SqlCatalog.load(), config, stats);
    return { warehouse, writer, stats };
  }

  async function writeOneRowThrough(failures: number, env: Record<string, string>, runForMs: number) {
    const { warehouse, writer, stats } = setup(failures, env);
    writer.enqueue('telemetry', { installationId: 'a' });
    await jest.advanceTimersByTimeAsync(runForMs);
    const shutdown = writer.onApplicationShutdown();
    await jest.advanceTimersByTimeAsync(10_000);
    await shutdown;
    return { warehouse, stats };
  }

  it('waits half the ceiling at least: the ceiling starts at RETRY_BASE_DELAY_MS and doubles per attempt', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0);
    const { warehouse, stats } = await writeOneRowThrough(3, { RETRY_BASE_DELAY_MS: '1000' }, 100 + 500 + 1000 + 2000);
    expect(warehouse.gaps()).toEqual([500, 1000, 2000]);
    expect(warehouse.stored).toHaveLength(1);
    expect(stats.snapshot().telemetry).toMatchObject({ written: 1, retried: 3, dropped: 0 });
  });

  it('adds up to the other half of the ceiling at random, so that instances retrying together spread out', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0.5);
    const { warehouse } = await writeOneRowThrough(2, { RETRY_BASE_DELAY_MS: '1000' }, 100 + 750 + 1500);
    expect(warehouse.gaps()).toEqual([750, 1500]);
    expect(warehouse.stored).toHaveLength(1);
  });

  it('does not retry before the wait is over', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0);
    const { warehouse, writer } = setup(1, { RETRY_BASE_DELAY_MS: '1000' });
    writer.enqueue('telemetry', { installationId: 'a' });
    await jest.advanceTimersByTimeAsync(100);
    expect(warehouse.attemptsAt).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(499);
    expect(warehouse.attemptsAt).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(warehouse.attemptsAt).toHaveLength(2);
    const shutdown = writer.onApplicationShutdown();
    await jest.advanceTimersByTimeAsync(1000);
    await shutdown;
  });

  it('caps the ceiling at one minute', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0);
    const { warehouse } = await writeOneRowThrough(3, { RETRY_BASE_DELAY_MS: '40000' }, 100 + 20_000 + 30_000 + 30_000);
    expect(warehouse.gaps()).toEqual([20_000, 30_000, 30_000]);
    expect(warehouse.stored).toHaveLength(1);
  });

  it('retries every 250 ms once shutting down, to flush within the deadline', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0);
    const { warehouse, writer } = setup(3, { RETRY_BASE_DELAY_MS: '60000', SHUTDOWN_FLUSH_TIMEOUT_MS: '5000' });
    writer.enqueue('telemetry', { installationId: 'a' });
    const shutdown = writer.onApplicationShutdown();
    await jest.advanceTimersByTimeAsync(5000);
    await shutdown;
    expect(warehouse.gaps()).toEqual([250, 250, 250]);
    expect(warehouse.stored).toHaveLength(1);
  });
});
