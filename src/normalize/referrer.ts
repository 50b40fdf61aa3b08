export const DIRECT = 'direct';
/** The most a referrer may hold, in UTF-8 bytes, as sent and again once normalized (percent-encoding expands it). */
export const REFERRER_MAX_BYTES = 2048;
/** Schemes that never name a referring page: script, local file and inline content. */
const REFUSED_SCHEMES = new Set(['javascript:', 'file:', 'data:', 'vbscript:', 'blob:']);
/** A cell starting with one of these is a formula to a spreadsheet. */
const FORMULA_START = /^[=+\-@]/;

function parseUrl(value: string): URL | null {
  try {
    const url = new URL(value);
    return url.host ? url : null;
  } catch {
    return null;
  }
}

/**
 * A referrer as clients may send it: a full URL with a host, or "direct". Not javascript:,
 * file:, data: (no browser reports those as document.referrer), and nothing that would be stored
 * starting with =, +, - or @ (a spreadsheet formula).
 */
export function isReferrer(value: string): boolean {
  return storedReferrer(value) !== undefined;
}

/** What normalizeReferrer stores for a referrer that isReferrer accepts, or undefined: the URL parsed once for both. */
export function storedReferrer(value: string): string | undefined {
  if (value === DIRECT) return DIRECT;
  const url = parseUrl(value);
  if (url === null || REFUSED_SCHEMES.has(url.protocol)) return undefined;
  const stored = hostAndPath(url);
  return FORMULA_START.test(stored) ? undefined : stored;
}

/**
 * Host and path only: no scheme, credentials, query or fragment, so that tokens in a
 * referring URL never reach the warehouse. "https://news.ycombinator.com/item?id=1"
 * becomes "news.ycombinator.com/item"; a bare host loses its trailing slash.
 */
export function normalizeReferrer(value: string | null | undefined): string {
  // "direct" first: new URL() throws on it, and a thrown error costs some 16 us.
  const url = value && value !== DIRECT ? parseUrl(value) : null;
  return url ? hostAndPath(url) : DIRECT;
}

function hostAndPath(url: URL): string {
  return url.pathname === '/' ? url.host : `${url.host}${url.pathname}`;
}

/** A page path without its query string or fragment, for the same reason. */
export function stripQuery(path: string): string {
  return path.replace(/[?#].*$/s, '') || '/';
}
