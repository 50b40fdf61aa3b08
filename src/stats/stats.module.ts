import { Global, Module } from '@nestjs/common';
import { IngestStats } from './ingest-stats';

@Global()
@Module({ providers: [IngestStats], exports: [IngestStats] })
export class StatsModule {}
