import { isISO31661Alpha2 } from 'class-validator';

/** Country codes are stored upper-case; "ZZ" (App Engine's "unknown") and "" mean no country. */
export function toCountryCode(value: string): string | null {
  const code = value.trim().toUpperCase();
  return code === '' || code === 'ZZ' ? null : code;
}

/** App Engine's X-Appengine-Country header, held to the same rule as a client's country; anything else is no country. */
export function countryFromHeader(header: string | undefined): string | null {
  const code = header === undefined ? null : toCountryCode(header);
  return code && isISO31661Alpha2(code) ? code : null;
}
