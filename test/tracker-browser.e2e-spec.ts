import 'reflect-metadata';
import { createServer, Server } from 'node:http';
import { Browser, BrowserContext, chromium } from 'playwright-core';
import { IngestStats } from '../src/stats/ingest-stats';
import { queryDuckDb, startApp, TestApp, waitFor } from './support/app';
import { BROWSER_UA, websitePageview } from './support/payloads';

/**
 * The tracker and the pixel in Debian's Chromium (playwright-core, never a downloaded browser):
 * pages served by a second HTTP server on another port of 127.0.0.1 (another origin) load
 * /script.js from the API. The API's server records every request it gets, so that a CORS
 * preflight (OPTIONS) would show; the pages record every sendBeacon call they make.
 */
const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
];

describe('GET /script.js and the pixel in Chromium, from another origin (e2e)', () => {
  let t: TestApp;
  let api: string;
  let site: Server;
  let origin: string;
  let browser: Browser;
  const seen: string[] = [];
  const problems: string[] = [];

  const page = (body: string, tag = '') =>
    `<!doctype html><html><head><meta charset="utf-8"><title>t</title><script defer src="${api}/script.js" ${tag}></script></head><body>${body}</body></html>`;
  const PAGES: Record<string, () => string> = {
    '/app': () => page('<button id="dl" data-analytics-event="download" data-analytics-category="mac">Download</button>'),
    '/dnt': () => page('', 'data-respect-dnt'),
    '/nojs': () => `<!doctype html><html><body><img id="px" src="${api}/events/pixel.gif?p=/nojs-docs" alt=""></body></html>`,
  };

  beforeAll(async () => {
    site = createServer((req, res) => {
      const name = new URL(req.url ?? '/', 'http://x').pathname.replace(/\/next$/, '');
      const render = Object.hasOwn(PAGES, name) ? PAGES[name] : undefined;
      if (name === '/favicon.ico') return void res.writeHead(204).end();
      res.writeHead(render ? 200 : 404, { 'Content-Type': 'text/html; charset=utf-8' }).end(render ? render() : '');
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(site.address() as { port: number }).port}`;
    t = await startApp({ CORS_ORIGINS: origin });
    t.app.getHttpServer().on('request', (req: { method: string; url: string }) => seen.push(`${req.method} ${req.url}`));
    await t.app.listen(0, '127.0.0.1');
    api = (await t.app.getUrl()).replace('[::1]', '127.0.0.1');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  });

  afterAll(async () => {
    await browser?.close();
    await t?.app.close();
    await new Promise((resolve) => site?.close(resolve));
  });

  const stats = () => t.app.get(IngestStats).snapshot().website_events;
  /** A context whose pages count their sendBeacon calls (and still make them). */
  async function context(options: Parameters<Browser['newContext']>[0] = {}, init = ''): Promise<BrowserContext> {
    // Headless Chromium says HeadlessChrome in its User-Agent, which the bot filter drops.
    const ctx = await browser.newContext({ userAgent: BROWSER_UA, ...options });
    await ctx.addInitScript(`${init}
      window.__beacons = [];
      const beacon = navigator.sendBeacon.bind(navigator);
      navigator.sendBeacon = (url, body) => { window.__beacons.push(String(body)); return beacon(url, body); };`);
    ctx.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text());
    });
    ctx.on('requestfailed', (r) => problems.push(`${r.url()} ${r.failure()?.errorText}`));
    return ctx;
  }
  const beacons = (p: import('playwright-core').Page) => p.evaluate<string[]>('window.__beacons');

  it('sends a page view on load and on pushState, and a download click, with no preflight and no CORS error', async () => {
    const ctx = await context();
    const tab = await ctx.newPage();
    const before = stats().accepted;
    await tab.goto(`${origin}/app?utm_source=news&utm_medium=social&fbclid=secret`);
    expect(await waitFor(() => stats().accepted === before + 1)).toBe(true);
    await tab.evaluate("history.pushState({}, '', '/app/next')");
    expect(await waitFor(() => stats().accepted === before + 2)).toBe(true);
    await tab.click('#dl');
    expect(await waitFor(() => stats().accepted === before + 3)).toBe(true);
    await tab.evaluate("analytics('signup', 'newsletter')");
    expect(await waitFor(() => stats().accepted === before + 4)).toBe(true);

    // Exactly the fields the existing website client sends.
    const sent = (await beacons(tab)).map((b) => JSON.parse(b) as Record<string, unknown>);
    for (const body of sent) expect(Object.keys(body)).toEqual(Object.keys(websitePageview));
    expect(sent).toEqual([
      {
        type: 'pageview',
        eventName: null,
        eventCategory: null,
        path: '/app?utm_source=news&utm_medium=social',
        entryPage: '/app',
        referrer: 'direct',
      },
      { type: 'pageview', eventName: null, eventCategory: null, path: '/app/next', entryPage: '/app', referrer: 'direct' },
      { type: 'event', eventName: 'download', eventCategory: 'mac', path: '/app/next', entryPage: '/app', referrer: 'direct' },
      { type: 'event', eventName: 'signup', eventCategory: 'newsletter', path: '/app/next', entryPage: '/app', referrer: 'direct' },
    ]);
    expect(seen.filter((r) => r.startsWith('OPTIONS'))).toEqual([]);
    expect(seen.filter((r) => r.startsWith('POST /events/website'))).toHaveLength(4);
    expect(await ctx.cookies()).toEqual([]);
    await ctx.close();
  });

  it('sends nothing once the opt-out flag is set, from the moment it is set and on the next load', async () => {
    const ctx = await context();
    const tab = await ctx.newPage();
    await tab.goto(`${origin}/app`);
    expect(await beacons(tab)).toHaveLength(1);
    await tab.evaluate("localStorage.setItem('analytics-opt-out', 'true')");
    await tab.evaluate("history.pushState({}, '', '/app/next')");
    await tab.click('#dl');
    await tab.evaluate("analytics('signup')");
    expect(await beacons(tab)).toHaveLength(1);
    const again = await ctx.newPage();
    await again.goto(`${origin}/app`);
    await again.evaluate("history.pushState({}, '', '/app/next')");
    expect(await beacons(again)).toEqual([]);
    await ctx.close();
  });

  it('honours Global Privacy Control when the tag asks for it, and only then', async () => {
    const ctx = await context({}, "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true });");
    const asks = await ctx.newPage();
    await asks.goto(`${origin}/dnt`);
    const ignores = await ctx.newPage();
    await ignores.goto(`${origin}/app`);
    expect(await beacons(ignores)).toHaveLength(1);
    expect(await beacons(asks)).toEqual([]);
    await ctx.close();
  });

  it('records the pixel of a page with JavaScript disabled', async () => {
    const ctx = await browser.newContext({ javaScriptEnabled: false, userAgent: BROWSER_UA });
    const tab = await ctx.newPage();
    const before = stats().written;
    await tab.goto(`${origin}/nojs`, { waitUntil: 'load' });
    expect(await waitFor(() => stats().written >= before + 1)).toBe(true);
    await ctx.close();
  });

  it('stored what the pages sent: campaign kept, other parameters gone, a visitor id each', async () => {
    expect(await waitFor(() => stats().written === stats().accepted)).toBe(true);
    const path = t.config.duckdbPath;
    await t.app.close();
    const rows = await queryDuckDb(path, 'SELECT * FROM website_events ORDER BY date');
    expect(rows.slice(0, 4).map((r) => [r.type, r.eventName, r.path, r.utmSource, r.utmMedium])).toEqual([
      ['pageview', null, '/app', 'news', 'social'],
      ['pageview', null, '/app/next', null, null],
      ['event', 'download', '/app/next', null, null],
      ['event', 'signup', '/app/next', null, null],
    ]);
    expect(rows.find((r) => r.path === '/nojs-docs')).toMatchObject({ type: 'pageview', referrer: 'direct' });
    for (const r of rows) expect(r.visitorId).toMatch(/^[0-9a-f]{16}$/);
    expect(JSON.stringify(rows)).not.toContain('fbclid');
    expect(problems).toEqual([]);
  });
});
