import { BadRequestException, Controller, Get, ParseIntPipe, Query } from '@nestjs/common';
import { AdminEventsService, RecentEvents } from './admin-events.service';
import { AdminOnly } from './admin.guard';

const MAX_LIMIT = 100;

/** Operator routes, served by the API itself. */
@Controller('admin')
@AdminOnly()
export class AdminController {
  constructor(private readonly events: AdminEventsService) {}

  /** The last events of each table and today's counts (UTC). */
  @Get('events')
  recentEvents(@Query('limit', new ParseIntPipe({ optional: true })) limit = 10): Promise<RecentEvents> {
    if (limit < 1 || limit > MAX_LIMIT) throw new BadRequestException(`limit must be from 1 to ${MAX_LIMIT}`);
    return this.events.recent(limit);
  }
}
