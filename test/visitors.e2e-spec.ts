import 'reflect-metadata';
import { gzipSync } from 'node:zlib';
import request from 'supertest';
import { Clock } from '../src/events/clock';
import { PIXEL_GIF } from '../src/events/pixel';
import { VisitorIds } from '../src/events/visitor-ids';
import { IngestStats } from '../src/stats/ingest-stats';
import { SqlCatalog, telemetry } from '../src/warehouse/contracts';
import { DuckDbWarehouse } from '../src/warehouse/duckdb/duckdb.warehouse';
import { CalendarDate } from '../src/warehouse/warehouse-reader';
import { queryDuckDb, startApp, TestApp, waitFor } from './support/app';
import { appBeacon, BOT_UA, websitePageview } from './support/payloads';

/** A clock the test moves: days pass without waiting. */
class FakeClock {
  constructor(public current: Date) {}
  now = () => new Date(this.current);
  set = (iso: string) => (this.current = new Date(iso));
}

const SITE = 'https://www.example.com';
/** Three browsers: distinct addresses (as App Engine reports them in production) and User-Agents. */
const BROWSERS = [
  {
    ip: '203.0.113.11',
    ua: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Visitor-One',
  },
  {
    ip: '198.51.100.22',
    ua: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15 Visitor-Two',
  },
  { ip: '2001:db8::33', ua: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:131.0) Gecko/20100101 Firefox/131.0 Visitor-Three' },
];
const PAGES = ['/', '/docs', '/pricing'];

async function rowsOf(path: string, sql: string) {
  return queryDuckDb(path, sql);
}

