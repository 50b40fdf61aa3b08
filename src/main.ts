import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module';
import { configureApp } from './app.setup';
import { configOrExit } from './config/app-config';
import { AppLogger } from './logging/app-logger';
import { BatchWriter } from './warehouse/batch-writer.service';
import { catalogOrExit } from './warehouse/contracts';

const WARM_UP_DELAY_MS = 1000;

async function bootstrap(): Promise<void> {
  const config = configOrExit(process.env);
  catalogOrExit();
  const logger = new AppLogger(config.production);
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    bodyParser: false,
    logger,
  });
  // App Engine's front end is the only way in; it sets X-Forwarded-For and X-Forwarded-Proto.
  if (config.production) app.set('trust proxy', true);
  configureApp(app);
  stopOnSignals(app, logger);
  await app.listen(config.port);
  // The request that woke a cold instance is already waiting: answer it before loading the
  // warehouse library. /_ah/warmup or the first batch load it sooner when they come first.
  setTimeout(() => app.get(BatchWriter).warmUp(), WARM_UP_DELAY_MS);
  Logger.log({ message: 'Listening', port: config.port, warehouse: config.warehouse }, 'Bootstrap');
}

/**
 * Nest's enableShutdownHooks() re-raises the signal after closing, so the process would
 * end with status 143. App Engine and any supervisor read a clean stop as status 0: close
 * the app (server stops taking requests, then BatchWriter flushes) and exit 0 ourselves.
 */
function stopOnSignals(app: NestExpressApplication, logger: AppLogger): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.log({ message: 'Stopping', signal }, 'Bootstrap');
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ message: 'Unclean stop', reason: (error as Error).message }, 'Bootstrap');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

void bootstrap();
