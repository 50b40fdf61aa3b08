import { Module } from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';
import { Request } from 'express';
import { AppConfig } from '../config/app-config';
import { WarehouseModule } from '../warehouse/warehouse.module';
import { rateLimitKey } from './client-address';
import { EventsController } from './events.controller';
import { EventsService } from './events.service';
import { SlidingWindowStore } from './sliding-window-store';
import { Clock } from './clock';
import { VisitorIds } from './visitor-ids';

/** CORS for the event routes is in the request gate (app.setup.ts), with the other checks made before Nest. */
@Module({
  imports: [
    WarehouseModule,
    // Per client address and per route (the guard keys on the handler), in this instance's memory.
    ThrottlerModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        // A sliding window, with no lock-out beyond it (blockDuration 0): a client gets exactly
        // `requests` in any window, and Retry-After says when its oldest request leaves it.
        throttlers: [{ limit: config.rateLimit.requests, ttl: config.rateLimit.windowMs, blockDuration: 0 }],
        getTracker: (req: Record<string, unknown>) => rateLimitKey(req as unknown as Request, config.production),
        storage: new SlidingWindowStore(),
      }),
    }),
  ],
  controllers: [EventsController],
  providers: [EventsService, VisitorIds, Clock],
})
export class EventsModule {}
