import { Transform } from 'class-transformer';
import { registerDecorator, ValidationArguments, ValidationOptions } from 'class-validator';
import { toCountryCode } from '../../normalize/country';
import { parseIsoDateTime } from '../../normalize/date-time';
import { isReferrer, normalizeReferrer, REFERRER_MAX_BYTES } from '../../normalize/referrer';

export function IsIsoDateTime(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isIsoDateTime',
      target: target.constructor,
      propertyName: propertyName as string,
      options: {
        message:
          '$property must be an ISO 8601 date-time that exists, from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z in UTC, e.g. 2024-05-01T12:00:00.000Z',
        ...options,
      },
      validator: {
        validate: (value: unknown) => typeof value === 'string' && !Number.isNaN(parseIsoDateTime(value).getTime()),
      },
    });
}

/**
 * C0 and C1 controls (NUL, tab, newline, ESC, DEL, ...) and the bidi embedding, override and
 * isolate characters (U+202A-U+202E, U+2066-U+2069). No real client sends them: browsers
 * percent-encode paths and URLs, and versions, OS names and event names are plain words.
 * Stored, they break CSV exports and terminals, and can make a dashboard show a value that is
 * not the one stored; refusing (rather than stripping) keeps what is stored equal to what was sent.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const FORBIDDEN_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
/** Half of a UTF-16 pair on its own: not Unicode, and not valid UTF-8 for a warehouse STRING. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
/** A cell starting with one of these is a formula to a spreadsheet (=HYPERLINK(...), +cmd, -2+3, @SUM). */
const FORMULA_START = /^[=+\-@]/;

export const utf8Bytes = (value: string) => Buffer.byteLength(value, 'utf8');

/** Why a text value is refused, or undefined when it is fine. */
export function textProblem(value: string, maxBytes: number, refuseFormulas: boolean): string | undefined {
  if (LONE_SURROGATE.test(value)) return 'must be valid Unicode (no lone surrogates)';
  if (FORBIDDEN_CHARACTERS.test(value)) return 'must not contain control or bidi-override characters';
  if (utf8Bytes(value) > maxBytes) return `must be at most ${maxBytes} bytes in UTF-8`;
  if (refuseFormulas && FORMULA_START.test(value)) return 'must not start with =, +, - or @';
  return undefined;
}

/**
 * Text as both warehouses store it and a CSV export shows it: at most maxBytes bytes of UTF-8
 * (BigQuery and DuckDB limit strings in bytes, not characters), no control or bidi-override
 * characters, and (where set) no leading =, +, - or @.
 */
export function IsSafeText(maxBytes: number, { refuseFormulas = true } = {}): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isSafeText',
      target: target.constructor,
      propertyName: propertyName as string,
      options: {
        message: (args: ValidationArguments) =>
          `${args.property} ${typeof args.value === 'string' ? (textProblem(args.value, maxBytes, refuseFormulas) ?? 'is invalid') : 'must be a string'}`,
      },
      validator: {
        validate: (value: unknown) => typeof value === 'string' && textProblem(value, maxBytes, refuseFormulas) === undefined,
      },
    });
}

export const NormalizeCountry = () =>
  Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? toCountryCode(value) : value));

export function IsReferrer(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isReferrer',
      target: target.constructor,
      propertyName: propertyName as string,
      options: {
        message: `$property must be a full URL (https://host/...) or "direct", not javascript:, file: or data:, at most ${REFERRER_MAX_BYTES} bytes once stored as host and path`,
      },
      validator: {
        validate: (value: unknown) =>
          typeof value === 'string' && isReferrer(value) && utf8Bytes(normalizeReferrer(value)) <= REFERRER_MAX_BYTES,
      },
    });
}
