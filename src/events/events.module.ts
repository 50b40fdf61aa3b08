import { MiddlewareConsumer, Module, NestModule, RequestMethod } from '@nestjs/common';
import cors from 'cors';
import { AppConfig } from '../config/app-config';
import { WarehouseModule } from '../warehouse/warehouse.module';
import { EventsController } from './events.controller';
import { EventsService } from './events.service';

/** Browsers may cache a preflight answer this long (Chromium caps it at 2 hours). */
const PREFLIGHT_MAX_AGE_S = 86_400;

@Module({
  imports: [WarehouseModule],
  controllers: [EventsController],
  providers: [EventsService],
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
