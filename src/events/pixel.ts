import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { WebsiteEventDto } from './dto/website-event.dto';

/** The smallest transparent 1×1 GIF (43 bytes). */
export const PIXEL_GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

/** Every load is a page view: no browser, proxy or CDN may answer it from a cache. */
export const PIXEL_HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'image/gif',
  'Cache-Control': 'no-cache, no-store, must-revalidate, max-age=0',
  Pragma: 'no-cache',
  Expires: '0',
  'Cross-Origin-Resource-Policy': 'cross-origin',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

/**
 * The page view a pixel request stands for, validated exactly as a POSTed page view, or
 * undefined when it is not valid. The page is `?p=/docs` (query string allowed: its utm_*
 * parameters are read, then it is stripped) or else the Referer's path; the referrer of that
 * page is unknown to an image, so it is `direct`.
 */
export function pixelPageview(query: Record<string, unknown>, referer: string | undefined): WebsiteEventDto | undefined {
  const path = query.p !== undefined ? query.p : pathOf(referer);
  if (typeof path !== 'string') return undefined;
  const dto = plainToInstance(WebsiteEventDto, {
    type: 'pageview',
    eventName: null,
    eventCategory: null,
    path,
    entryPage: null,
    referrer: 'direct',
  });
  return validateSync(dto, { whitelist: true, forbidUnknownValues: true }).length === 0 ? dto : undefined;
}

/** scheme://host[:port] of a URL header, or undefined. */
export function originOf(url: string | undefined): URL | undefined {
  if (!url) return undefined;
  try {
    const parsed = new URL(url);
    return parsed.host ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function pathOf(referer: string | undefined): string | undefined {
  const url = originOf(referer);
  return url ? url.pathname + url.search : undefined;
}

/**
 * The origin allowlist (CORS_ORIGINS) applied to the pixel. An <img> request carries no Origin,
 * and often no Referer either (e-mail clients, image proxies such as a README badge's): requiring
 * one would lose exactly the pages the pixel is for. So a pixel without a Referer is accepted,
 * and one whose Referer names a page on an origin that is not listed is refused (not stored,
 * counted): that is someone else's site embedding ours. With `*` every origin is allowed.
 */
export function pixelRefererAllowed(referer: string | undefined, allowedOrigins: readonly string[]): boolean {
  if (!referer) return true;
  if (allowedOrigins.includes('*')) return true;
  const url = originOf(referer);
  return url !== undefined && allowedOrigins.includes(url.origin);
}
