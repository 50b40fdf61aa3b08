import { Module } from '@nestjs/common';
import { WarehouseModule } from '../warehouse/warehouse.module';
import { DashboardAssets } from './dashboard-assets';
import { DashboardController } from './dashboard.controller';
import { DashboardGuard } from './dashboard.guard';
import { DashboardService } from './dashboard.service';

/** The built-in dashboard: GET /dashboard, its data and its files (see DashboardGuard for access). */
@Module({ imports: [WarehouseModule], controllers: [DashboardController], providers: [DashboardService, DashboardAssets, DashboardGuard] })
export class DashboardModule {}