describe('unique visitors without cookies (e2e)', () => {
  const clock = new FakeClock(new Date('2024-06-01T10:00:00.000Z'));
  let t: TestApp;
  const bodies: string[] = [];

  beforeAll(async () => {
    // Production: the address is App Engine's X-Appengine-User-IP. No VISITOR_SECRET: a random salt per day, in memory only.
    t = await startApp({ NODE_ENV: 'production', CORS_ORIGINS: SITE }, (b) => b.overrideProvider(Clock).useValue(clock));
  });
  afterAll(() => t?.app.close());

  const written = (n: number) => waitFor(() => t.app.get(IngestStats).snapshot().website_events.written === n);

  /** Each browser views every page, a minute apart, with a forged first X-Forwarded-For entry each time. */
  async function visitAll(day: string): Promise<void> {
    for (const [b, browser] of BROWSERS.entries()) {
      for (const [p, page] of PAGES.entries()) {
        clock.set(`${day}T10:${String(b * 10 + p).padStart(2, '0')}:00.000Z`);
        const res = await request(t.app.getHttpServer())
          .post('/events/website')
          .set('Origin', SITE)
          .set('User-Agent', browser.ua)
          .set('X-Appengine-User-IP', browser.ip)
          .set('X-Forwarded-For', `10.9.${b}.${p}, ${browser.ip}, 35.191.0.1`)
          .send({ ...websitePageview, path: page })
          .expect(204);
        bodies.push(JSON.stringify(res.body ?? ''), JSON.stringify(res.headers));
      }
    }
  }

  it('three browsers on several pages are 3 visitors that day, and 3 the next day with unrelated ids; two days later the first salt is gone', async () => {
    await visitAll('2024-06-01');
    await written(9);
    await visitAll('2024-06-02');
    await written(18);
    const ids = t.app.get(VisitorIds);
    expect(ids.heldDays()).toEqual(['2024-06-02']);
    // Two days after the first: one more visit rotates the salt again.
    clock.set('2024-06-04T09:00:00.000Z');
    await request(t.app.getHttpServer())
      .post('/events/website')
      .set('Origin', SITE)
      .set('User-Agent', BROWSERS[0].ua)
      .set('X-Appengine-User-IP', BROWSERS[0].ip)
      .send(websitePageview)
      .expect(204);
    await written(19);
    expect(ids.heldDays()).toEqual(['2024-06-04']);
    // The process can no longer make a first-day id: asked again, it draws a new salt.
    const again = BROWSERS.map((b) =>
      ids.idFor({ site: 'www.example.com', address: b.ip, userAgent: b.ua }, new Date('2024-06-01T12:00:00Z')),
    );

    const path = t.config.duckdbPath;
    await t.app.close();
    const rows = await rowsOf(path, 'SELECT CAST(DATE(date) AS VARCHAR) AS day, visitorId, path FROM website_events ORDER BY date');
    const idsOn = (day: string) => new Set(rows.filter((r) => r.day === day).map((r) => r.visitorId as string));
    const day1 = idsOn('2024-06-01');
    const day2 = idsOn('2024-06-02');
    expect(day1.size).toBe(3);
    expect(day2.size).toBe(3);
    for (const id of [...day1, ...day2]) expect(id).toMatch(/^[0-9a-f]{16}$/);
    expect([...day1].filter((id) => day2.has(id))).toEqual([]);
    // Each browser kept one id all day, whatever it wrote in X-Forwarded-For.
    for (const day of ['2024-06-01', '2024-06-02']) {
      const perBrowser = [0, 1, 2].map(
        (b) =>
          new Set(
            rows
              .filter((r) => r.day === day)
              .slice(b * 3, b * 3 + 3)
              .map((r) => r.visitorId),
          ),
      );
      expect(perBrowser.map((s) => s.size)).toEqual([1, 1, 1]);
    }
    expect(again.filter((id) => day1.has(id))).toEqual([]);

    // The metrics over the first day, from sql/dashboard: 3 visitors, 3 visits of 3 page views each.
    const warehouse = new DuckDbWarehouse(t.config, SqlCatalog.load());
    try {
      const range = (start: string, end: string) => ({ start_date: new CalendarDate(start), end_date: new CalendarDate(end) });
      const [totals] = await warehouse.read(SqlCatalog.load().query('website_totals').sql, range('2024-06-01', '2024-06-01'));
      expect(totals).toMatchObject({ pageviews: 9, visitors: 3, visits: 3, bounce_rate: 0, views_per_visit: 3 });
      const [both] = await warehouse.read(SqlCatalog.load().query('website_totals').sql, range('2024-06-01', '2024-06-02'));
      expect(both).toMatchObject({ visitors: 6, visits: 6 });
    } finally {
      await warehouse.close();
    }
    // No salt, secret or address anywhere in the warehouse: website_events holds the truncated hash only.
    const tables = await rowsOf(path, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'analytics'");
    expect(tables.map((r) => r.table_name).filter((n) => !/^(website_|app_)/.test(n as string) && n !== 'telemetry')).toEqual([]);
  });

  it('warns in production that without VISITOR_SECRET each instance has its own salt', () => {
    expect(t.logs.matching('warn', /VISITOR_SECRET is not set/)).toHaveLength(1);
  });
});

describe('VISITOR_SECRET: every instance derives the same daily ids (e2e)', () => {
  it('gives the same id on two instances, another on the next day', async () => {
    const clock = new FakeClock(new Date('2024-06-01T10:00:00.000Z'));
    const env = { NODE_ENV: 'production', CORS_ORIGINS: SITE, VISITOR_SECRET: 'an-instance-shared-secret-of-40-characters' };
    const apps = [
      await startApp(env, (b) => b.overrideProvider(Clock).useValue(clock)),
      await startApp(env, (b) => b.overrideProvider(Clock).useValue(clock)),
    ];
    const send = (t: TestApp) =>
      request(t.app.getHttpServer())
        .post('/events/website')
        .set('Origin', SITE)
        .set('User-Agent', BROWSERS[1].ua)
        .set('X-Appengine-User-IP', BROWSERS[1].ip)
        .send(websitePageview)
        .expect(204);
    await send(apps[0]);
    await send(apps[1]);
    clock.set('2024-06-02T10:00:00.000Z');
    await send(apps[0]);
    for (const t of apps) await t.app.close();
    const first = await rowsOf(apps[0].config.duckdbPath, 'SELECT visitorId FROM website_events ORDER BY date');
    const second = await rowsOf(apps[1].config.duckdbPath, 'SELECT visitorId FROM website_events');
    expect(first[0].visitorId).toBe(second[0].visitorId);
    expect(first[1].visitorId).not.toBe(first[0].visitorId);
  });
});

describe('no IP address or User-Agent in any table, log line or error message (e2e)', () => {
  it('keeps neither, whatever the request', async () => {
    const ip = '192.0.2.201';
    const ua = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Unmistakable/9.9.9 Chrome/131.0.0.0 Safari/537.36';
    const t = await startApp({ NODE_ENV: 'production', CORS_ORIGINS: SITE });
    const http = () => request(t.app.getHttpServer());
    const answers: string[] = [];
    const keep = (res: request.Response) => answers.push(res.text ?? '', JSON.stringify(res.headers));
    const h = { 'User-Agent': ua, 'X-Appengine-User-IP': ip, 'X-Forwarded-For': `${ip}, ${ip}, 35.191.0.1`, Origin: SITE };
    keep(
      await http()
        .post('/events/website')
        .set(h)
        .send({ ...websitePageview, path: '/docs?utm_source=news&utm_campaign=launch' })
        .expect(204),
    );
    keep(await http().post('/events/telemetry').set(h).send(appBeacon).expect(204));
    keep(await http().get('/events/pixel.gif?p=/pixel').set(h).set('Referer', `${SITE}/x`).expect(200));
    // Refused requests: their error messages must not echo the headers either.
    keep(
      await http()
        .post('/events/website')
        .set(h)
        .send({ ...websitePageview, path: `no-slash ${ua}` })
        .expect(400),
    );
    keep(await http().post('/events/website').set(h).set('Content-Type', 'application/json').send('{"broken').expect(400));
    keep(await http().get('/events/website').set(h).expect(405));
    keep(
      await http()
        .post('/events/telemetry')
        .set(h)
        .send({ ...appBeacon, installationId: ip })
        .expect(400),
    );
    keep(await http().get('/events/pixel.gif?p=bad').set(h).expect(200));
    keep(await http().get('/nowhere').set(h).expect(404));
    const done = await waitFor(() => t.app.get(IngestStats).snapshot().website_events.written === 2);
    if (!done) await t.app.close();
    expect(t.app.get(IngestStats).snapshot().website_events).toMatchObject({ written: 2, botFiltered: 0 });
    const path = t.config.duckdbPath;
    await t.app.close();
    const tables = [...(await queryDuckDb(path, 'SELECT * FROM website_events')), ...(await queryDuckDb(path, 'SELECT * FROM telemetry'))];
    expect(tables).toHaveLength(3);
    const everything = [
      JSON.stringify(tables, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)),
      ...t.logs.lines.map((l) => l.message),
      ...answers,
    ].join('\n');
    expect(t.logs.lines.length).toBeGreaterThan(0); // the check reads real log lines
    expect(everything).toContain('"/docs"'); // and the stored rows
    for (const secret of [ip, ua, 'Unmistakable']) expect(everything).not.toContain(secret);
    // Campaign parameters are kept; the rest of the query string is not.
    expect(tables[0]).toMatchObject({ path: '/docs', utmSource: 'news', utmMedium: null, utmCampaign: 'launch' });
    // Telemetry rows have no visitor id at all.
    expect(Object.keys(telemetry.columns)).not.toContain('visitorId');
  });
});

