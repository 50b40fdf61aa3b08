/** An ISO 8601 date-time as validated by the DTOs; no offset means UTC. */
export function parseIsoDateTime(value: string): Date {
  const withZone = /(Z|[+-]\d{2}(:?\d{2})?)$/i.test(value) ? value : `${value}Z`;
  return new Date(withZone.replace(' ', 'T'));
}
