import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { IncomingMessage, Server, ServerResponse } from 'node:http';
import { AppModule } from './app.module';
import { configureApp } from './app.setup';
import { PrototypedExpressAdapter } from './express-adapter';
import { AppConfig } from './config/app-config';
import { AppLogger } from './logging/app-logger';
import { BatchWriter } from './warehouse/batch-writer.service';
import { catalogOrExit } from './warehouse/contracts';

const WARM_UP_DELAY_MS = 1000;

/**
 * Timeouts for an API that only Google's front end talks to. The front end terminates the
 * visitors' connections and keeps its own to the instance open and idle for a long time: Google's
 * load balancers, the same front end, document a fixed 600 s backend keep-alive and ask backends
 * to keep theirs longer (https://cloud.google.com/load-balancing/docs/https#timeouts_and_retries);
 * App Engine documents none of its own. If Node closed an idle connection first (its default is
 * 5 s), a request the front end sends on it at that moment fails with a 502: Node must wait
 * longer than the front end, hence 620 s. Shutdown is not delayed by this: server.close() drops
 * idle connections at once.
 * Node measures the two others per request, not across the idle time between requests on a
 * kept-alive connection, so they can be short: the front end sends whole requests of a few
 * hundred bytes (16 KiB at most), and a request still arriving after this long is not a client
 * of ours but a connection held open. Node checks them every 30 s, so they bite up to 30 s late.
 */
export const SERVER_TIMEOUTS = {
  keepAliveTimeout: 620_000,
  headersTimeout: 10_000,
  requestTimeout: 30_000,
} as const;

export function applyServerTimeouts(server: Server): void {
  server.keepAliveTimeout = SERVER_TIMEOUTS.keepAliveTimeout;
  server.headersTimeout = SERVER_TIMEOUTS.headersTimeout;
  server.requestTimeout = SERVER_TIMEOUTS.requestTimeout;
}

/** Starts Nest on a validated configuration (main.ts). */
export async function serve(config: AppConfig): Promise<void> {
  catalogOrExit();
  const logger = new AppLogger(config.production);
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), new PrototypedExpressAdapter(), {
    bodyParser: false,
    logger,
  });
  // App Engine's front end is the only way in; it sets X-Forwarded-For and X-Forwarded-Proto.
  if (config.production) app.set('trust proxy', true);
  configureApp(app);
  stopOnSignals(app, logger);
  await app.init();
  const server = app.getHttpServer();
  applyServerTimeouts(server);
  await listenOrExit(server, config);
  // The request that woke a cold instance is already waiting: answer it before loading the
  // warehouse library. /_ah/warmup or the first batch load it sooner when they come first.
  setTimeout(() => app.get(BatchWriter).warmUp(), WARM_UP_DELAY_MS);
  const host = config.host ?? 'all interfaces';
  const { keepAliveTimeout, headersTimeout, requestTimeout } = server; // as set on the server, not as intended
  Logger.log(
    { message: 'Listening', host, port: config.port, warehouse: config.warehouse, keepAliveTimeout, headersTimeout, requestTimeout },
    'Bootstrap',
  );
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
 * The handlers stay installed until the process exits: a second SIGTERM or SIGINT (some
 * supervisors repeat it; a signal sent to a process group reaches `npm start` and node both)
 * is logged and otherwise ignored, instead of reaching Node's default handler, which would
 * kill the process with status 143 in the middle of the flush.
 */
function stopOnSignals(app: NestExpressApplication, logger: AppLogger): void {
  let stopping = false;
  const server: Server = app.getHttpServer();
  // Clients that keep sending on kept-alive connections would hold the server open, and the
  // flush back, for as long as they send: once stopping, every answer closes its connection.
  server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => {
    if (stopping) res.setHeader('Connection', 'close');
  });
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.log({ message: 'Already stopping: flushing the last batches', signal }, 'Bootstrap');
      return;
    }
    stopping = true;
    logger.log({ message: 'Stopping', signal }, 'Bootstrap');
    server.closeIdleConnections();
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ message: 'Unclean stop', reason: (error as Error).message }, 'Bootstrap');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
