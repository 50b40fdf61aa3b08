import { Module } from '@nestjs/common';
import { TrackerScripts } from './tracker-script';
import { TrackerController } from './tracker.controller';

/** The browser tracker script, GET /script.js. */
@Module({ controllers: [TrackerController], providers: [TrackerScripts] })
export class TrackerModule {}
