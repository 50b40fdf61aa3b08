import { DuckDBConnection } from '@duckdb/node-api';

/** DuckDB drops an interrupt that arrives before the statement has started, so it is sent again until the statement ends. */
export const INTERRUPT_REPEAT_MS = 100;

/**
 * The deadline of one call on the connection (WAREHOUSE_TIMEOUT_MS), counted from when it is
 * queued. A call still queued when it passes never runs. A running call is interrupted, but only
 * in the statements it marks as interruptible: DuckDB reports an interrupted COMMIT as failed even
 * when it stored the rows, so a write's COMMIT is never interrupted and is never started late.
 */
export class Deadline {
  private passed = false;
  private started = false;
  private readonly timer: NodeJS.Timeout;
  private interrupting?: { connection: DuckDBConnection; repeat?: NodeJS.Timeout };

  constructor(
    readonly ms: number,
    /** The error of a call that missed its deadline. */
    private readonly timedOut: (cause?: unknown) => Error,
    /** Called when the deadline passes while the call is still queued. */
    private readonly whileQueued: (error: Error) => void,
  ) {
    this.timer = setTimeout(() => this.pass(), ms);
    this.timer.unref();
  }

  /** Whether the call may run: false when its deadline passed while it was queued. */
  start(): boolean {
    this.started = !this.passed;
    return this.started;
  }

  /** Throws the call's timeout error once the deadline has passed. */
  check(): void {
    if (this.passed) throw this.timedOut();
  }

  /** Runs a statement that the deadline may interrupt; one that fails once the deadline has passed fails with the timeout error. */
  async interruptible<T>(connection: DuckDBConnection, statement: () => Promise<T>): Promise<T> {
    this.check();
    const interrupting: { connection: DuckDBConnection; repeat?: NodeJS.Timeout } = { connection };
    this.interrupting = interrupting;
    try {
      return await statement();
    } catch (error) {
      if (this.passed) throw this.timedOut(error);
      throw error;
    } finally {
      clearInterval(interrupting.repeat);
      this.interrupting = undefined;
    }
  }

  clear(): void {
    clearTimeout(this.timer);
    clearInterval(this.interrupting?.repeat);
  }

  private pass(): void {
    this.passed = true;
    if (!this.started) return this.whileQueued(this.timedOut());
    const interrupting = this.interrupting;
    if (!interrupting) return;
    interrupting.connection.interrupt();
    interrupting.repeat = setInterval(() => interrupting.connection.interrupt(), INTERRUPT_REPEAT_MS);
    interrupting.repeat.unref();
  }
}
