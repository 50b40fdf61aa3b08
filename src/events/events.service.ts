import { Injectable } from '@nestjs/common';
import { isbot } from 'isbot';
import { IngestStats } from '../stats/ingest-stats';
import { BatchWriter } from '../warehouse/batch-writer.service';
import { RequestContext, telemetry, TelemetryEvent, WebsiteEvent, websiteEvents } from '../warehouse/contracts';

/** What the server knows about a request beyond its body; the time it was received is added here. */
export type ClientContext = Omit<RequestContext, 'receivedAt'>;

/** Hands validated events, mapped to rows by their table contracts, to the warehouse writer. */
@Injectable()
export class EventsService {
  constructor(
    private readonly writer: BatchWriter,
    private readonly stats: IngestStats,
  ) {}

  acceptTelemetry(event: TelemetryEvent, client: ClientContext, receivedAt = new Date()): void {
    this.stats.add('telemetry', 'accepted');
    this.writer.enqueue('telemetry', telemetry.toRow(event, { ...client, receivedAt }));
  }

  /** Hits from known bots are dropped here, after validation, and counted. */
  acceptWebsiteEvent(event: WebsiteEvent, client: ClientContext, receivedAt = new Date()): void {
    if (client.userAgent && isbot(client.userAgent)) {
      this.stats.add('website_events', 'botFiltered');
      return;
    }
    this.stats.add('website_events', 'accepted');
    this.writer.enqueue('website_events', websiteEvents.toRow(event, { ...client, receivedAt }));
  }
}
