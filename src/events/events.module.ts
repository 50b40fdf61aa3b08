import { MiddlewareConsumer, Module, NestModule, RequestMethod } from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';
import cors from 'cors';
import { Request } from 'express';
import { AppConfig } from '../config/app-config';
import { WarehouseModule } from '../warehouse/warehouse.module';
import { rateLimitKey } from './client-address';
import { EventsController } from './events.controller';
import { EventsService } from './events.service';
import { SlidingWindowStore } from './sliding-window-store';
import { Clock } from './clock';
import { VisitorIds } from './visitor-ids';

/** Browsers may cache a preflight answer this long (Chromium caps it at 2 hours). */
const PREFLIGHT_MAX_AGE_S = 86_400;

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
export class EventsModule implements NestModule {
  constructor(private readonly config: AppConfig) {}

  configure(consumer: MiddlewareConsumer): void {
    // The website's browsers come from the listed origins only (or from anywhere with `*`).
    const websiteOrigins = this.config.allowsAnyWebsiteOrigin ? '*' : [...this.config.corsOrigins];
    consumer
      .apply(cors({ origin: websiteOrigins, methods: ['POST'], maxAge: PREFLIGHT_MAX_AGE_S }))
      .forRoutes({ path: 'events/website', method: RequestMethod.ALL });
    // Apps post from file:// pages (Origin: null) or their own hosts: any origin may send telemetry.
    consumer
      .apply(cors({ origin: true, methods: ['POST'], maxAge: PREFLIGHT_MAX_AGE_S }))
      .forRoutes({ path: 'events/telemetry', method: RequestMethod.ALL });
  }
}
