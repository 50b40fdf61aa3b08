/** The ranges the page offers; `today` is one day. */
export const PRESETS = { today: 1, '7': 7, '30': 30, '90': 90 } as const;
export type Preset = keyof typeof PRESETS;
export const DEFAULT_PRESET: Preset = '30';
/** A custom range is at most this long: a bound on what one load can scan. */
export const MAX_DAYS = 731;

const DAY_MS = 86_400_000;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Days in UTC, both ends included, as YYYY-MM-DD. */
export interface DateRange {
  readonly start: string;
  readonly end: string;
  readonly days: number;
}

export interface ResolvedRange {
  readonly preset: Preset | 'custom';
  readonly current: DateRange;
  /** The period of the same length just before. */
  readonly previous: DateRange;
}

/** What the page's URL may say: `?range=7`, `?range=30&end=2024-05-02`, `?range=custom&start=...&end=...`. */
export interface RangeInput {
  range?: string;
  start?: string;
  end?: string;
}

/** A range the reader asked for that cannot be shown; the message says why, in one line. */
export class InvalidRangeError extends Error {}

/**
 * The range of a preset ends on `end` (today, UTC, by default) and is `n` days long, today
 * included; a custom range is `start`..`end`. Throws an InvalidRangeError for anything else.
 */
export function resolveRange(input: RangeInput, today: string): ResolvedRange {
  const preset = input.range ?? DEFAULT_PRESET;
  const end = input.end === undefined || input.end === '' ? today : parseDay('end', input.end);
  let start: string;
  if (preset === 'custom') {
    if (!input.start) throw new InvalidRangeError('range=custom needs start (YYYY-MM-DD)');
    start = parseDay('start', input.start);
    if (start > end) throw new InvalidRangeError(`start ${start} is after end ${end}`);
  } else if (preset in PRESETS) {
    if (input.start) throw new InvalidRangeError(`start is only for range=custom`);
    start = addDays(end, 1 - PRESETS[preset as Preset]);
  } else {
    throw new InvalidRangeError('range must be one of today, 7, 30, 90, custom');
  }
  const days = daysBetween(start, end) + 1;
  if (days > MAX_DAYS) throw new InvalidRangeError(`a range is at most ${MAX_DAYS} days`);
  const previousEnd = addDays(start, -1);
  return {
    preset: preset as Preset | 'custom',
    current: { start, end, days },
    previous: { start: addDays(previousEnd, 1 - days), end: previousEnd, days },
  };
}

export function utcDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

export function addDays(day: string, n: number): string {
  return utcDay(new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS));
}

function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS);
}

/** A real calendar day (no 2024-02-30) from year 1 to 9999, as BigQuery's DATE. */
function parseDay(name: string, value: string): string {
  const time = Date.parse(`${value}T00:00:00Z`);
  if (!ISO_DATE.test(value) || Number.isNaN(time) || utcDay(new Date(time)) !== value || value < '0001-01-01') {
    throw new InvalidRangeError(`${name} must be a date as YYYY-MM-DD`);
  }
  return value;
}
