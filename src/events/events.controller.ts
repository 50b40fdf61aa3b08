import { Body, Controller, Get, HttpCode, HttpStatus, Post, Query, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { Request, Response } from 'express';
import { AppConfig } from '../config/app-config';
import { clientAddress } from './client-address';
import { ClientThrottlerGuard } from './client-throttler.guard';
import { TelemetryDto } from './dto/telemetry.dto';
import { WebsiteEventDto } from './dto/website-event.dto';
import { ClientContext, EventsService } from './events.service';
import { originOf, PIXEL_GIF, PIXEL_HEADERS, pixelPageview, pixelRefererAllowed } from './pixel';
import { CountRejections } from './rejection-counter';

/**
 * Both POST routes answer 204 as soon as the body is valid; the warehouse write happens later. Each
 * client address may send RATE_LIMIT_REQUESTS per RATE_LIMIT_WINDOW_MS to each route (429 beyond),
 * checked before the body is validated.
 */
@Controller('events')
@UseGuards(ClientThrottlerGuard)
@UseFilters(CountRejections)
export class EventsController {
  constructor(
    private readonly events: EventsService,
    private readonly config: AppConfig,
  ) {}

  @Post('telemetry')
  @HttpCode(HttpStatus.NO_CONTENT)
  telemetry(@Body() body: TelemetryDto, @Req() req: Request): void {
    this.events.acceptTelemetry(body, { country: header(req, 'x-appengine-country'), userAgent: header(req, 'user-agent') });
  }

  @Post('website')
  @HttpCode(HttpStatus.NO_CONTENT)
  website(@Body() body: WebsiteEventDto, @Req() req: Request): void {
    this.events.acceptWebsiteEvent(body, this.websiteClient(req));
  }

  /**
   * A page view for pages without JavaScript: `<img src=".../events/pixel.gif?p=/docs">`. It always
   * answers the GIF (an image must never break a page); what is not valid is not stored, and counted
   * as rejected. HEAD (link checkers, image proxies probing) records nothing.
   */
  @Get('pixel.gif')
  pixel(@Query() query: Record<string, unknown>, @Req() req: Request, @Res() res: Response): void {
    if (req.method === 'GET') {
      const referer = header(req, 'referer');
      const event = pixelPageview(query, referer);
      if (event && pixelRefererAllowed(referer, this.config.corsOrigins)) this.events.acceptWebsiteEvent(event, this.websiteClient(req));
      else this.events.rejectWebsiteEvent();
    }
    res.status(200).set(PIXEL_HEADERS).send(PIXEL_GIF);
  }

  private websiteClient(req: Request): ClientContext {
    return {
      origin: header(req, 'origin'),
      country: header(req, 'x-appengine-country'),
      userAgent: header(req, 'user-agent'),
      address: clientAddress(req, this.config.production),
      site: (originOf(header(req, 'origin')) ?? originOf(header(req, 'referer')))?.host,
    };
  }
}

function header(req: Request, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
