/**
 * ISO 8601 date-time with a time part; seconds, fractions and the offset are optional
 * (no offset means UTC). Real clients send `Date.toISOString()`, but older ones trimmed it.
 */
const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/** What both warehouses store: BigQuery's TIMESTAMP range, 0001-01-01 00:00:00 to 9999-12-31 23:59:59.999999 UTC. */
export const MIN_DATE_TIME_MS = Date.parse('0001-01-01T00:00:00.000Z');
export const MAX_DATE_TIME_MS = Date.parse('9999-12-31T23:59:59.999Z');

const daysInMonth = (year: number, month: number) =>
  month === 2
    ? year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
      ? 29
      : 28
    : month === 4 || month === 6 || month === 9 || month === 11
      ? 30
      : 31;

/**
 * The instant a date-time names, or an invalid Date when it names none that both warehouses
 * store: a day or time that does not exist (Feb 31, hour 24, minute 60: never shifted into the
 * next one), or an instant outside 0001-01-01..9999-12-31 once converted to UTC. Digits past the
 * millisecond are dropped (BigQuery keeps microseconds; the range check holds at either precision).
 */
export function parseIsoDateTime(value: string): Date {
  return new Date(isoDateTimeMs(value));
}

/** parseIsoDateTime's instant in milliseconds since the epoch, NaN when there is none: no Date made. */
export function isoDateTimeMs(value: string): number {
  const m = ISO_DATE_TIME.exec(value);
  if (!m) return NaN;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) return NaN;
  let offsetMinutes = 0;
  const zone = m[8];
  if (zone !== undefined && zone !== 'Z' && zone !== 'z') {
    // +hh, +hhmm or +hh:mm
    const h = Number(zone.slice(1, 3));
    const min = zone.length > 3 ? Number(zone.slice(-2)) : 0;
    if (h > 23 || min > 59) return NaN;
    offsetMinutes = (zone[0] === '-' ? -1 : 1) * (h * 60 + min);
  }
  const fraction = m[7];
  const millis = fraction === undefined ? 0 : Number(fraction.length >= 3 ? fraction.slice(0, 3) : fraction.padEnd(3, '0'));
  let local: number;
  if (year >= 100) {
    local = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  } else {
    const date = new Date(0);
    date.setUTCFullYear(year, month - 1, day); // not Date.UTC, which maps years 0-99 to 1900-1999
    date.setUTCHours(hour, minute, second, millis);
    local = date.getTime();
  }
  const utc = local - offsetMinutes * 60_000;
  return utc < MIN_DATE_TIME_MS || utc > MAX_DATE_TIME_MS ? NaN : utc;
}
