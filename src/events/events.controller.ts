import { Body, Controller, Headers, HttpCode, HttpStatus, Post, UseGuards } from '@nestjs/common';
import { ClientThrottlerGuard } from './client-throttler.guard';
import { TelemetryDto } from './dto/telemetry.dto';
import { WebsiteEventDto } from './dto/website-event.dto';
import { ClientContext, EventsService } from './events.service';

/**
 * Both routes answer 204 as soon as the body is valid; the warehouse write happens later. Each
 * client address may send RATE_LIMIT_REQUESTS per RATE_LIMIT_WINDOW_MS to each route (429 beyond),
 * checked before the body is validated.
 */
@Controller('events')
@UseGuards(ClientThrottlerGuard)
export class EventsController {
  constructor(private readonly events: EventsService) {}

  @Post('telemetry')
  @HttpCode(HttpStatus.NO_CONTENT)
  telemetry(@Body() body: TelemetryDto, @Headers() headers: Record<string, string | undefined>): void {
    this.events.acceptTelemetry(body, clientContext(headers));
  }

  @Post('website')
  @HttpCode(HttpStatus.NO_CONTENT)
  website(@Body() body: WebsiteEventDto, @Headers() headers: Record<string, string | undefined>): void {
    this.events.acceptWebsiteEvent(body, clientContext(headers));
  }
}

function clientContext(headers: Record<string, string | undefined>): ClientContext {
  return { origin: headers.origin, country: headers['x-appengine-country'], userAgent: headers['user-agent'] };
}
