import { BadRequestException, INestApplication } from '@nestjs/common';
import { NestExpressApplication } from '@nestjs/platform-express';
import { Application, NextFunction, Request, Response } from 'express';
import { STATUS_CODES } from 'node:http';
import { AppConfig } from './config/app-config';
import { eventCors } from './events/event-cors';
import { countRejectionsAfter, EVENT_TABLES } from './events/rejection-counter';
import { ACCEPTED_CONTENT_TYPES, BodyError, MAX_BODY_BYTES, readJsonBody, unacceptedContentType } from './json-body';
import { KnownPropertiesValidationPipe } from './known-properties.pipe';
import { IngestStats } from './stats/ingest-stats';
import { TableName } from './warehouse/contracts';

export { ACCEPTED_CONTENT_TYPES, MAX_BODY_BYTES };
/** Events are flat; deeper nesting is an attack on the recursive transformers, not a client. */
const MAX_BODY_DEPTH = 8;

/**
 * Everything between the socket and the controllers, shared by main.ts and the e2e tests
 * so that the tests exercise exactly what production runs.
 */
export function configureApp(app: INestApplication): void {
  const express = app as NestExpressApplication;
  express.disable('x-powered-by');
  express.use(requestGate(express, app.get(IngestStats), app.get(AppConfig)));
  app.useGlobalPipes(
    new KnownPropertiesValidationPipe({
      whitelist: true, // newer clients may send more: drop unknown properties (before any walk), don't reject them
      transform: true,
      forbidUnknownValues: true,
      exceptionFactory: (errors) =>
        new BadRequestException({
          statusCode: 400,
          error: 'Bad Request',
          message: errors.flatMap((e) => Object.values(e.constraints ?? { [e.property]: `${e.property} is invalid` })),
          fields: errors.map((e) => e.property),
        }),
    }),
  );
}

/**
 * One middleware for what every request goes through before Nest, in this order:
 *  1. 405 with Allow for a known path asked with a method it does not serve (GET /events/website),
 *     instead of Nest's 404; OPTIONS gets 204 with Allow, except on the event routes (CORS below);
 *  2. 415 for an event body that is neither JSON nor text/plain;
 *  3. the body, parsed as JSON (readJsonBody), its errors answered as JSON rather than Express's
 *     HTML page, and 400 for an array or a body nested deeper than MAX_BODY_DEPTH;
 *  4. CORS on the event routes: preflights answered, headers set on what Nest answers.
 * Every 4xx on an event route is counted as a rejected event: here for those answered here, by the
 * controller's filter (CountRejections) for Nest's own (validation, rate limit). CORS preflights
 * are not events. One layer instead of eight (each wrapped by Express, two of them by Nest), and
 * no listener per request.
 */
function requestGate(app: NestExpressApplication, stats: IngestStats, config: AppConfig) {
  // The website's browsers come from the listed origins only (or from anywhere with `*`); apps
  // post from file:// pages (Origin: null) or their own hosts: any origin may send telemetry.
  const corsByTable: Record<TableName, ReturnType<typeof eventCors>> = {
    website_events: eventCors(config.allowsAnyWebsiteOrigin ? '*' : config.corsOrigins),
    telemetry: eventCors(true),
  };
  // Read from Express's router on the first request, once Nest has registered every route, so
  // that this list cannot go stale.
  let routes: Map<string, string[]> | undefined;

  return (req: Request, res: Response, next: NextFunction): void => {
    routes ??= registeredRoutes(app.getHttpAdapter().getInstance() as Application);
    const path = normalizePath(req.path);
    const table = EVENT_TABLES.get(path);
    const methods = routes.get(path);
    if (methods && !methods.includes(req.method) && !(table && req.method === 'OPTIONS')) {
      res.set('Allow', [...methods, 'OPTIONS'].join(', '));
      if (req.method === 'OPTIONS') res.status(204).end();
      else reject(stats, table, req, res, 405, `${req.method} is not allowed on ${req.path}: use ${methods.join(' or ')}`);
      return;
    }
    // An empty body (req.is() is null without one) gets the 400 naming the required fields.
    if (table && req.method === 'POST' && req.headers['content-length'] !== '0' && unacceptedContentType(req)) {
      const given = req.headers['content-type'];
      const message = `Content-Type must be application/json or text/plain, not ${given ? JSON.stringify(given) : 'missing'}`;
      reject(stats, table, req, res, 415, message, { accepted: ACCEPTED_CONTENT_TYPES });
      return;
    }
    readJsonBody(req, res, (error) => {
      if (error) {
        const status = error.status;
        if (!status || status < 400 || status >= 500) return next(error);
        return reject(stats, table, req, res, status, bodyErrorMessage(error));
      }
      const shape = shapeProblem(req.body);
      if (shape) return reject(stats, table, req, res, 400, shape);
      if (!table) return next();
      // Express does not route "/events/website//": its 404 counts, as any 4xx on an event path.
      if (path !== strictPath(req.path)) return countRejectionsAfter(res, table, stats, next);
      corsByTable[table](req, res, next);
    });
  };
}

