import { Injectable } from '@nestjs/common';
import { isbot } from 'isbot';
import { AppConfig } from '../config/app-config';
import { IngestStats } from '../stats/ingest-stats';
import { BatchWriter } from '../warehouse/batch-writer.service';
import { telemetry, TelemetryEvent, WebsiteEvent, websiteEvents } from '../warehouse/contracts';
import { Clock } from './clock';
import { VisitorIds } from './visitor-ids';

/** What the server knows about a request beyond its body; the time it was received is added here. */
export interface ClientContext {
  /** The Origin header: every browser sends it on a cross-origin POST (fetch and sendBeacon alike). */
  readonly origin?: string;
  /** X-Appengine-Country. */
  readonly country?: string;
  /** Read for the bot filter and the visitor id, never stored. */
  readonly userAgent?: string;
  /** The client's IP address (clientAddress), for the visitor id only: never stored or logged. */
  readonly address?: string;
  /** The host of the page's site (Origin, else Referer), for the visitor id only. */
  readonly site?: string;
}

/** Hands validated events, mapped to rows by their table contracts, to the warehouse writer. */
@Injectable()
export class EventsService {
  constructor(
    private readonly writer: BatchWriter,
    private readonly stats: IngestStats,
    private readonly config: AppConfig,
    private readonly visitors: VisitorIds,
    private readonly clock: Clock,
  ) {}

  /** Telemetry rows never get a visitor id: the address and site are not passed on. */
  acceptTelemetry(event: TelemetryEvent, client: ClientContext, receivedAt = this.clock.now()): void {
    this.stats.add('telemetry', 'accepted');
    this.writer.enqueue('telemetry', telemetry.toRow(event, { country: client.country, userAgent: client.userAgent, receivedAt }));
  }

  /**
   * Answered 204 but not stored, and counted: a browser on an origin not in CORS_ORIGINS (refused),
   * and anything that is not a browser by its User-Agent: a known bot, or none at all (botFiltered);
   * neither gets a visitor id. A request without Origin is not a browser on another site's page
   * (curl, a server, an image): it is judged by its User-Agent alone, since a script can forge Origin anyway.
   */
  acceptWebsiteEvent(event: WebsiteEvent, client: ClientContext, receivedAt = this.clock.now()): void {
    if (client.origin !== undefined && !this.config.allowsWebsiteOrigin(client.origin)) {
      this.stats.add('website_events', 'refused');
      return;
    }
    if (!client.userAgent?.trim() || isbot(client.userAgent)) {
      this.stats.add('website_events', 'botFiltered');
      return;
    }
    this.stats.add('website_events', 'accepted');
    const visitorId = client.address
      ? this.visitors.idFor({ site: client.site ?? '', address: client.address, userAgent: client.userAgent }, receivedAt)
      : undefined;
    this.writer.enqueue(
      'website_events',
      websiteEvents.toRow(event, { country: client.country, userAgent: client.userAgent, receivedAt, visitorId }),
    );
  }

  /** A website event refused without a 4xx answer (the pixel always answers its image). */
  rejectWebsiteEvent(): void {
    this.stats.add('website_events', 'rejected');
  }
}
