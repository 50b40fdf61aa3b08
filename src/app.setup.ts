import { BadRequestException, INestApplication } from '@nestjs/common';
import { NestExpressApplication } from '@nestjs/platform-express';
import { Application, json, NextFunction, Request, Response } from 'express';
import { STATUS_CODES } from 'node:http';
import { countRejections, eventTableOf } from './events/rejection-counter';
import { KnownPropertiesValidationPipe } from './known-properties.pipe';
import { IngestStats } from './stats/ingest-stats';

/** Event bodies are a few hundred bytes; anything near this is not a real client. */
export const MAX_BODY_BYTES = 16 * 1024;
/** Events are flat; deeper nesting is an attack on the recursive transformers, not a client. */
const MAX_BODY_DEPTH = 8;
/** sendBeacon() posts JSON as text/plain (no CORS preflight), so both types are parsed as JSON. */
export const ACCEPTED_CONTENT_TYPES = ['application/json', 'text/plain'];

/**
 * Everything between the socket and the controllers, shared by main.ts and the e2e tests
 * so that the tests exercise exactly what production runs.
 */
export function configureApp(app: INestApplication): void {
  const express = app as NestExpressApplication;
  express.disable('x-powered-by');
  express.use(countRejections(app.get(IngestStats)));
  express.use(methodNotAllowed(express));
  express.use(requireAcceptedContentType);
  express.use(json({ type: ACCEPTED_CONTENT_TYPES, limit: MAX_BODY_BYTES, strict: true }));
  express.use(bodyErrorHandler);
  express.use(requireJsonObject);
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
 * 405 with Allow for a known path asked with a method it does not serve (GET /events/website),
 * instead of Nest's 404. OPTIONS on the event routes goes on to their cors middleware (CORS
 * preflights); elsewhere it gets 204 with Allow. The routes are read from Express's router on
 * the first request, once Nest has registered them all, so that this list cannot go stale.
 */
function methodNotAllowed(app: NestExpressApplication) {
  let routes: Map<string, Route> | undefined;
  return (req: Request, res: Response, next: NextFunction): void => {
    routes ??= registeredRoutes(app.getHttpAdapter().getInstance() as Application);
    const route = routes.get(normalizePath(req.path));
    if (!route || route.methods.includes(req.method)) return next();
    const allow = [...route.methods, 'OPTIONS'].join(', ');
    if (req.method === 'OPTIONS') {
      if (route.middlewareForAll) return next();
      res.status(204).set('Allow', allow).end();
      return;
    }
    res
      .status(405)
      .set('Allow', allow)
      .json({
        statusCode: 405,
        error: 'Method Not Allowed',
        message: `${req.method} is not allowed on ${req.path}: use ${route.methods.join(' or ')}`,
        fields: [],
      });
  };
}

interface Route {
  /** What the controllers serve, HEAD included wherever GET is. */
  methods: string[];
  /** Middleware registered for every method (cors on the event routes) answers OPTIONS. */
  middlewareForAll: boolean;
}

/** A route registered for all these methods is middleware applied to RequestMethod.ALL, not a handler. */
const ALL_METHODS = ['get', 'post', 'put', 'delete', 'patch', 'options', 'head'];

function registeredRoutes(app: Application): Map<string, Route> {
  const stack = (app as unknown as { router?: { stack?: RouterLayer[] } }).router?.stack ?? [];
  const routes = new Map<string, Route>();
  for (const { route } of stack) {
    if (!route || typeof route.path !== 'string') continue;
    const path = normalizePath(route.path);
    const entry = routes.get(path) ?? { methods: [], middlewareForAll: false };
    routes.set(path, entry);
    if (ALL_METHODS.every((m) => route.methods[m])) {
      entry.middlewareForAll = true;
      continue;
    }
    for (const [method, on] of Object.entries(route.methods)) {
      if (!on || method === '_all') continue;
      entry.methods.push(method.toUpperCase());
      if (method === 'get') entry.methods.push('HEAD');
    }
  }
  for (const [path, route] of routes) {
    if (route.methods.length === 0) routes.delete(path);
    else route.methods = [...new Set(route.methods)];
  }
  return routes;
}

interface RouterLayer {
  route?: { path: unknown; methods: Record<string, boolean> };
}

/** Express matches paths case-insensitively and with or without a trailing slash. */
function normalizePath(path: string): string {
  return (path.length > 1 ? path.replace(/\/+$/, '') : path).toLowerCase();
}

/**
 * 415 for an event body that is neither JSON nor text/plain (a form post, XML), naming the
 * accepted types, instead of field errors about a body that was never read. An empty body
 * (req.is() is null without one) gets the 400 naming the required fields.
 */
function requireAcceptedContentType(req: Request, res: Response, next: NextFunction): void {
  if (req.method !== 'POST' || !eventTableOf(req.path) || req.headers['content-length'] === '0') return next();
  if (req.is(ACCEPTED_CONTENT_TYPES) !== false) return next();
  const given = req.headers['content-type'];
  res.status(415).json({
    statusCode: 415,
    error: 'Unsupported Media Type',
    message: `Content-Type must be application/json or text/plain, not ${given ? JSON.stringify(given) : 'missing'}`,
    accepted: ACCEPTED_CONTENT_TYPES,
    fields: [],
  });
}

/** Arrays and deep nesting are refused before class-transformer walks them (it recurses without a limit). */
function requireJsonObject(req: Request, res: Response, next: NextFunction): void {
  const body: unknown = req.body;
  if (body === undefined) return next(); // not JSON at all: validation names the missing fields
  const message = Array.isArray(body)
    ? 'Body must be a JSON object'
    : depthOf(body) > MAX_BODY_DEPTH
      ? `Body must not nest deeper than ${MAX_BODY_DEPTH} levels`
      : undefined;
  if (!message) return next();
  res.status(400).json({ statusCode: 400, error: 'Bad Request', message, fields: [] });
}

/** Iterative, so that the check itself cannot overflow the stack. */
function depthOf(value: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    max = Math.max(max, depth);
    if (max > MAX_BODY_DEPTH) return max;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return max;
}

/** body-parser's errors would otherwise reach Express's HTML error page. */
function bodyErrorHandler(error: unknown, _req: Request, res: Response, next: NextFunction): void {
  const status = (error as { status?: number }).status;
  if (!status || status < 400 || status >= 500) return next(error);
  const type = (error as { type?: string }).type;
  const message =
    type === 'entity.too.large'
      ? `Body is larger than ${MAX_BODY_BYTES} bytes`
      : type === 'entity.parse.failed'
        ? 'Body must be a JSON object'
        : (error as Error).message;
  res.status(status).json({ statusCode: status, error: STATUS_CODES[status], message, fields: [] });
}
