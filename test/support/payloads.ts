/** Bodies exactly as the real clients send them today. */

/** The desktop/web app's sendBeacon(url, JSON.stringify(...)): text/plain, no country. */
export const appBeacon = {
  installationId: '6c3b6f7a-1a8e-4f4e-9d2b-1f0e8e5c2a11',
  startTime: '2024-05-01T10:00:00.000Z',
  endTime: '2024-05-01T10:42:17.250Z',
  firstSession: false,
  version: '2.4.0',
  os: 'win32',
  environmentsCount: 3,
  app: 'desktop',
  auth: true,
  paid: false,
};

/** The older desktop app: application/json from a file:// page, with its own country and no app/auth/paid. */
export const olderAppJson = {
  installationId: '0f6c2d8e-5b1a-4c3e-8f7d-9a2b3c4d5e6f',
  startTime: '2024-04-30T22:15:03.512Z',
  endTime: '2024-04-30T23:01:44.004Z',
  firstSession: true,
  version: '1.9.3',
  os: 'darwin',
  environmentsCount: 0,
  country: 'FR',
};

/** The website's page view: JSON with null event fields. */
export const websitePageview = {
  type: 'pageview',
  eventName: null,
  eventCategory: null,
  path: '/docs/getting-started',
  entryPage: '/',
  referrer: 'https://news.ycombinator.com/item?id=41234567',
};

/** The website's download click. */
export const websiteDownload = {
  type: 'event',
  eventName: 'download',
  eventCategory: 'mac',
  path: '/download',
  entryPage: '/download',
  referrer: 'direct',
};

/**
 * The largest website event the DTOs accept: 2,048 bytes of path and of entryPage in characters
 * that JSON-escape to 2 bytes each (control characters, 6 bytes escaped, are refused at the edge),
 * 128-byte event fields likewise, and a referrer of 2,048 bytes sent and stored.
 */
export const maximalWebsiteEvent = (i: number) => ({
  type: 'event',
  eventName: '"'.repeat(128),
  eventCategory: '\\'.repeat(128),
  path: `/${i}/`.padEnd(2048, '"'),
  entryPage: `/${i}/`.padEnd(2048, '\\'),
  referrer: `https://example.com/${'%22'.repeat(676)}`,
});

export const BROWSER_UA =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
export const BOT_UA = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
