/**
 * ISO 8601 date-time with a time part; seconds, fractions and the offset are optional
 * (no offset means UTC). Real clients send `Date.toISOString()`, but older ones trimmed it.
 */
const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/** What both warehouses store: BigQuery's TIMESTAMP range, 0001-01-01 00:00:00 to 9999-12-31 23:59:59.999999 UTC. */
export const MIN_DATE_TIME_MS = Date.parse('0001-01-01T00:00:00.000Z');
export const MAX_DATE_TIME_MS = Date.parse('9999-12-31T23:59:59.999Z');

const daysInMonth = (year: number, month: number) =>
  month === 2 ? (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;

/**
 * The instant a date-time names, or an invalid Date when it names none that both warehouses
 * store: a day or time that does not exist (Feb 31, hour 24, minute 60: never shifted into the
 * next one), or an instant outside 0001-01-01..9999-12-31 once converted to UTC. Digits past the
 * millisecond are dropped (BigQuery keeps microseconds; the range check holds at either precision).
 */
export function parseIsoDateTime(value: string): Date {
  const m = ISO_DATE_TIME.exec(value);
  if (!m) return new Date(NaN);
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6] ?? '0'].map(Number);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) {
    return new Date(NaN);
  }
  let offsetMinutes = 0;
  const zone = m[8]?.toUpperCase();
  if (zone && zone !== 'Z') {
    const digits = zone.slice(1).replace(':', '');
    const [h, min] = [Number(digits.slice(0, 2)), Number(digits.slice(2) || '0')];
    if (h > 23 || min > 59) return new Date(NaN);
    offsetMinutes = (zone.startsWith('-') ? -1 : 1) * (h * 60 + min);
  }
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day); // not Date.UTC, which maps years 0-99 to 1900-1999
  date.setUTCHours(hour, minute, second, Number((m[7] ?? '').padEnd(3, '0').slice(0, 3)));
  const utc = date.getTime() - offsetMinutes * 60_000;
  return utc < MIN_DATE_TIME_MS || utc > MAX_DATE_TIME_MS ? new Date(NaN) : new Date(utc);
}
