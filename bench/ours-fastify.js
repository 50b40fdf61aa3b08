// npm run bench's "ours on Fastify": this API's own AppModule (controllers, guard, CORS
// middleware, pipe, stats, queue, writer), built from dist/, served by @nestjs/platform-fastify
// instead of Express. What src/app.setup.ts does for the two event routes is re-created with
// Fastify's own means: a content-type parser (both types as JSON, 16 KiB, objects only, depth),
// an onRequest hook (415, 413) and an onResponse hook (rejections counted). A measurement of what
// a port would serve, not a way to run the API: README "Performance" lists what is not ported.
// Configured by the same environment as dist/main.js.
require('reflect-metadata');
const { BadRequestException, ValidationPipe } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { FastifyAdapter } = require('@nestjs/platform-fastify');
const { AppModule } = require('../dist/app.module.js');
const setup = require('../dist/app.setup.js');
const { configOrExit } = require('../dist/config/app-config.js');
const { AppLogger } = require('../dist/logging/app-logger.js');
const { applyServerTimeouts } = require('../dist/server.js');
const { IngestStats } = require('../dist/stats/ingest-stats.js');

const MAX_BODY_BYTES = setup.MAX_BODY_BYTES ?? 16 * 1024;
const ACCEPTED_CONTENT_TYPES = setup.ACCEPTED_CONTENT_TYPES ?? ['application/json', 'text/plain'];
const MAX_BODY_DEPTH = 8;
/** Keyed by the route Fastify matched (request.routeOptions.url), so case and a trailing slash are already folded. */
const EVENT_TABLES = { '/events/telemetry': 'telemetry', '/events/website': 'website_events' };

/**
 * The global pipes (and filters, interceptors, guards) that configureApp installs, taken from it
 * rather than copied, so that the pipe class, its options and its exceptionFactory cannot drift
 * from production's: configureApp runs against a stand-in app that records those calls, and whose
 * every other member (Express's use, disable, get...) is an inert function that returns itself.
 */
function productionEnhancers() {
  const recorded = [];
  const inert = new Proxy(function () {}, { get: (_, key) => (key === 'then' ? undefined : inert), apply: () => inert });
  const app = new Proxy(inert, {
    get: (_, key) =>
      typeof key === 'string' && key.startsWith('useGlobal')
        ? (...args) => void recorded.push([key, args])
        : key === 'then'
          ? undefined
          : inert,
  });
  setup.configureApp(app);
  if (!recorded.some(([key, args]) => key === 'useGlobalPipes' && args.some((p) => p instanceof ValidationPipe)))
    throw new Error('configureApp (dist/app.setup.js) installed no ValidationPipe: bench/ours-fastify.js needs updating');
  return recorded;
}

const refusal = (statusCode, error, message, extra = {}) => ({ statusCode, error, message, ...extra, fields: [] });
const notAnObject = () => new BadRequestException(refusal(400, 'Bad Request', 'Body must be a JSON object'));

/** As express.json({ strict: true }) and requireJsonObject: an empty body is {}, anything but an object 400. */
function parseEventJson(_request, text, done) {
  if (text.length === 0) return done(null, {});
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    return done(notAnObject());
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return done(notAnObject());
  if (depthOf(body) > MAX_BODY_DEPTH)
    return done(new BadRequestException(refusal(400, 'Bad Request', `Body must not nest deeper than ${MAX_BODY_DEPTH} levels`)));
  done(null, body);
}

function depthOf(value) {
  let max = 0;
  const stack = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop();
    if (node === null || typeof node !== 'object') continue;
    max = Math.max(max, depth);
    if (max > MAX_BODY_DEPTH) return max;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return max;
}

const mediaType = (header) => header?.split(';', 1)[0].trim().toLowerCase();
const charsetOf = (header) => /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(header)?.[1].toLowerCase();

/** 415 and 413 on the event routes before the body is read, with the API's (and body-parser's) messages. */
function checkEventBody(request, reply, done) {
  if (request.method !== 'POST' || !EVENT_TABLES[request.routeOptions.url]) return done();
  const { 'content-length': length, 'transfer-encoding': chunked, 'content-type': type } = request.headers;
  if (length === '0' || (length === undefined && chunked === undefined)) return done();
  if (!ACCEPTED_CONTENT_TYPES.includes(mediaType(type))) {
    const given = type ? JSON.stringify(type) : 'missing';
    const message = `Content-Type must be application/json or text/plain, not ${given}`;
    return void reply.code(415).send(refusal(415, 'Unsupported Media Type', message, { accepted: ACCEPTED_CONTENT_TYPES }));
  }
  const charset = charsetOf(type);
  if (charset !== undefined && !charset.startsWith('utf-'))
    return void reply.code(415).send(refusal(415, 'Unsupported Media Type', `unsupported charset "${charset.toUpperCase()}"`));
  if (Number(length) > MAX_BODY_BYTES)
    return void reply.code(413).send(refusal(413, 'Payload Too Large', `Body is larger than ${MAX_BODY_BYTES} bytes`));
  done();
}

async function main() {
  const config = configOrExit(process.env);
  const adapter = new FastifyAdapter({
    bodyLimit: MAX_BODY_BYTES,
    trustProxy: config.production,
    // Express's routing: any case, with or without a trailing slash.
    routerOptions: { caseSensitive: false, ignoreTrailingSlash: true },
  });
  const fastify = adapter.getInstance();
  fastify.addContentTypeParser(ACCEPTED_CONTENT_TYPES, { parseAs: 'string' }, parseEventJson);
  // Any other type leaves the body unread, as on Express (the event routes have answered 415 by then).
  fastify.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
  // Before NestFactory.create adds @fastify/middie's hook: refused before the cors middleware, as on Express.
  fastify.addHook('onRequest', checkEventBody);

  const app = await NestFactory.create(AppModule.forRoot(config), adapter, { bodyParser: false, logger: new AppLogger(config.production) });
  for (const [method, args] of productionEnhancers()) app[method](...args);
  const stats = app.get(IngestStats);
  fastify.addHook('onResponse', (request, reply, done) => {
    const table = EVENT_TABLES[request.routeOptions.url];
    if (table && request.method !== 'OPTIONS' && reply.statusCode >= 400 && reply.statusCode < 500) stats.add(table, 'rejected');
    done();
  });
  app.enableShutdownHooks();
  await app.init();
  applyServerTimeouts(app.getHttpServer());
  await app.listen(config.port, config.host);
}

void main();
