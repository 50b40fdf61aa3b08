import { Inject, Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { SqlCatalog } from '../warehouse/contracts';
import { WAREHOUSE, WarehouseLoader } from '../warehouse/warehouse.factory';
import { CalendarDate, QueryStats, WarehouseReader } from '../warehouse/warehouse-reader';
import { DateRange, RangeInput, resolveRange, ResolvedRange, utcDay } from './dashboard-range';
import { ResultCache } from './result-cache';

/**
 * On BigQuery a reload within this time costs no query. The embedded DuckDB answers in
 * milliseconds at no cost, so there every load is fresh (no stale figures while developing).
 */
export const CACHE_TTL_MS = 5 * 60_000;
/** Results kept at most: 16 queries x 60 ranges. */
export const CACHE_MAX_ENTRIES = 1_000;

/** Queries run again over the previous period, for the comparison: the one-row totals. */
const COMPARED = /_totals$/;

export type Cell = string | number | boolean | null;
export type ResultRow = Record<string, Cell>;

export interface DashboardData {
  readonly range: ResolvedRange;
  /** One entry per file of sql/dashboard, over the current range. */
  readonly results: Record<string, ResultRow[]>;
  /** The *_totals queries over the previous period. */
  readonly previous: Record<string, ResultRow[]>;
  /** How old a figure may be: the cache's lifetime. */
  readonly maxAgeSeconds: number;
}

interface QueryResult {
  rows: ResultRow[];
  stats: QueryStats;
}

/**
 * The built-in dashboard: every range query of sql/dashboard over the chosen range (and the
 * totals over the previous period), run by the warehouse in parallel. Distinct counts and
 * medians come from the warehouse over the whole range, never from daily rows. Each result is
 * cached per (query, range) for CACHE_TTL_MS.
 */
@Injectable()
export class DashboardService {
  private readonly logger = new Logger(DashboardService.name);
  private readonly cache: ResultCache<QueryResult>;
  private readonly ttlMs: number;

  constructor(
    @Inject(WAREHOUSE) private readonly loadReader: WarehouseLoader<WarehouseReader>,
    private readonly catalog: SqlCatalog,
    config: AppConfig,
  ) {
    this.ttlMs = config.warehouse === 'bigquery' ? CACHE_TTL_MS : 0;
    this.cache = new ResultCache<QueryResult>(this.ttlMs, CACHE_MAX_ENTRIES);
  }

  /** Throws an InvalidRangeError when the input does not name a range. */
  resolve(input: RangeInput, now = new Date()): ResolvedRange {
    return resolveRange(input, utcDay(now));
  }

  async load(range: ResolvedRange): Promise<DashboardData> {
    const started = Date.now();
    const reader = await this.loadReader();
    const jobs = [
      ...this.catalog.queries.map((q) => ({ set: 'results' as const, name: q.name, sql: q.sql, range: range.current })),
      ...this.catalog.queries
        .filter((q) => COMPARED.test(q.name))
        .map((q) => ({ set: 'previous' as const, name: q.name, sql: q.sql, range: range.previous })),
    ];
    const loads = jobs.map(({ name, sql, range: r }) => this.cache.get(`${name}|${r.start}|${r.end}`, () => run(reader, sql, r)));
    const done = await Promise.all(loads.map((l) => l.value));
    const data: DashboardData = { range, results: {}, previous: {}, maxAgeSeconds: this.ttlMs / 1000 };
    jobs.forEach((job, i) => (data[job.set][job.name] = done[i].rows));
    // Cached results were paid for by the load that ran them: only this load's queries count.
    const fresh = done.filter((_, i) => !loads[i].hit);
    const cached = jobs.length - fresh.length;
    const billed = fresh.map((d) => d.stats.bytesProcessed).filter((b): b is number => b !== undefined);
    const bytesProcessed = billed.length > 0 ? billed.reduce((a, b) => a + b, 0) : undefined;
    this.logger.log({
      message: 'Dashboard load',
      start: range.current.start,
      end: range.current.end,
      queries: jobs.length,
      cached,
      ...(bytesProcessed === undefined ? {} : { bytesProcessed }),
      ms: Date.now() - started,
    });
    return data;
  }
}

async function run(reader: WarehouseReader, sql: string, range: DateRange): Promise<QueryResult> {
  const { rows, stats } = await reader.readWithStats(sql, {
    start_date: new CalendarDate(range.start),
    end_date: new CalendarDate(range.end),
  });
  return { rows: rows.map(plainRow), stats };
}

/** DATE columns as YYYY-MM-DD (DuckDB gives a Date, BigQuery a string), other values as they are. */
function plainRow(row: Record<string, unknown>): ResultRow {
  return Object.fromEntries(
    Object.entries(row).map(([k, v]) => [k, v instanceof Date ? utcDay(v) : typeof v === 'bigint' ? Number(v) : (v as Cell)]),
  );
}
