import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { TABLE_NAMES } from '../warehouse/contracts';
import { COUNTERS, Counts, IngestStats } from './ingest-stats';

export const SUMMARY_INTERVAL_MS = 60_000;

/**
 * Requests are not logged one by one (at these rates the logs would cost more than the
 * events). Instead, at most once a minute and only when something happened, one line
 * carries what happened per table since the previous line.
 */
@Injectable()
export class StatsReporter implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('IngestSummary');
  private last: Counts;
  private timer?: NodeJS.Timeout;

  constructor(private readonly stats: IngestStats) {
    this.last = stats.snapshot();
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => this.report(), SUMMARY_INTERVAL_MS).unref();
  }

  /** Runs after the writer's flush (its module is deeper), so the last line includes it. */
  onApplicationShutdown(): void {
    clearInterval(this.timer);
    this.report();
  }

  /** Logs the counts since the last summary; returns false (and logs nothing) when all are zero. */
  report(): boolean {
    const now = this.stats.snapshot();
    const delta = Object.fromEntries(
      TABLE_NAMES.map((t) => [t, Object.fromEntries(COUNTERS.map((c) => [c, now[t][c] - this.last[t][c]]))]),
    ) as Counts;
    this.last = now;
    if (!TABLE_NAMES.some((t) => COUNTERS.some((c) => delta[t][c] !== 0))) return false;
    this.logger.log({ message: 'Ingest summary', ...delta });
    return true;
  }
}
