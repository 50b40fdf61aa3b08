import { Controller, Get, Headers, HttpCode, Logger } from '@nestjs/common';
import { timingSafeEqual } from 'node:crypto';
import { AppConfig } from '../config/app-config';
import { IngestStats } from '../stats/ingest-stats';
import { BatchWriter } from '../warehouse/batch-writer.service';
import { TABLE_NAMES } from '../warehouse/sql-catalog';

@Controller()
export class HealthController {
  private readonly logger = new Logger(HealthController.name);

  constructor(
    private readonly writer: BatchWriter,
    private readonly stats: IngestStats,
    private readonly config: AppConfig,
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
  health(@Headers('authorization') authorization?: string): Record<string, unknown> {
    if (!this.isAdmin(authorization)) return { status: 'ok' };
    return {
      status: 'ok',
      pending: Object.fromEntries(TABLE_NAMES.map((t) => [t, this.writer.pending(t)])),
      counts: this.stats.snapshot(),
    };
  }

  private isAdmin(authorization: string | undefined): boolean {
    const token = this.config.adminToken;
    if (!token || !authorization) return false;
    const expected = Buffer.from(`Bearer ${token}`);
    const given = Buffer.from(authorization);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}
