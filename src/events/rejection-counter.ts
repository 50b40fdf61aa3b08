import { NextFunction, Request, Response } from 'express';
import { IngestStats } from '../stats/ingest-stats';
import { TableName } from '../warehouse/contracts';

const TABLE_BY_PATH: Record<string, TableName> = {
  '/events/telemetry': 'telemetry',
  '/events/website': 'website_events',
};

/**
 * Counts every 4xx answer on the event routes, whoever produced it: the body parser
 * (bad JSON, too large) answers before Nest sees the request, the ValidationPipe after.
 */
export function countRejections(stats: IngestStats) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const table = TABLE_BY_PATH[req.path];
    if (table && req.method === 'POST') {
      res.once('finish', () => {
        if (res.statusCode >= 400 && res.statusCode < 500) stats.add(table, 'rejected');
      });
    }
    next();
  };
}
