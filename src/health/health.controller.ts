import { Controller, Get, HttpCode, Inject, Logger } from '@nestjs/common';
import { AdminOptional, IsAdmin } from '../admin/admin.guard';
import { IngestStats } from '../stats/ingest-stats';
import { WRITER_STATUS, WriterStatus } from '../warehouse/batch-writer.service';

@Controller()
export class HealthController {
  private readonly logger = new Logger(HealthController.name);

  constructor(
    @Inject(WRITER_STATUS) private readonly writer: WriterStatus,
    private readonly stats: IngestStats,
  ) {}

  /**
   * App Engine calls this before sending traffic to a new instance. A warehouse that cannot
   * be readied yet is logged, not fatal: events are buffered and the write retried.
   */
  @Get('_ah/warmup')
  @HttpCode(200)
  async warmup(): Promise<{ status: string }> {
    try {
      await this.writer.ensureReady();
      return { status: 'ready' };
    } catch (error) {
      this.logger.warn({ message: 'Warmup could not ready the warehouse', reason: (error as Error).message });
      return { status: 'warehouse not ready, events are buffered' };
    }
  }

  /** 200 while the server listens (it stops before the last flush). Counts only for ADMIN_TOKEN holders. */
  @Get('healthz')
  @AdminOptional()
  health(@IsAdmin() admin: boolean): Record<string, unknown> {
    if (!admin) return { status: 'ok' };
    return { status: 'ok', pending: this.writer.pendingByTable(), stalled: this.writer.stalledTables(), counts: this.stats.snapshot() };
  }
}
