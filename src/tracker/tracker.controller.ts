import { Controller, Get, Query, Req, Res } from '@nestjs/common';
import { Request, Response } from 'express';
import { TrackerScripts } from './tracker-script';

/** A year: the longest lifetime caches honour, for a URL whose content never changes. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
/** The unversioned URL sites paste: cached a day, then revalidated by ETag (304 while unchanged). */
const DAILY = 'public, max-age=86400, stale-while-revalidate=604800';

/**
 * GET /script.js, the tracker for `<script defer src="https://ANALYTICS_HOST/script.js">`. It is
 * loaded by pages of other origins: Cross-Origin-Resource-Policy cross-origin lets pages that
 * isolate themselves (COEP) load it, and Access-Control-Allow-Origin * lets a tag with
 * `crossorigin` (for Subresource Integrity) read it. `?v=<hash>` of the current script is cached
 * for a year; any other URL a day, with an ETag.
 */
@Controller()
export class TrackerController {
  constructor(private readonly scripts: TrackerScripts) {}

  @Get('script.js')
  async script(@Query('v') version: unknown, @Req() req: Request, @Res() res: Response): Promise<void> {
    const { body, hash } = await this.scripts.get();
    res.set({
      'Content-Type': 'text/javascript; charset=utf-8',
      'Cache-Control': version === hash ? IMMUTABLE : DAILY,
      ETag: `"${hash}"`,
      'Cross-Origin-Resource-Policy': 'cross-origin',
      'Access-Control-Allow-Origin': '*',
      'X-Content-Type-Options': 'nosniff',
    });
    if (req.fresh) {
      res.status(304).end();
      return;
    }
    res.send(body);
  }
}
