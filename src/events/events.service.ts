import { Injectable } from '@nestjs/common';
import { isbot } from 'isbot';
import { AppConfig } from '../config/app-config';
import { IngestStats } from '../stats/ingest-stats';
import { BatchWriter } from '../warehouse/batch-writer.service';
import { RequestContext, telemetry, TelemetryEvent, WebsiteEvent, websiteEvents } from '../warehouse/contracts';

/** What the server knows about a request beyond its body; the time it was received is added here. */
export interface ClientContext extends Omit<RequestContext, 'receivedAt'> {
  /** The Origin header: every browser sends it on a cross-origin POST (fetch and sendBeacon alike). */
  readonly origin?: string;
}

/** Hands validated events, mapped to rows by their table contracts, to the warehouse writer. */
@Injectable()
export class EventsService {
  constructor(
    private readonly writer: BatchWriter,
    private readonly stats: IngestStats,
    private readonly config: AppConfig,
  ) {}

  acceptTelemetry(event: TelemetryEvent, { country, userAgent }: ClientContext, receivedAt = new Date()): void {
    this.stats.add('telemetry', 'accepted');
    this.writer.enqueue('telemetry', telemetry.toRow(event, { country, userAgent, receivedAt }));
  }

  /**
   * Answered 204 but not stored, and counted: a browser on an origin not in CORS_ORIGINS (refused),
   * and anything that is not a browser by its User-Agent: a known bot, or none at all (botFiltered).
   * A request without Origin is not a browser on another site's page (curl, a server): it is
   * judged by its User-Agent alone, since a script can forge Origin anyway.
   */
  acceptWebsiteEvent(event: WebsiteEvent, { origin, country, userAgent }: ClientContext, receivedAt = new Date()): void {
    if (origin !== undefined && !this.config.allowsWebsiteOrigin(origin)) {
      this.stats.add('website_events', 'refused');
      return;
    }
    if (!userAgent?.trim() || isbot(userAgent)) {
      this.stats.add('website_events', 'botFiltered');
      return;
    }
    this.stats.add('website_events', 'accepted');
    this.writer.enqueue('website_events', websiteEvents.toRow(event, { country, userAgent, receivedAt }));
  }
}
