import { NestApplicationOptions } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import type { Application } from 'express';
import { createServer, IncomingMessage, ServerResponse } from 'node:http';

/**
 * Nest's Express adapter on a server that builds each request and response with Express's own
 * prototypes (app.request, app.response) from the start. Express gives them those prototypes
 * on every request with Object.setPrototypeOf, which V8 handles by changing the object's map:
 * measured on a bare node:http server, that swap cost 20-30 µs a request and made V8 promote
 * every request's objects to the old generation (about 650 KB per scavenge, none without it),
 * so that full collections ran several times a second under load. Born with those prototypes,
 * Express's call changes nothing. Everything else (routing, middleware, Nest) is as before.
 */
export class PrototypedExpressAdapter extends ExpressAdapter {
  initHttpServer(options: NestApplicationOptions): void {
    if (options?.httpsOptions || options?.forceCloseConnections || !callable(IncomingMessage) || !callable(ServerResponse)) {
      return super.initHttpServer(options);
    }
    // Express's own prototypes for this app's requests and responses (not in its type declarations).
    const app = this.getInstance<Application & { request: object; response: object }>();
    this.httpServer = createServer(
      { IncomingMessage: bornWith(IncomingMessage, app.request), ServerResponse: bornWith(ServerResponse, app.response) },
      app,
    );
  }
}

/** A constructor that runs base on an object born with the given prototype. */
function bornWith<T extends (...args: never[]) => unknown>(base: T, prototype: object): T {
  function Born(this: unknown, ...args: Parameters<T>): void {
    base.apply(this, args);
  }
  Born.prototype = prototype;
  return Born as unknown as T;
}

/** node:http's constructors are plain functions; should one become a class, Nest's own server is used. */
function callable(constructor: unknown): constructor is (...args: never[]) => unknown {
  return typeof constructor === 'function' && !Function.prototype.toString.call(constructor).startsWith('class');
}
