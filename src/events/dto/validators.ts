import { Transform } from 'class-transformer';
import { registerDecorator, ValidationOptions } from 'class-validator';
import { toCountryCode } from '../../normalize/country';
import { parseIsoDateTime } from '../../normalize/date-time';
import { isReferrer } from '../../normalize/referrer';

/**
 * ISO 8601 date-time with a time part; seconds, fractions and the offset are optional
 * (no offset means UTC). Real clients send `Date.toISOString()`, but older ones trimmed it.
 */
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)?$/i;

export function IsIsoDateTime(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isIsoDateTime',
      target: target.constructor,
      propertyName: propertyName as string,
      options: { message: '$property must be an ISO 8601 date-time, e.g. 2024-05-01T12:00:00.000Z', ...options },
      validator: {
        validate: (value: unknown) =>
          typeof value === 'string' && ISO_DATE_TIME.test(value) && !Number.isNaN(parseIsoDateTime(value).getTime()),
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
      options: { message: '$property must be a full URL (https://host/...) or "direct"' },
      validator: { validate: (value: unknown) => typeof value === 'string' && isReferrer(value) },
    });
}
