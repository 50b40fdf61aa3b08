import { Injectable } from '@nestjs/common';
import { TABLE_NAMES, TableName } from '../warehouse/contracts';

export const COUNTERS = ['accepted', 'rejected', 'botFiltered', 'written', 'retried', 'dropped'] as const;
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
