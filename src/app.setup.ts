import { BadRequestException, INestApplication, ValidationPipe } from '@nestjs/common';
import { NestExpressApplication } from '@nestjs/platform-express';
import { json, NextFunction, Request, Response } from 'express';
import { STATUS_CODES } from 'node:http';
import { countRejections } from './events/rejection-counter';
import { IngestStats } from './stats/ingest-stats';

/** Event bodies are a few hundred bytes; anything near this is not a real client. */
export const MAX_BODY_BYTES = 16 * 1024;
/** Events are flat; deeper nesting is an attack on the recursive transformers, not a client. */
const MAX_BODY_DEPTH = 8;

/**
 * Everything between the socket and the controllers, shared by main.ts and the e2e tests
 * so that the tests exercise exactly what production runs.
 */
export function configureApp(app: INestApplication): void {
  const express = app as NestExpressApplication;
  express.disable('x-powered-by');
  express.use(countRejections(app.get(IngestStats)));
  // sendBeacon() posts JSON as text/plain (no CORS preflight), so both types are parsed as JSON.
  express.use(json({ type: ['application/json', 'text/plain'], limit: MAX_BODY_BYTES, strict: true }));
  express.use(bodyErrorHandler);
  express.use(requireJsonObject);
  app.useGlobalPipes(
    new ValidationPipe({
      whitelist: true, // newer clients may send more: drop unknown properties, don't reject them
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