describe('GET /events/pixel.gif (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ CORS_ORIGINS: SITE });
  });
  afterAll(() => t?.app.close());
  const stats = () => t.app.get(IngestStats).snapshot().website_events;
  const pixel = (query: string) => request(t.app.getHttpServer()).get(`/events/pixel.gif${query}`).set('User-Agent', BROWSERS[0].ua);

  it('answers the transparent GIF, never cached, to every request, and stores only the valid ones', async () => {
    const expectGif = (res: request.Response) => {
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('image/gif');
      expect(res.headers['cache-control']).toMatch(/no-store/);
      expect(res.headers['cross-origin-resource-policy']).toBe('cross-origin');
      expect(Buffer.compare(res.body as Buffer, PIXEL_GIF)).toBe(0);
    };
    const before = stats();
    // Stored: ?p= with a campaign (no Origin, no Referer, as from an e-mail), the Referer's path, a listed Referer with ?p=.
    expectGif(await pixel(`?p=${encodeURIComponent('/docs?utm_source=newsletter&utm_medium=email&ref=secret')}`));
    expectGif(await pixel('').set('Referer', `${SITE}/blog/post?utm_campaign=june&token=abc`));
    expectGif(await pixel('?p=/readme').set('Referer', `${SITE}/other`));
    // Not stored, counted as rejected: no page at all, a bad page, a repeated p, a Referer from an unlisted site.
    expectGif(await pixel(''));
    expectGif(await pixel('?p=docs'));
    expectGif(await pixel(`?p=${encodeURIComponent('/a\u0000b')}`));
    expectGif(await pixel('?p=/a&p=/b'));
    expectGif(await pixel('?p=/docs').set('Referer', 'https://evil.example/page'));
    expectGif(await pixel('').set('Referer', 'not a url'));
    // A bot is filtered; a HEAD records nothing.
    expectGif(await request(t.app.getHttpServer()).get('/events/pixel.gif?p=/bot').set('User-Agent', BOT_UA));
    const head = await request(t.app.getHttpServer()).head('/events/pixel.gif?p=/head');
    expect(head.status).toBe(200);
    expect(await waitFor(() => stats().written === before.written + 3)).toBe(true);
    expect(stats().accepted - before.accepted).toBe(3);
    expect(stats().rejected - before.rejected).toBe(6);
    expect(stats().botFiltered - before.botFiltered).toBe(1);
  });

  it('stores the page, its campaign and a visitor id (the socket address locally), and no other query parameter', async () => {
    const path = t.config.duckdbPath;
    await t.app.close();
    const rows = await queryDuckDb(path, 'SELECT * FROM website_events ORDER BY date');
    expect(rows.map((r) => [r.type, r.path, r.entryPage, r.referrer, r.utmSource, r.utmMedium, r.utmCampaign])).toEqual([
      ['pageview', '/docs', '/docs', 'direct', 'newsletter', 'email', null],
      ['pageview', '/blog/post', '/blog/post', 'direct', null, null, 'june'],
      ['pageview', '/readme', '/readme', 'direct', null, null, null],
    ]);
    for (const r of rows) expect(r.visitorId).toMatch(/^[0-9a-f]{16}$/);
    // Without a site header, and then with www.example.com as the site: another id.
    expect(rows[0].visitorId).not.toBe(rows[1].visitorId);
    expect(rows[1].visitorId).toBe(rows[2].visitorId);
    expect(JSON.stringify(rows)).not.toMatch(/secret|token|abc/);
  });
});

describe('GET /script.js (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t?.app.close());

  it('is small, cacheable for long with its hash, revalidated by ETag, and loadable from any origin', async () => {
    const http = () => request(t.app.getHttpServer());
    const res = await http().get('/script.js').set('Origin', 'https://anywhere.example').expect(200);
    expect(res.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(res.headers['cross-origin-resource-policy']).toBe('cross-origin');
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(res.headers['cache-control']).toBe('public, max-age=86400, stale-while-revalidate=604800');
    expect(res.headers['set-cookie']).toBeUndefined();
    const body = Buffer.from(res.text);
    expect(gzipSync(body, { level: 9 }).length).toBeLessThan(2048);
    expect(res.text).not.toMatch(/document\.cookie|sessionStorage|setItem|import\s|require\(/);
    const etag = res.headers.etag;
    const hash = /^"([0-9a-f]{16})"$/.exec(etag)![1];
    await http().get('/script.js').set('If-None-Match', etag).expect(304);
    const versioned = await http().get(`/script.js?v=${hash}`).expect(200);
    expect(versioned.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const stale = await http().get('/script.js?v=0000000000000000').expect(200);
    expect(stale.headers['cache-control']).not.toMatch(/immutable/);
  });
});
