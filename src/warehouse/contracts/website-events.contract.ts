import { countryFromHeader } from '../../normalize/country';
import { normalizeReferrer, stripQuery } from '../../normalize/referrer';
import { defineTable, nullable, required } from './table-contract';

/** What the mapping reads from a validated WebsiteEventDto. */
export interface WebsiteEvent {
  readonly type: string;
  readonly eventName?: string | null;
  readonly eventCategory?: string | null;
  readonly path: string;
  readonly entryPage?: string | null;
  readonly referrer?: string | null;
}

/** sql/tables/website_events.sql: one row per page view or event. Paths and referrers lose their query strings. */
export const websiteEvents = defineTable({
  name: 'website_events',
  columns: {
    type: required('STRING'),
    eventName: nullable('STRING'),
    eventCategory: nullable('STRING'),
    date: required('TIMESTAMP'),
    path: required('STRING'),
    entryPage: required('STRING'),
    referrer: required('STRING'),
    country: nullable('STRING'),
  },
  receivedAt: 'date',
  toRow: (event: WebsiteEvent, context) => {
    const path = stripQuery(event.path);
    return {
      type: event.type,
      eventName: event.eventName ?? null,
      eventCategory: event.eventCategory ?? null,
      date: context.receivedAt,
      path,
      entryPage: event.entryPage ? stripQuery(event.entryPage) : path,
      referrer: normalizeReferrer(event.referrer),
      country: countryFromHeader(context.country),
    };
  },
});
