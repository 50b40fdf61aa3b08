import { NextFunction, Request, Response } from 'express';
import { IngestStats } from '../stats/ingest-stats';
import { TableName } from '../warehouse/contracts';

const TABLE_BY_PATH: Record<string, TableName> = {
  '/events/telemetry': 'telemetry',
  '/events/website': 'website_events',
};

/** The table an event route writes, for the path as Express matches it (any case, optional trailing slash). */
export function eventTableOf(path: string): TableName | undefined {
  return TABLE_BY_PATH[path.replace(/(.)\/+$/, '$1').toLowerCase()];
}

/**
 * Counts every 4xx answer on the event routes, whoever produced it: the content-type and
 * method checks (415, 405) and the body parser (bad JSON, too large) answer before Nest sees
 * the request, the ValidationPipe after. A GET on an event route is a client trying to send
 * an event the wrong way, so its 405 counts too; CORS preflights (OPTIONS) are not events.
 */
export function countRejections(stats: IngestStats) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const table = eventTableOf(req.path);
    if (table && req.method !== 'OPTIONS') {
      res.once('finish', () => {
        if (res.statusCode >= 400 && res.statusCode < 500) stats.add(table, 'rejected');
      });
    }
    next();
  };
}
