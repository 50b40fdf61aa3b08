import { MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { NextFunction, Request, Response } from 'express';
import { WarehouseModule } from '../warehouse/warehouse.module';
import { AdminController } from './admin.controller';
import { AdminEventsService } from './admin-events.service';

/** Operator routes under /admin. Their answers, refusals included, are never cached. */
@Module({ imports: [WarehouseModule], controllers: [AdminController], providers: [AdminEventsService] })
export class AdminModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer
      .apply((_req: Request, res: Response, next: NextFunction) => {
        res.setHeader('Cache-Control', 'no-store');
        next();
      })
      .forRoutes(AdminController);
  }
}