/** A 4xx in the shape of every refusal of an event, counted when it refuses one (not a CORS preflight). */
function reject(
  stats: IngestStats,
  table: TableName | undefined,
  req: Request,
  res: Response,
  status: number,
  message: string,
  extra?: Record<string, unknown>,
): void {
  if (table && req.method !== 'OPTIONS') stats.add(table, 'rejected');
  res.status(status).json({ statusCode: status, error: STATUS_CODES[status], message, ...extra, fields: [] });
}

/** What the controllers serve, HEAD included wherever GET is, by path as normalizePath gives it. */
function registeredRoutes(app: Application): Map<string, string[]> {
  const stack = (app as unknown as { router?: { stack?: RouterLayer[] } }).router?.stack ?? [];
  const routes = new Map<string, string[]>();
  for (const { route } of stack) {
    if (!route || typeof route.path !== 'string') continue;
    const methods = routes.get(normalizePath(route.path)) ?? [];
    routes.set(normalizePath(route.path), methods);
    for (const [method, on] of Object.entries(route.methods)) {
      if (!on || method === '_all') continue;
      methods.push(method.toUpperCase());
      if (method === 'get') methods.push('HEAD');
    }
  }
  for (const [path, methods] of routes) routes.set(path, [...new Set(methods)]);
  return routes;
}

interface RouterLayer {
  route?: { path: unknown; methods: Record<string, boolean> };
}

/** Express matches paths case-insensitively and with or without a trailing slash. */
function normalizePath(path: string): string {
  if (path.length > 1 && path.endsWith('/')) path = path.replace(/\/+$/, '');
  return path.toLowerCase();
}

/** The path as Express matches it: one trailing slash at most is optional. */
function strictPath(path: string): string {
  return (path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path).toLowerCase();
}

/** Arrays and deep nesting are refused before class-transformer walks them (it recurses without a limit). */
function shapeProblem(body: unknown): string | undefined {
  if (body === undefined) return undefined; // not JSON at all: validation names the missing fields
  if (Array.isArray(body)) return 'Body must be a JSON object';
  if (deeperThan(body, MAX_BODY_DEPTH)) return `Body must not nest deeper than ${MAX_BODY_DEPTH} levels`;
  return undefined;
}

/** Recursive, but never more than MAX_BODY_DEPTH + 1 calls deep, however deep the value. */
function deeperThan(value: unknown, levels: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (levels === 0) return true;
  if (Array.isArray(value)) {
    for (const item of value) if (deeperThan(item, levels - 1)) return true;
  } else {
    for (const key in value) if (deeperThan((value as Record<string, unknown>)[key], levels - 1)) return true;
  }
  return false;
}

function bodyErrorMessage(error: BodyError): string {
  if (error.type === 'entity.too.large') return `Body is larger than ${MAX_BODY_BYTES} bytes`;
  if (error.type === 'entity.parse.failed') return 'Body must be a JSON object';
  return error.message;
}
