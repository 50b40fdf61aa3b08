import cors from 'cors';
import { NextFunction, Request, Response } from 'express';

/** Browsers may cache a preflight answer this long (Chromium caps it at 2 hours). */
const PREFLIGHT_MAX_AGE_S = 86_400;

/** Who may send: any origin (true, reflected), all of them ('*'), or the listed ones. */
export type AllowedOrigins = true | '*' | readonly string[];

/**
 * CORS for an event route, as cors({ origin, methods: ['POST'], maxAge }) answers: preflights by
 * cors itself; on the requests themselves the two headers it sets, set here without building its
 * options, header list and callbacks per request (src/events/event-cors.spec.ts compares both).
 */
export function eventCors(origins: AllowedOrigins) {
  const library = cors({
    origin: origins === true || origins === '*' ? origins : [...origins],
    methods: ['POST'],
    maxAge: PREFLIGHT_MAX_AGE_S,
  });
  return (req: Request, res: Response, next: NextFunction): void => {
    // cors merges Vary into one already set; nothing sets it before this, but if something did, cors decides.
    if (req.method === 'OPTIONS' || res.getHeader('Vary') !== undefined) return library(req, res, next);
    if (origins === '*') {
      res.setHeader('Access-Control-Allow-Origin', '*');
    } else {
      const origin = req.headers.origin;
      if (origin && (origins === true || origins.includes(origin))) res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Vary', 'Origin');
    }
    next();
  };
}
