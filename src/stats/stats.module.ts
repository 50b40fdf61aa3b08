import { Global, Module } from '@nestjs/common';
import { IngestStats } from './ingest-stats';
import { StatsReporter } from './stats-reporter.service';

@Global()
@Module({ providers: [IngestStats, StatsReporter], exports: [IngestStats] })
export class StatsModule {}
