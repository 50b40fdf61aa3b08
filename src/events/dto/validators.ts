import { Transform } from 'class-transformer';
import { registerDecorator, ValidationArguments, ValidationOptions } from 'class-validator';
import { toCountryCode } from '../../normalize/country';
import { isoDateTimeMs } from '../../normalize/date-time';
import { REFERRER_MAX_BYTES, storedReferrer } from '../../normalize/referrer';
import { textProblem, utf8Bytes } from '../../normalize/text';

export { textProblem, utf8Bytes };

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
        validate: (value: unknown) => typeof value === 'string' && !Number.isNaN(isoDateTimeMs(value)),
      },
    });
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
        validate: (value: unknown) => {
          const stored = typeof value === 'string' ? storedReferrer(value) : undefined;
          return stored !== undefined && utf8Bytes(stored) <= REFERRER_MAX_BYTES;
        },
      },
    });
}
