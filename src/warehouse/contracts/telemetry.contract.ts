import { countryFromHeader } from '../../normalize/country';
import { parseIsoDateTime } from '../../normalize/date-time';
import { defineTable, nullable, required } from './table-contract';

/** What the mapping reads from a validated TelemetryDto. */
export interface TelemetryEvent {
  readonly installationId: string;
  readonly startTime: string;
  readonly endTime: string;
  readonly firstSession: boolean;
  readonly version: string;
  readonly os: string;
  readonly environmentsCount: number;
  readonly country?: string | null;
  readonly app?: string | null;
  readonly auth?: boolean | null;
  readonly paid?: boolean | null;
}

/** sql/tables/telemetry.sql: one row per app session. */
export const telemetry = defineTable({
  name: 'telemetry',
  columns: {
    installationId: required('STRING'),
    startTime: required('TIMESTAMP'),
    endTime: required('TIMESTAMP'),
    firstSession: required('BOOL'),
    version: required('STRING'),
    os: required('STRING'),
    country: nullable('STRING'),
    environmentsCount: required('INT64'),
    app: nullable('STRING'),
    auth: nullable('BOOL'),
    paid: nullable('BOOL'),
    receivedAt: required('TIMESTAMP'),
  },
  receivedAt: 'receivedAt',
  toRow: (event: TelemetryEvent, context) => ({
    installationId: event.installationId.toLowerCase(),
    startTime: parseIsoDateTime(event.startTime),
    endTime: parseIsoDateTime(event.endTime),
    firstSession: event.firstSession,
    version: event.version,
    os: event.os,
    country: event.country ?? countryFromHeader(context.country),
    environmentsCount: event.environmentsCount,
    app: event.app ?? null,
    auth: event.auth ?? null,
    paid: event.paid ?? null,
    receivedAt: context.receivedAt,
  }),
});
