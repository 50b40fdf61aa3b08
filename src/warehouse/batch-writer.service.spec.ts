import { Logger, LoggerService } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { formatText } from '../logging/app-logger';
import { IngestStats } from '../stats/ingest-stats';
import { BatchWriter } from './batch-writer.service';
import { Row, SqlCatalog, TableDef, telemetry, TableName, TableRow, websiteEvents } from './contracts';
import { openOnce } from './warehouse.factory';
import { estimateRowBytes } from './row-size';
import { WarehouseSink, WarehouseWriteError, WriteResult } from './warehouse-sink';

/**
 * The sink's contract seen from BatchWriter: an engine that records each write and fails on
 * demand. A held sink lets each write end only when the test calls release(), so that no test
 * depends on how fast this machine is. Time is jest's fake clock. The real engines are
 * exercised end to end in test/.
 */
class ScriptedSink implements WarehouseSink {
  readonly calls: { table: string; rows: number; batchId: string; at: number }[] = [];
  readonly stored: Row[] = [];
  failures: Error[] = [];
  /** A row the engine refuses: one fails the whole write, permanently, as a DML statement does. */
  refuse?: (row: Row) => boolean;
  /** What the engine reports as the rows it inserted (default: nothing). */
  affected?: (rows: number) => number;
  inFlight = 0;
  maxInFlight = 0;
  opened = 0;
  closed = false;
  held = false;
  private readonly waiting: (() => void)[] = [];

  open(): Promise<void> {
    this.opened++;
    return Promise.resolve();
  }

