import { Injectable } from '@nestjs/common';
import { TABLE_NAMES, TableName } from '../warehouse/contracts';

/**
 * accepted: queued for the warehouse. rejected: answered 4xx (invalid, too large, wrong type or
 * method, rate-limited). botFiltered: answered 204, not stored, not a browser (known bot, or no
 * User-Agent). refused: answered 204, not stored, sent by a browser on an origin not in CORS_ORIGINS.
 * miscounted: rows by which a finished INSERT's affected-row count differed from the rows sent.
 * inserts: write statements (or appends) that succeeded; written / inserts is the rows per statement.
 */
export const COUNTERS = [
  'accepted',
  'rejected',
  'botFiltered',
  'refused',
  'written',
  'retried',
  'dropped',
  'miscounted',
  'inserts',
] as const;
export type Counter = (typeof COUNTERS)[number];
export type Counts = Record<TableName, Record<Counter, number>>;

/** In-process counters of what happened to events, per table, since the process started. */
@Injectable()
export class IngestStats {
  private readonly counts: Counts = Object.fromEntries(
    TABLE_NAMES.map((t) => [t, Object.fromEntries(COUNTERS.map((c) => [c, 0]))]),
  ) as Counts;

  add(table: TableName, counter: Counter, n = 1): void {
    this.counts[table][counter] += n;
  }

  snapshot(): Counts {
    return structuredClone(this.counts);
  }
}
