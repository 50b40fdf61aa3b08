import { Body, Controller, Headers, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { TelemetryDto } from './dto/telemetry.dto';
import { WebsiteEventDto } from './dto/website-event.dto';
import { ClientContext, EventsService } from './events.service';

/** Both routes answer 204 as soon as the body is valid; the warehouse write happens later. */
@Controller('events')
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
  return { country: headers['x-appengine-country'], userAgent: headers['user-agent'] };
}
