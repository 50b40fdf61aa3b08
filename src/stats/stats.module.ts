import { Global, Module } from '@nestjs/common';
import { WRITE_COUNTS } from '../warehouse/batch-writer.service';
import { IngestStats } from './ingest-stats';
import { StatsReporter } from './stats-reporter.service';

@Global()
@Module({
  providers: [IngestStats, StatsReporter, { provide: WRITE_COUNTS, useExisting: IngestStats }],
  exports: [IngestStats, WRITE_COUNTS],
})
export class StatsModule {}
