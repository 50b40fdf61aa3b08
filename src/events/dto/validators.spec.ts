import { isoDateTimeMs, parseIsoDateTime } from '../../normalize/date-time';
import { textProblem } from './validators';

const iso = (value: string) => {
  const date = parseIsoDateTime(value);
  return Number.isNaN(date.getTime()) ? 'invalid' : date.toISOString();
};

describe('parseIsoDateTime', () => {
  it.each([
    ['2024-05-01T10:42:17.250Z', '2024-05-01T10:42:17.250Z'],
    ['2024-05-01T12:00:00+02:00', '2024-05-01T10:00:00.000Z'],
    ['2024-05-01 10:30:00.123456', '2024-05-01T10:30:00.123Z'],
    ['2024-02-29T00:00Z', '2024-02-29T00:00:00.000Z'],
    ['0001-01-01T00:00:00Z', '0001-01-01T00:00:00.000Z'],
    ['0001-01-01T01:00:00+01:00', '0001-01-01T00:00:00.000Z'],
    ['9999-12-31T23:59:59.999999Z', '9999-12-31T23:59:59.999Z'],
    ['9999-12-31T23:59:59.999999999Z', '9999-12-31T23:59:59.999Z'],
    ['0050-06-15T00:00:00Z', '0050-06-15T00:00:00.000Z'],
  ])('%s -> %s', (value, expected) => expect(iso(value)).toBe(expected));

  it.each([
    ['Feb 31', '2024-02-31T10:00:00Z'],
    ['Feb 29 in a common year', '2023-02-29T10:00:00Z'],
    ['Feb 29 in 1900', '1900-02-29T10:00:00Z'],
    ['month 13', '2024-13-01T10:00:00Z'],
    ['day 0', '2024-05-00T10:00:00Z'],
    ['April 31', '2024-04-31T10:00:00Z'],
    ['hour 24', '2024-05-01T24:00:00Z'],
    ['minute 60', '2024-05-01T10:60:00Z'],
    ['second 60', '2024-05-01T10:00:60Z'],
    ['offset hour 24', '2024-05-01T10:00:00+24:00'],
    ['before year 1', '0000-12-31T23:59:59.999Z'],
    ['before year 1 after UTC conversion', '0001-01-01T00:30:00+01:00'],
    ['after 9999 after UTC conversion', '9999-12-31T23:00:00-05:00'],
    ['no time', '2024-05-01'],
  ])('%s is invalid', (_, value) => expect(iso(value)).toBe('invalid'));
});

describe('textProblem', () => {
  it.each([
    ['2.4.0', 64],
    ['win32', 32],
    ['Ünïcödé 😀', 64],
  ])('accepts %s', (value, max) => expect(textProblem(value, max, true)).toBeUndefined());

  it.each([
    ['NUL', 'a\u0000b', /control/],
    ['a newline', 'a\nb', /control/],
    ['DEL', 'a\u007fb', /control/],
    ['a C1 control', 'a\u0085b', /control/],
    ['a bidi override', 'a\u202eb', /bidi/],
    ['a bidi isolate', 'a\u2066b', /bidi/],
    ['a lone surrogate', 'a\ud800b', /surrogate/],
    ['a formula', '=HYPERLINK("x")', /=, \+, - or @/],
    ['a leading +', '+1', /=, \+, - or @/],
    ['a leading -', '-2+3', /=, \+, - or @/],
    ['a leading @', '@SUM(A1)', /=, \+, - or @/],
    ['too many bytes', 'é'.repeat(33), /at most 64 bytes/],
  ])('refuses %s', (_, value, why) => expect(textProblem(value, 64, true)).toMatch(why));

  it('lets a path-like field start with anything but still counts bytes', () => {
    expect(textProblem('-x', 8, false)).toBeUndefined();
    expect(textProblem('/' + '😀'.repeat(2), 8, false)).toMatch(/at most 8 bytes/);
  });
});

describe('isoDateTimeMs', () => {
  it.each([
    '2024-05-01T10:42:17.250Z',
    '2024-05-01t10:42:17.250z',
    '2024-05-01 10:30',
    '2024-05-01T12:00:00+0200',
    '2024-05-01T12:00:00+02',
    '2024-05-01T12:00:00.1-05:30',
    '0050-02-28T23:59:59.999999999+00:00',
    '0000-12-31T23:30:00-01:00',
    '2024-02-31T10:00:00Z',
    '9999-12-31T23:00:00-05:00',
  ])('is the instant parseIsoDateTime gives for %s, or NaN for both', (value) => {
    expect(isoDateTimeMs(value)).toBe(parseIsoDateTime(value).getTime());
  });

  it('counts years before 100 as such, not as 1900-1999', () => {
    expect(new Date(isoDateTimeMs('0050-06-15T00:00:00Z')).toISOString()).toBe('0050-06-15T00:00:00.000Z');
    expect(new Date(isoDateTimeMs('0004-02-29T00:00:00Z')).toISOString()).toBe('0004-02-29T00:00:00.000Z');
    expect(new Date(isoDateTimeMs('0000-12-31T23:30:00-01:00')).toISOString()).toBe('0001-01-01T00:30:00.000Z');
  });
});
