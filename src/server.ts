import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { Server } from 'node:http';
import { AppModule } from './app.module';
import { configureApp } from './app.setup';
import { AppConfig } from './config/app-config';
import { AppLogger } from './logging/app-logger';
import { BatchWriter } from './warehouse/batch-writer.service';
import { catalogOrExit } from './warehouse/contracts';

const WARM_UP_DELAY_MS = 1000;

/** Starts Nest on a validated configuration (main.ts). */
export async function serve(config: AppConfig): Promise<void> {
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
  await app.init();
  await listenOrExit(app.getHttpServer(), config);
  // The request that woke a cold instance is already waiting: answer it before loading the
  // warehouse library. /_ah/warmup or the first batch load it sooner when they come first.
  setTimeout(() => app.get(BatchWriter).warmUp(), WARM_UP_DELAY_MS);
  const host = config.host ?? 'all interfaces';
  Logger.log({ message: 'Listening', host, port: config.port, warehouse: config.warehouse }, 'Bootstrap');
  warnIfNoWebsiteOrigin(config);
}

/**
 * Listens on the server Nest built (app.listen() would log the error with its own logger
 * first); a port in use or not allowed is a user mistake: one line on stderr and exit 1.
 */
async function listenOrExit(server: Server, config: AppConfig): Promise<void> {
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => {
        server.removeListener('error', reject);
        resolve();
      });
    });
  } catch (error) {
    const { code } = error as NodeJS.ErrnoException;
    const where = `${config.host ?? 'all interfaces'} port ${config.port}`;
    const why =
      code === 'EADDRINUSE'
        ? 'the port is already in use: stop the other process or set PORT'
        : code === 'EACCES'
          ? 'permission denied: use a port above 1023 or set PORT'
          : code === 'EADDRNOTAVAIL'
            ? 'no such address on this machine: check HOST'
            : (error as Error).message;
    process.stderr.write(`Cannot listen on ${where}: ${why}\n`);
    process.exit(1);
  }
}

/** In production, an empty CORS_ORIGINS means every browser's website event is refused: say so loudly. */
function warnIfNoWebsiteOrigin(config: AppConfig): void {
  if (!config.production || config.corsOrigins.length > 0) return;
  Logger.warn(
    {
      message: 'No website origin allowed: CORS_ORIGINS is empty, so every website event sent from a browser is refused',
      fix: 'set CORS_ORIGINS in app.yaml to the website origins, e.g. https://example.com,https://www.example.com',
    },
    'Bootstrap',
  );
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
