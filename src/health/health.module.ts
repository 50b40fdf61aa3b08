import { Module } from '@nestjs/common';
import { WarehouseModule } from '../warehouse/warehouse.module';
import { HealthController } from './health.controller';

/** The routes App Engine and uptime checks call: /_ah/warmup and /healthz. */
@Module({ imports: [WarehouseModule], controllers: [HealthController] })
export class HealthModule {}
