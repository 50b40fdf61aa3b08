import 'reflect-metadata';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Browser, chromium, Page } from 'playwright-core';
import request from 'supertest';
import { IngestStats } from '../src/stats/ingest-stats';
import { startApp, TestApp, waitFor } from './support/app';
import { D1, D2, writeDashboardFixture } from './support/dashboard-fixture';
import { appBeacon, BROWSER_UA, olderAppJson, websiteDownload, websitePageview } from './support/payloads';
import { tempDuckDbPath } from './support/app';

/**
 * The dashboard in a real browser: Debian's Chromium (never a downloaded one) driven by
 * playwright-core, against the API on DuckDB with the hand-computed fixture (written through the
 * warehouse, since events are stamped with their receive time) plus events sent through the real
 * routes today. Ranges that show the fixture pin their end day in the URL (?end=2024-05-02); the
 * default range shows today's events.
 */
const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = join(__dirname, '..', 'docs', 'dashboard.png');
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

describe('GET /dashboard in Chromium (e2e)', () => {
  let t: TestApp;
  let base: string;
  let browser: Browser;
  const problems: string[] = [];

  beforeAll(async () => {
    const path = tempDuckDbPath();
    await writeDashboardFixture(path, { earlierDay: true });
    t = await startApp({ DUCKDB_PATH: path });
    await t.app.listen(0, '127.0.0.1');
    base = await t.app.getUrl();
    base = base.replace('[::1]', '127.0.0.1');
    const http = request(t.app.getHttpServer());
    // Today, through the routes: two sessions (one new installation) and a page view and a download.
    await http.post('/events/telemetry').set('Content-Type', 'text/plain;charset=UTF-8').send(JSON.stringify(appBeacon)).expect(204);
    await http.post('/events/telemetry').send(olderAppJson).expect(204);
    await http.post('/events/website').set('User-Agent', BROWSER_UA).send(websitePageview).expect(204);
    await http.post('/events/website').set('User-Agent', BROWSER_UA).send(websiteDownload).expect(204);
    const stats = t.app.get(IngestStats);
    const written = () => {
      const s = stats.snapshot();
      return s.telemetry.written === 2 && s.website_events.written === 2;
    };
    expect(await waitFor(written)).toBe(true);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  });

  afterAll(async () => {
    await browser?.close();
    await t?.app.close();
  });

  /** Opens the page and waits until it has drawn the figures; every console error or page error is a problem. */
  async function open(query: string, viewport = { width: 1280, height: 900 }): Promise<Page> {
    const page = await browser.newPage({ viewport });
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${query}: ${m.text()} ${m.location().url}`);
    });
    page.on('pageerror', (e) => problems.push(`${query}: ${e.message}`));
    page.on('requestfailed', (r) => problems.push(`${query}: ${r.url()} ${r.failure()?.errorText}`));
    await page.goto(`${base}/dashboard${query}`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
    return page;
  }
  const kpi = (page: Page, metric: string) => page.locator(`[data-metric="${metric}"] .value`).textContent();
  const previous = (page: Page, metric: string) => page.locator(`[data-metric="${metric}"] .previous`).textContent();
  const rows = (page: Page, query: string) =>
    page.$$eval(`table[data-query="${query}"] tbody tr`, (trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)),
    );

  it('shows the 30 days ending 2024-05-02: distinct installations over the range (6), not the sum of daily ones (7)', async () => {
    const page = await open(`?range=30&end=${D2}`);
    expect(await page.locator('#period').textContent()).toBe(
      '2024-04-03 to 2024-05-02 (30 days, UTC), compared with 2024-03-04 to 2024-04-02.',
    );
    expect(await page.locator('select[name=range]').inputValue()).toBe('30');
    expect(await kpi(page, 'app_totals.sessions')).toBe('11');
    expect(await kpi(page, 'app_totals.active_installations')).toBe('6');
    expect(await kpi(page, 'app_totals.new_installations')).toBe('4');
    expect(await kpi(page, 'app_totals.median_duration_seconds')).toBe('2 min 0 s'); // 120 s
    expect(await kpi(page, 'app_totals.avg_duration_seconds')).toBe('4 min 54 s'); // 2645.5 / 9 = 293.9 s
    expect(await kpi(page, 'app_totals.avg_environments')).toBe('3.36'); // 37 / 11
    expect(await previous(page, 'app_totals.sessions')).toBe('previous period: 0');
    expect(await kpi(page, 'website_totals.pageviews')).toBe('7');
    expect(await kpi(page, 'website_totals.visits')).toBe('5');
    expect(await kpi(page, 'website_totals.downloads')).toBe('4');
    expect(await page.locator('.kpi.placeholder').textContent()).toContain('Unique visitors');
    const appDays = await rows(page, 'app_days');
    expect(appDays).toHaveLength(2 * 30); // two charts of the 30 days each, days without events as 0
    expect(appDays.filter((r) => r[1] !== '0' && r.length === 4)).toEqual([
      ['2024-04-10', '1', '1', '1'],
      [D1, '6', '4', '2'],
      [D2, '4', '2', '1'],
    ]);
    expect(await rows(page, 'website_pages')).toEqual([
      ['/', '3'],
      ['/docs', '2'],
      ['/blog/post', '1'],
      ['/pricing', '1'],
    ]);
    expect(await rows(page, 'app_os')).toEqual([
      ['win32', '6', '3'],
      ['linux', '3', '2'],
      ['darwin', '2', '2'],
    ]);
    expect(await rows(page, 'website_download_os')).toEqual([
      ['win', '2'],
      ['linux', '1'],
      ['mac', '1'],
    ]);
    expect(await page.locator('canvas').count()).toBe(14);
    mkdirSync(join(SCREENSHOT, '..'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    await page.close();
  });

  it('compares today (2024-05-02) with the day before', async () => {
    const page = await open(`?range=today&end=${D2}`);
    expect(await kpi(page, 'app_totals.active_installations')).toBe('2');
    expect(await previous(page, 'app_totals.active_installations')).toBe('previous period: 4 ▼ 50 %');
    expect(await kpi(page, 'app_totals.median_duration_seconds')).toBe('2 min 0 s');
    expect(await previous(page, 'app_totals.median_duration_seconds')).toBe('previous period: 1 min 40 s ▲ 20 %');
    expect(await previous(page, 'website_totals.pageviews')).toBe('previous period: 4 ▼ 50 %');
    await page.close();
  });

  it('counts 5 installations over the custom range 2024-05-01..02, where the daily counts are 4 and 2', async () => {
    const page = await open(`?range=custom&start=${D1}&end=${D2}`);
    expect(await page.locator('input[name=start]').isVisible()).toBe(true);
    expect(await kpi(page, 'app_totals.active_installations')).toBe('5');
    expect((await rows(page, 'app_days')).slice(0, 2).map((r) => r[2])).toEqual(['4', '2']);
    await page.close();
  });

  it("opens on the last 30 days with today's events, and the URL keeps a newly chosen range", async () => {
    const page = await open('');
    const today = new Date().toISOString().slice(0, 10);
    expect(await page.locator('#period').getAttribute('data-end')).toBe(today);
    expect(await page.locator('select[name=range]').inputValue()).toBe('30');
    expect(await kpi(page, 'app_totals.sessions')).toBe('2');
    expect(await kpi(page, 'app_totals.new_installations')).toBe('1');
    expect(await kpi(page, 'website_totals.pageviews')).toBe('1');
    expect(await kpi(page, 'website_totals.downloads')).toBe('1');
    expect(await rows(page, 'website_referrers')).toEqual([['news.ycombinator.com', '1']]);
    await Promise.all([page.waitForURL(/range=7$/), page.locator('select[name=range]').selectOption('7')]);
    await page.waitForSelector('body[data-ready="true"]');
    expect(await page.locator('#period').getAttribute('data-start')).toBe(
      new Date(Date.parse(`${today}T00:00:00Z`) - 6 * 86_400_000).toISOString().slice(0, 10),
    );
    await page.close();
  });

  it('reads well at phone width: nothing wider than the screen', async () => {
    const page = await open(`?range=30&end=${D2}`, { width: 390, height: 844 });
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await page.screenshot({ path: join(tmpdir(), 'dashboard-phone.png'), fullPage: true });
    await page.close();
  });

  it('had no console error, no CSP violation and no failed request', () => {
    expect(problems).toEqual([]);
  });

  it('sends a strict CSP, no-store and no CORS headers, even to another origin', async () => {
    const http = request(t.app.getHttpServer());
    const page = await http.get('/dashboard').expect(200);
    expect(page.headers['content-security-policy']).toMatch(/default-src 'none'; script-src 'self'; style-src 'self'/);
    expect(page.headers['content-security-policy']).not.toMatch(/unsafe|\*/);
    const data = await http.get('/dashboard/data').set('Origin', 'https://evil.example').expect(200);
    expect(data.headers['cache-control']).toBe('no-store');
    expect(data.headers['cross-origin-resource-policy']).toBe('same-origin');
    expect(data.headers['access-control-allow-origin']).toBeUndefined();
    const preflight = await http
      .options('/dashboard/data')
      .set('Origin', 'https://evil.example')
      .set('Access-Control-Request-Method', 'GET');
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    await http.get('/dashboard/data?range=custom').expect(400);
    await http.get('/dashboard/data?range=7&range=30').expect(400);
    await http.get('/dashboard/index.html').expect(404);
    await http.get('/dashboard/..%2Fpackage.json').expect(404);
  });
});

describe('GET /dashboard in production (e2e)', () => {
  const ROUTES = ['/dashboard', '/dashboard/data', '/dashboard/dashboard.js', '/dashboard/dashboard.css', '/dashboard/chart.umd.min.js'];

  it('answers every dashboard route 404 when no DASHBOARD_PASSWORD is set, as a route that does not exist', async () => {
    const t = await startApp({ NODE_ENV: 'production', ADMIN_TOKEN: 'admin-token' });
    const http = request(t.app.getHttpServer());
    const missing = await http.get('/no-such-route').expect(404);
    for (const route of ROUTES) {
      for (const auth of [undefined, 'Bearer admin-token', `Basic ${Buffer.from('a:b').toString('base64')}`]) {
        const req = http.get(route);
        if (auth) req.set('Authorization', auth);
        const res = await req.expect(404);
        expect(res.body).toEqual({ ...missing.body, message: `Cannot GET ${route}` });
        expect(Object.keys(res.headers).sort()).toEqual(Object.keys(missing.headers).sort());
      }
    }
    await t.app.close();
  });

  it('asks for the password (401) without it or with a wrong one, and serves the page with it, in Chromium too', async () => {
    const path = tempDuckDbPath();
    await writeDashboardFixture(path, { earlierDay: true });
    const t = await startApp({ NODE_ENV: 'production', DASHBOARD_PASSWORD: 'correct horse', DUCKDB_PATH: path });
    const http = request(t.app.getHttpServer());
    const basic = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;
    for (const route of ROUTES) {
      const none = await http.get(route).expect(401);
      expect(none.headers['www-authenticate']).toBe('Basic realm="dashboard", charset="UTF-8"');
      expect(none.headers['cache-control']).toBe('no-store');
      expect(JSON.stringify(none.body)).not.toMatch(/installation|pageviews|sessions/);
      await http.get(route).set('Authorization', basic('reader:wrong horse')).expect(401);
      await http.get(route).set('Authorization', 'Bearer correct horse').expect(401);
      await http.get(route).set('Authorization', basic('reader:correct horse')).expect(200);
    }
    const data = await http.get(`/dashboard/data?range=30&end=${D2}`).set('Authorization', basic('x:correct horse')).expect(200);
    expect(data.body.results.app_totals[0].active_installations).toBe(6);

    await t.app.listen(0, '127.0.0.1');
    const url = (await t.app.getUrl()).replace('[::1]', '127.0.0.1');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    try {
      const context = await browser.newContext({ httpCredentials: { username: 'reader', password: 'correct horse' } });
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('console', (m) => m.type() === 'error' && errors.push(`${m.text()} ${m.location().url}`));
      await page.goto(`${url}/dashboard?range=30&end=${D2}`);
      await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
      expect(await page.locator('[data-metric="app_totals.active_installations"] .value').textContent()).toBe('6');
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
      await t.app.close();
    }
  });
});
