export const DIRECT = 'direct';

function parseUrl(value: string): URL | null {
  try {
    const url = new URL(value);
    return url.host ? url : null;
  } catch {
    return null;
  }
}

/** A referrer as clients may send it: a full URL with a host, or "direct". */
export function isReferrer(value: string): boolean {
  return value === DIRECT || parseUrl(value) !== null;
}

/**
 * Host and path only: no scheme, credentials, query or fragment, so that tokens in a
 * referring URL never reach the warehouse. "https://news.ycombinator.com/item?id=1"
 * becomes "news.ycombinator.com/item"; a bare host loses its trailing slash.
 */
export function normalizeReferrer(value: string | null | undefined): string {
  const url = value ? parseUrl(value) : null;
  if (!url) return DIRECT;
  return url.pathname === '/' ? url.host : `${url.host}${url.pathname}`;
}

/** A page path without its query string or fragment, for the same reason. */
export function stripQuery(path: string): string {
  return path.replace(/[?#].*$/s, '') || '/';
}
