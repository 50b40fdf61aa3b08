import { ArgumentsHost, Catch, HttpException, Injectable } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { Request, Response } from 'express';
import { IngestStats } from '../stats/ingest-stats';
import { TableName } from '../warehouse/contracts';

/** The table each event route writes, by its path in lower case without a trailing slash. */
export const EVENT_TABLES: ReadonlyMap<string, TableName> = new Map([
  ['/events/telemetry', 'telemetry'],
  ['/events/website', 'website_events'],
]);

/** The table an event route writes, for the path as Express matches it (any case, optional trailing slash). */
export function eventTableOf(path: string): TableName | undefined {
  return EVENT_TABLES.get(path.replace(/(.)\/+$/, '$1').toLowerCase());
}

/**
 * Every 4xx answer on the event routes counts as a rejected event, whoever produced it. The
 * request gate (app.setup.ts) counts the 405, 415 and body errors it answers itself; this filter,
 * on the events controller, counts Nest's: the ValidationPipe's 400 and the rate limit's 429.
 * Both count where the answer is made, so that the requests that pass cost nothing.
 */
@Catch()
@Injectable()
export class CountRejections extends BaseExceptionFilter {
  constructor(private readonly stats: IngestStats) {
    super();
  }

  catch(exception: unknown, host: ArgumentsHost): void {
    const status = exception instanceof HttpException ? exception.getStatus() : 500;
    const table = eventTableOf(host.switchToHttp().getRequest<Request>().path);
    if (table && status >= 400 && status < 500) this.stats.add(table, 'rejected');
    super.catch(exception, host);
  }
}

/**
 * Counts a 4xx answered after the gate on an event path that Express does not route
 * ("/events/website//": its 404). The only requests that get a listener.
 */
export function countRejectionsAfter(res: Response, table: TableName, stats: IngestStats, next: () => void): void {
  res.once('finish', () => {
    if (res.statusCode >= 400 && res.statusCode < 500) stats.add(table, 'rejected');
  });
  next();
}