  async write(table: TableDef, rows: readonly Row[], batchId: string): Promise<WriteResult | void> {
    this.calls.push({ table: table.name, rows: rows.length, batchId, at: Date.now() });
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.held) await new Promise<void>((resolve) => this.waiting.push(resolve));
      const failure = this.failures.shift();
      if (failure) throw failure;
      if (this.refuse && rows.some(this.refuse)) throw new WarehouseWriteError('refused', 'invalidQuery', false);
      this.stored.push(...rows);
      return this.affected ? { affectedRows: this.affected(rows.length) } : undefined;
    } finally {
      this.inFlight--;
    }
  }

  /** Lets the oldest held write end. */
  release(): void {
    this.waiting.shift()?.();
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

class CapturedLogs implements LoggerService {
  readonly lines: string[] = [];
  log = () => undefined;
  warn = () => undefined;
  error = (message: unknown) => this.lines.push(formatText(message));
}

const FLUSH_MS = 20;

function setup(env: Record<string, string> = {}) {
  const config = AppConfig.fromEnv({ FLUSH_INTERVAL_MS: String(FLUSH_MS), RETRY_BASE_DELAY_MS: '10', ...env });
  const sink = new ScriptedSink();
  const stats = new IngestStats();
  const writer = new BatchWriter(
    openOnce(() => Promise.resolve(sink)),
    SqlCatalog.load(),
    config,
    stats,
  );
  return { sink, stats, writer };
}

const receivedAt = new Date('2024-05-01T12:00:00Z');
function row<T extends TableName>(table: T, i: number): TableRow<T>;
function row(table: TableName, i: number): Row {
  return table === 'telemetry'
    ? telemetry.toRow(
        {
          installationId: '6C3B6F7A-1A8E-4F4E-9D2B-1F0E8E5C2A11',
          startTime: '2024-05-01T10:00:00Z',
          endTime: '2024-05-01T10:10:00Z',
          firstSession: false,
          version: `${i}`,
          os: 'linux',
          environmentsCount: 1,
        },
        { receivedAt },
      )
    : websiteEvents.toRow({ type: 'pageview', path: `/${i}` }, { receivedAt });
}

/** Runs what is due now: the promise chains of writes that nothing holds. */
const settle = () => jest.advanceTimersByTimeAsync(0);

describe('BatchWriter', () => {
  let logs: CapturedLogs;
  beforeEach(() => {
    jest.useFakeTimers();
    logs = new CapturedLogs();
    Logger.overrideLogger(logs);
  });
  afterEach(() => {
    jest.useRealTimers();
    Logger.overrideLogger(['log', 'error', 'warn']);
  });

  it('closes a batch at BATCH_SIZE rows at once and the rest after FLUSH_INTERVAL_MS', async () => {
    const { sink, writer } = setup({ BATCH_SIZE: '10', FLUSH_INTERVAL_MS: '300' });
    const started = Date.now();
    for (let i = 0; i < 25; i++) writer.enqueue('website_events', row('website_events', i));
    await settle();
    expect(sink.calls.map((c) => c.rows)).toEqual([10, 10]);
    expect(sink.calls[0].at).toBe(started);
    await jest.advanceTimersByTimeAsync(299);
    expect(sink.calls).toHaveLength(2);
    await jest.advanceTimersByTimeAsync(1);
    expect(sink.calls.map((c) => c.rows)).toEqual([10, 10, 5]);
    await writer.onApplicationShutdown();
    expect(sink.stored).toHaveLength(25);
  });

  it('opens the sink once, before the first write, and closes it at shutdown', async () => {
    const { sink, writer } = setup({ BATCH_SIZE: '1' });
    for (let i = 0; i < 3; i++) writer.enqueue('telemetry', row('telemetry', i));
    await writer.onApplicationShutdown();
    expect(sink.calls).toHaveLength(3);
    expect(sink.opened).toBe(1);
    expect(sink.closed).toBe(true);
  });

  it('keeps one write in flight per table', async () => {
    const { sink, writer } = setup({ BATCH_SIZE: '5' });
    sink.held = true;
    for (let i = 0; i < 40; i++) writer.enqueue('telemetry', row('telemetry', i));
    for (let write = 1; write <= 8; write++) {
      await settle();
      expect(sink.calls).toHaveLength(write);
      expect(sink.inFlight).toBe(1);
      sink.release();
    }
    await writer.onApplicationShutdown();
    expect(sink.calls).toHaveLength(8);
    expect(sink.maxInFlight).toBe(1);
  });

  it('merges the batches that close while a write is in flight, up to BATCH_SIZE rows', async () => {
    const { sink, writer, stats } = setup({ BATCH_SIZE: '30', FLUSH_INTERVAL_MS: '10' });
    sink.held = true;
    for (let i = 0; i < 10; i++) {
      for (let j = 0; j < 5; j++) writer.enqueue('website_events', row('website_events', i * 5 + j));
      await jest.advanceTimersByTimeAsync(10);
    }
    // Ten batches of 5 closed; the first is being written, the nine others wait.
    expect(sink.calls.map((c) => c.rows)).toEqual([5]);
    sink.held = false;
    sink.release();
    await writer.onApplicationShutdown();
    expect(sink.stored.map((r) => r.path)).toEqual(Array.from({ length: 50 }, (_, i) => `/${i}`));
    expect(sink.calls.map((c) => c.rows)).toEqual([5, 30, 15]);
    expect(stats.snapshot().website_events).toMatchObject({ written: 50, inserts: 3 });
  });

  it('retries a failed batch under the same batch id with exponential backoff, and counts the retries', async () => {
    const { sink, writer, stats } = setup({ RETRY_BASE_DELAY_MS: '1000' });
    sink.failures = [new WarehouseWriteError('503', 'backendError', true), new Error('socket hang up')];
    writer.enqueue('website_events', row('website_events', 1));
    await jest.advanceTimersByTimeAsync(FLUSH_MS);
    expect(sink.calls).toHaveLength(1);
    // Equal jitter: the first retry comes 500 to 1000 ms after the failure, the second 1000 to 2000 ms after the next.
    await jest.advanceTimersByTimeAsync(499);
    expect(sink.calls).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(501);
    expect(sink.calls).toHaveLength(2);
    await jest.advanceTimersByTimeAsync(sink.calls[1].at + 999 - Date.now());
    expect(sink.calls).toHaveLength(2);
    await jest.advanceTimersByTimeAsync(1001);
    expect(sink.calls).toHaveLength(3);
    await writer.onApplicationShutdown();
    expect(new Set(sink.calls.map((c) => c.batchId)).size).toBe(1);
    expect(sink.stored).toHaveLength(1);
    expect(stats.snapshot().website_events).toMatchObject({ written: 1, retried: 2, dropped: 0 });
  });

  it('waits at most a minute between attempts', async () => {
    // The longest jitter, so that each delay is its ceiling: 60 s, then 120 s were it not capped.
    const random = jest.spyOn(Math, 'random').mockReturnValue(0.9999);
    const { sink, writer } = setup({ RETRY_BASE_DELAY_MS: '60000' });
    sink.failures = [new Error('down'), new Error('down')];
    writer.enqueue('telemetry', row('telemetry', 1));
    await jest.advanceTimersByTimeAsync(FLUSH_MS);
    expect(sink.calls).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(sink.calls).toHaveLength(2);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(sink.calls).toHaveLength(3);
    await writer.onApplicationShutdown();
    random.mockRestore();
  });

  it('retries every 250 ms while shutting down, so that the flush fits its deadline', async () => {
    const { sink, writer } = setup({ RETRY_BASE_DELAY_MS: '10000', WRITE_MAX_ATTEMPTS: '3' });
    sink.failures = [new Error('down'), new Error('down')];
    writer.enqueue('telemetry', row('telemetry', 1));
    const done = writer.onApplicationShutdown();
    await settle();
    expect(sink.calls).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(249);
    expect(sink.calls).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(sink.calls).toHaveLength(2);
    await jest.advanceTimersByTimeAsync(250);
    await done;
    expect(sink.stored).toHaveLength(1);
  });

  it('gives each batch its own id', async () => {
    const { sink, writer } = setup({ BATCH_SIZE: '1' });
    for (let i = 0; i < 3; i++) writer.enqueue('website_events', row('website_events', i));
    await writer.onApplicationShutdown();
    expect(new Set(sink.calls.map((c) => c.batchId)).size).toBe(3);
  });

  it('drops a one-row batch the warehouse calls permanent at once, and counts it', async () => {
    const { sink, writer, stats } = setup({ BATCH_SIZE: '1' });
    sink.failures = [new WarehouseWriteError('bad', 'invalidQuery', false)];
    writer.enqueue('telemetry', row('telemetry', 1));
    writer.enqueue('telemetry', row('telemetry', 2));
    await writer.onApplicationShutdown();
    expect(sink.calls).toHaveLength(2);
    expect(stats.snapshot().telemetry).toMatchObject({ written: 1, retried: 0, dropped: 1 });
    expect(writer.pending('telemetry')).toBe(0);
    expect(logs.lines).toEqual([
      `Batch dropped table=telemetry rows=1 attempt=1 maxAttempts=8 reason=invalidQuery batchId=${sink.calls[0].batchId}`,
    ]);
  });

  it('splits a batch that fails permanently in halves, recursively, until the refused rows stand alone', async () => {
    const { sink, writer, stats } = setup({ BATCH_SIZE: '16' });
    const bad = new Set(['/5', '/6', '/13']);
    sink.refuse = (r) => bad.has(r.path as string);
    for (let i = 0; i < 16; i++) writer.enqueue('website_events', row('website_events', i));
    await writer.onApplicationShutdown();
    // Every good row once, in order; only the refused ones dropped, each counted and logged once.
    const good = Array.from({ length: 16 }, (_, i) => `/${i}`).filter((p) => !bad.has(p));
    expect(sink.stored.map((r) => r.path)).toEqual(good);
    expect(stats.snapshot().website_events).toMatchObject({ written: 13, dropped: 3, retried: 0 });
    const root = sink.calls[0].batchId;
    // Each half's id derives from its parent's: a retry after a lost answer finds the same half.
    expect(sink.calls.map((c) => [c.batchId.replace(root, ''), c.rows])).toEqual([
      ['', 16],
      ['-0', 8],
      ['-0-0', 4],
      ['-0-1', 4],
      ['-0-1-0', 2],
      ['-0-1-0-0', 1],
      ['-0-1-0-1', 1],
      ['-0-1-1', 2],
      ['-0-1-1-0', 1],
      ['-0-1-1-1', 1],
      ['-1', 8],
      ['-1-0', 4],
      ['-1-1', 4],
      ['-1-1-0', 2],
      ['-1-1-0-0', 1],
      ['-1-1-0-1', 1],
      ['-1-1-1', 2],
    ]);
    const dropped = logs.lines.filter((l) => l.startsWith('Batch dropped'));
    expect(dropped).toEqual(
      ['-0-1-0-1', '-0-1-1-0', '-1-1-0-1'].map(
        (suffix) => `Batch dropped table=website_events rows=1 attempt=1 maxAttempts=8 reason=invalidQuery batchId=${root}${suffix}`,
      ),
    );
    for (const line of logs.lines) expect(line).not.toMatch(/\/5|\/6|\/13/); // never the values
  });

  it('retries a half that fails retryably under its own id, then splits it when it is refused', async () => {
    const { sink, writer, stats } = setup({ BATCH_SIZE: '4' });
    sink.refuse = (r) => r.path === '/0';
    // The first half's first attempt fails on a 503; its retry is refused like its parent.
    sink.failures = [new WarehouseWriteError('refused', 'invalidQuery', false), new WarehouseWriteError('503', 'backendError', true)];
    for (let i = 0; i < 4; i++) writer.enqueue('website_events', row('website_events', i));
    const done = writer.onApplicationShutdown();
    await jest.runAllTimersAsync();
    await done;
    const root = sink.calls[0].batchId;
    expect(sink.calls.map((c) => [c.batchId.replace(root, ''), c.rows])).toEqual([
      ['', 4],
      ['-0', 2],
      ['-0', 2],
      ['-0-0', 1],
      ['-0-1', 1],
      ['-1', 2],
    ]);
    expect(stats.snapshot().website_events).toMatchObject({ written: 3, dropped: 1, retried: 1 });
    expect(sink.stored.map((r) => r.path)).toEqual(['/1', '/2', '/3']);
  });

  it('splits on a DuckDB constraint error as on any permanent failure, and writes the halves that pass', async () => {
    const { sink, writer, stats } = setup({ BATCH_SIZE: '3' });
    sink.refuse = undefined;
    sink.failures = [
      new WarehouseWriteError('Constraint Error: NOT NULL constraint failed', 'Constraint Error: NOT NULL constraint failed', false),
      new WarehouseWriteError('Constraint Error: NOT NULL constraint failed', 'Constraint Error: NOT NULL constraint failed', false),
    ];
    for (let i = 0; i < 3; i++) writer.enqueue('website_events', row('website_events', i));
    await writer.onApplicationShutdown();
    // 3 rows refused, then its first half [/0, /1] refused, then /0, /1 and the second half [/2] go in.
    expect(sink.calls.map((c) => c.rows)).toEqual([3, 2, 1, 1, 1]);
    expect(stats.snapshot().website_events).toMatchObject({ written: 3, dropped: 0 });
  });

  it('bounds each batch by BATCH_MAX_BYTES as well as by BATCH_SIZE, with each row sized once when queued', async () => {
    const big = (i: number) => websiteEvents.toRow({ type: 'pageview', path: `/${i}`.padEnd(2048, '"') }, { receivedAt });
    const rowBytes = estimateRowBytes(big(0));
    expect(rowBytes).toBeGreaterThan(2 * 4096); // path and entryPage, each 2,048 characters that JSON-escape to 2 bytes
    const { sink, writer } = setup({ BATCH_SIZE: '100', BATCH_MAX_BYTES: String(65536 + 10) });
    const perBatch = Math.floor((65536 + 10) / rowBytes);
    for (let i = 0; i < 20; i++) writer.enqueue('website_events', big(i));
    await writer.onApplicationShutdown();
    expect(sink.stored).toHaveLength(20);
    expect(sink.calls.every((c) => c.rows <= perBatch)).toBe(true);
    const full = Math.floor(20 / perBatch);
    expect(sink.calls.map((c) => c.rows)).toEqual([...Array<number>(full).fill(perBatch), ...(20 % perBatch ? [20 % perBatch] : [])]);
  });

  it('logs and counts a write whose reported row count differs from the rows sent, without retrying it', async () => {
    const { sink, writer, stats } = setup({ BATCH_SIZE: '5' });
    sink.affected = (n) => n - 2;
    for (let i = 0; i < 5; i++) writer.enqueue('telemetry', row('telemetry', i));
    await writer.onApplicationShutdown();
    expect(sink.calls).toHaveLength(1);
    expect(stats.snapshot().telemetry).toMatchObject({ written: 5, miscounted: 2, retried: 0, dropped: 0 });
    expect(logs.lines).toEqual([
      `Warehouse reports another row count than was sent table=telemetry sent=5 affected=3 batchId=${sink.calls[0].batchId}`,
    ]);
  });

  it('says nothing when the reported row count matches', async () => {
    const { sink, writer, stats } = setup({ BATCH_SIZE: '5' });
    sink.affected = (n) => n;
    for (let i = 0; i < 5; i++) writer.enqueue('telemetry', row('telemetry', i));
    await writer.onApplicationShutdown();
    expect(stats.snapshot().telemetry.miscounted).toBe(0);
    expect(logs.lines).toEqual([]);
  });

  it('drops a batch after WRITE_MAX_ATTEMPTS', async () => {
    const { sink, writer, stats } = setup({ WRITE_MAX_ATTEMPTS: '3' });
    sink.failures = Array.from({ length: 10 }, () => new Error('down'));
    writer.enqueue('telemetry', row('telemetry', 1));
    const done = writer.onApplicationShutdown();
    await jest.runAllTimersAsync();
    await done;
    expect(sink.calls).toHaveLength(3);
    expect(stats.snapshot().telemetry).toMatchObject({ written: 0, retried: 2, dropped: 1 });
  });

  it('bounds what waits in memory and counts every row it turns away', async () => {
    const { sink, writer, stats } = setup({ MAX_BUFFERED_EVENTS: '50', BATCH_SIZE: '10' });
    sink.held = true;
    const accepted = Array.from({ length: 200 }, (_, i) => writer.enqueue('telemetry', row('telemetry', i))).filter(Boolean).length;
    expect(accepted).toBe(50);
    expect(writer.pending('telemetry')).toBe(50);
    sink.held = false;
    sink.release();
    await writer.onApplicationShutdown();
    expect(sink.stored).toHaveLength(50);
    expect(stats.snapshot().telemetry).toMatchObject({ written: 50, dropped: 150 });
  });

  it('bounds the bytes waiting in memory, all tables together, and takes rows again once they are written', async () => {
    const { sink, writer, stats } = setup({ MAX_BUFFERED_BYTES: '1000000', BATCH_SIZE: '2' });
    sink.held = true;
    const big = websiteEvents.toRow({ type: 'pageview', path: `/${'é'.repeat(150_000)}` }, { receivedAt });
    const bytes = estimateRowBytes(big);
    expect(bytes).toBeGreaterThan(300_000);
    const fits = Math.floor(1_000_000 / bytes);
    const taken = Array.from({ length: 10 }, () => writer.enqueue('website_events', big)).filter(Boolean).length;
    expect(taken).toBe(fits);
    // The budget is shared: a small row of another table still fits in what is left, a big one does not.
    expect(writer.enqueue('telemetry', row('telemetry', 0))).toBe(true);
    expect(writer.bufferedBytes()).toBe(fits * bytes + estimateRowBytes(row('telemetry', 0)));
    expect(stats.snapshot().website_events.dropped).toBe(10 - fits);
    expect(logs.lines).toEqual(['Events dropped table=website_events rows=1 reason=more than 1000000 bytes waiting']);
    await jest.advanceTimersByTimeAsync(FLUSH_MS);
    sink.held = false;
    sink.release();
    sink.release();
    await writer.whenSettled();
    expect(writer.bufferedBytes()).toBe(0);
    expect(writer.enqueue('website_events', big)).toBe(true);
    await writer.onApplicationShutdown();
    expect(stats.snapshot().website_events).toMatchObject({ written: fits + 1, dropped: 10 - fits });
  });

  it('flags a table whose oldest pending row waits longer than STALLED_TABLE_MS, and logs it at ERROR', async () => {
    const { sink, writer } = setup({ STALLED_TABLE_MS: '30000' });
    sink.held = true;
    writer.enqueue('telemetry', row('telemetry', 0));
    await jest.advanceTimersByTimeAsync(30_000);
    expect(writer.stalledTables()).toEqual({});
    writer.enqueue('telemetry', row('telemetry', 1)); // younger rows do not hide the oldest one
    await jest.advanceTimersByTimeAsync(10_000);
    expect(writer.stalledTables()).toEqual({ telemetry: { oldestPendingMs: 40_000 } });
    const line = (ms: number) =>
      `Table stalled: its oldest pending row waits longer than STALLED_TABLE_MS table=telemetry oldestPendingMs=${ms} pending=2 thresholdMs=30000`;
    expect(logs.lines).toEqual([line(40_000)]);
    // At most one line a minute while it lasts.
    await jest.advanceTimersByTimeAsync(50_000);
    expect(logs.lines).toEqual([line(40_000)]);
    await jest.advanceTimersByTimeAsync(10_000);
    expect(logs.lines).toEqual([line(40_000), line(100_000)]);
    sink.held = false;
    sink.release();
    await writer.whenSettled();
    expect(writer.stalledTables()).toEqual({});
    await writer.onApplicationShutdown();
  });

  it('gives up on what is left when the shutdown deadline passes, and counts it', async () => {
    const { sink, writer, stats } = setup({ SHUTDOWN_FLUSH_TIMEOUT_MS: '100' });
    sink.held = true;
    for (let i = 0; i < 5; i++) writer.enqueue('telemetry', row('telemetry', i));
    let finished = false;
    const done = writer.onApplicationShutdown().then(() => (finished = true));
    await jest.advanceTimersByTimeAsync(99);
    expect(finished).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    await done;
    expect(sink.inFlight).toBe(1); // the write never ended
    expect(stats.snapshot().telemetry.dropped).toBe(5);
    expect(logs.lines).toEqual(['Shutdown flush deadline passed, rows not written table=telemetry rows=5 deadlineMs=100']);
  });

  it('logs the first drop at once and the rest of a window at its end', async () => {
    const { sink, writer } = setup({ MAX_BUFFERED_EVENTS: '1' });
    sink.held = true;
    for (let i = 0; i < 4; i++) writer.enqueue('telemetry', row('telemetry', i));
    const line = (rows: number) => `Events dropped table=telemetry rows=${rows} reason=more than 1 rows waiting`;
    expect(logs.lines).toEqual([line(1)]);
    await jest.advanceTimersByTimeAsync(9_999);
    expect(logs.lines).toEqual([line(1)]);
    await jest.advanceTimersByTimeAsync(1);
    expect(logs.lines).toEqual([line(1), line(2)]);
    writer.enqueue('telemetry', row('telemetry', 4));
    expect(logs.lines).toEqual([line(1), line(2), line(1)]);
    sink.held = false;
    sink.release();
    await writer.onApplicationShutdown();
  });

  it('logs each reason with its own count when reasons mix in one window, and logs the last drops at shutdown', async () => {
    const { sink, writer, stats } = setup({ MAX_BUFFERED_EVENTS: '1' });
    sink.held = true;
    writer.enqueue('website_events', row('website_events', 0));
    writer.enqueue('website_events', row('website_events', 1));
    writer.enqueue('website_events', row('website_events', 2));
    const done = writer.onApplicationShutdown();
    writer.enqueue('website_events', row('website_events', 3));
    sink.held = false;
    sink.release();
    await done;
    expect(logs.lines).toEqual([
      'Events dropped table=website_events rows=1 reason=more than 1 rows waiting',
      'Events dropped table=website_events rows=1 reason=more than 1 rows waiting',
      'Events dropped table=website_events rows=1 reason=shutting down',
    ]);
    expect(stats.snapshot().website_events).toMatchObject({ written: 1, dropped: 3 });
  });

  it('whenSettled() resolves once the rows accepted before it are written', async () => {
    const { sink, writer } = setup();
    sink.held = true;
    writer.enqueue('telemetry', row('telemetry', 0));
    let settled = false;
    const done = writer.whenSettled().then(() => (settled = true));
    await jest.advanceTimersByTimeAsync(FLUSH_MS);
    expect(settled).toBe(false);
    sink.release();
    await done;
    expect(sink.stored).toHaveLength(1);
    await writer.onApplicationShutdown();
  });
});
