import { Injectable } from '@nestjs/common';
import { isbot } from 'isbot';
import { isISO31661Alpha2 } from 'class-validator';
import { IngestStats } from '../stats/ingest-stats';
import { BatchWriter } from '../warehouse/batch-writer.service';
import { TelemetryDto } from './dto/telemetry.dto';
import { parseIsoDateTime, toCountryCode } from './dto/validators';
import { WebsiteEventDto } from './dto/website-event.dto';
import { normalizeReferrer, stripQuery } from './referrer';

/** What the server knows about a request beyond its body. Raw values; nothing here is stored as is. */
export interface ClientContext {
  /** X-Appengine-Country: ISO 3166-1 alpha-2, or ZZ when App Engine does not know. */
  readonly country?: string;
  readonly userAgent?: string;
}

/** Enriches validated events on the server side and hands them to the warehouse writer. */
@Injectable()
export class EventsService {
  constructor(
    private readonly writer: BatchWriter,
    private readonly stats: IngestStats,
  ) {}

  acceptTelemetry(event: TelemetryDto, client: ClientContext, receivedAt = new Date()): void {
    this.stats.add('telemetry', 'accepted');
    this.writer.enqueue('telemetry', {
      installationId: event.installationId.toLowerCase(),
      startTime: parseIsoDateTime(event.startTime),
      endTime: parseIsoDateTime(event.endTime),
      firstSession: event.firstSession,
      version: event.version,
      os: event.os,
      country: event.country ?? countryFromHeader(client.country),
      environmentsCount: event.environmentsCount,
      app: event.app ?? null,
      auth: event.auth ?? null,
      paid: event.paid ?? null,
      receivedAt,
    });
  }

  /** Hits from known bots are dropped here, after validation, and counted. */
  acceptWebsiteEvent(event: WebsiteEventDto, client: ClientContext, receivedAt = new Date()): void {
    if (client.userAgent && isbot(client.userAgent)) {
      this.stats.add('website_events', 'botFiltered');
      return;
    }
    this.stats.add('website_events', 'accepted');
    const path = stripQuery(event.path);
    this.writer.enqueue('website_events', {
      type: event.type,
      eventName: event.eventName ?? null,
      eventCategory: event.eventCategory ?? null,
      date: receivedAt,
      path,
      entryPage: event.entryPage ? stripQuery(event.entryPage) : path,
      referrer: normalizeReferrer(event.referrer),
      country: countryFromHeader(client.country),
    });
  }
}

/** App Engine's header, held to the same rule as a client's country; anything else is no country. */
function countryFromHeader(header: string | undefined): string | null {
  const code = header === undefined ? null : toCountryCode(header);
  return code && isISO31661Alpha2(code) ? code : null;
}
