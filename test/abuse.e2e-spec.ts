import { ValidationPipe } from '@nestjs/common';
import type * as Executor from 'class-transformer/types/TransformOperationExecutor';
import request from 'supertest';
import { IngestStats } from '../src/stats/ingest-stats';
import { StatsReporter } from '../src/stats/stats-reporter.service';
import { queryDuckDb, startApp as startRealApp, TestApp } from './support/app';
import { appBeacon, BOT_UA, BROWSER_UA, websiteDownload, websitePageview } from './support/payloads';

// The module ValidationPipe's class-transformer uses (its CommonJS build), for a spy on its recursive step.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { TransformOperationExecutor } = require('class-transformer/cjs/TransformOperationExecutor') as typeof Executor;

/** The real app; the last flush may take its time on a busy machine: these tests read the rows back. */
const startApp = (env: Record<string, string> = {}) => startRealApp({ SHUTDOWN_FLUSH_TIMEOUT_MS: '30000', ...env });

/** Requests as an attacker would send them, with valid events only. */
describe('Adversarial requests (e2e)', () => {
  const SITE = 'https://www.example.com';
  const websiteRows = async (t: TestApp) =>
    (await queryDuckDb(t.config.duckdbPath, 'SELECT path FROM website_events ORDER BY path')).map((r) => r.path);

  describe('the origin allowlist on writes', () => {
    let t: TestApp;
    let rows: unknown[];
    let counts: ReturnType<IngestStats['snapshot']>;
    let summary: string[];
    const answers: Record<string, { status: number; allowOrigin?: string }> = {};

    beforeAll(async () => {
      t = await startApp({ CORS_ORIGINS: `${SITE},https://example.com` });
      const http = request(t.app.getHttpServer());
      const send = async (name: string, origin: string | undefined, type: 'beacon' | 'fetch', path: string) => {
        const req = http.post('/events/website').set('User-Agent', BROWSER_UA);
        if (origin !== undefined) req.set('Origin', origin);
        // sendBeacon(url, string) posts text/plain (no preflight); fetch with a JSON body posts application/json.
        req.set('Content-Type', type === 'beacon' ? 'text/plain;charset=UTF-8' : 'application/json');
        const res = await req.send(JSON.stringify({ ...websitePageview, path }));
        answers[name] = { status: res.status, allowOrigin: res.headers['access-control-allow-origin'] };
      };
      await send('site beacon', SITE, 'beacon', '/site-beacon');
      await send('site fetch', SITE, 'fetch', '/site-fetch');
      await send('other listed origin', 'https://example.com', 'beacon', '/apex-beacon');
      await send('foreign beacon', 'https://evil.example', 'beacon', '/evil-beacon');
      await send('foreign fetch', 'https://evil.example', 'fetch', '/evil-fetch');
      await send('look-alike origin', 'https://www.example.com.evil.example', 'beacon', '/lookalike');
      await send('plain http of the site', 'http://www.example.com', 'beacon', '/http-site');
      await send('sandboxed frame', 'null', 'beacon', '/null-origin');
      await send('no Origin (a server, curl)', undefined, 'fetch', '/no-origin');
      // Telemetry stays open to any origin.
      await http.post('/events/telemetry').set('Origin', 'https://evil.example').send(appBeacon).expect(204);
      counts = t.app.get(IngestStats).snapshot();
      t.app.get(StatsReporter).report();
      summary = t.logs.matching('log', /^Ingest summary /);
      await t.app.close();
      rows = await websiteRows(t);
    });

    it('answers 204 to every one of them, like the bot filter, so a page learns nothing from the answer', () => {
      for (const answer of Object.values(answers)) expect(answer.status).toBe(204);
    });

    it('stores a foreign-origin beacon and fetch nowhere, and gives them no CORS header', () => {
      expect(rows).not.toEqual(expect.arrayContaining(['/evil-beacon']));
      expect(rows).not.toEqual(expect.arrayContaining(['/evil-fetch']));
      expect(answers['foreign beacon'].allowOrigin).toBeUndefined();
      expect(answers['foreign fetch'].allowOrigin).toBeUndefined();
    });

    it("stores the real website's beacon and fetch, from each listed origin, and requests without Origin", () => {
      expect(rows).toEqual(['/apex-beacon', '/no-origin', '/site-beacon', '/site-fetch']);
      expect(answers['site fetch'].allowOrigin).toBe(SITE);
    });

    it('counts the refusals, in /healthz counts and in the summary line', () => {
      expect(counts.website_events).toMatchObject({ accepted: 4, refused: 5, rejected: 0, botFiltered: 0 });
      expect(counts.telemetry).toMatchObject({ accepted: 1, refused: 0 });
      expect(summary).toEqual([expect.stringContaining('"refused":5')]);
    });

    it('shows refused among the admin counts of /healthz', async () => {
      const admin = await startApp({ ADMIN_TOKEN: 'admin-token', CORS_ORIGINS: SITE });
      const http = request(admin.app.getHttpServer());
      await http
        .post('/events/website')
        .set('Origin', 'https://evil.example')
        .set('User-Agent', BROWSER_UA)
        .send(websitePageview)
        .expect(204);
      const res = await http.get('/healthz').set('Authorization', 'Bearer admin-token').expect(200);
      await admin.app.close();
      expect(res.body.counts.website_events).toMatchObject({ refused: 1, accepted: 0 });
    });
  });

  describe('the User-Agent', () => {
    it('treats a website event without one, or with an empty one, as not from a browser', async () => {
      const t = await startApp();
      const http = request(t.app.getHttpServer());
      await http
        .post('/events/website')
        .unset('User-Agent')
        .send({ ...websitePageview, path: '/none' })
        .expect(204);
      await http
        .post('/events/website')
        .set('User-Agent', '')
        .send({ ...websitePageview, path: '/empty' })
        .expect(204);
      await http
        .post('/events/website')
        .set('User-Agent', '   ')
        .send({ ...websitePageview, path: '/blank' })
        .expect(204);
      await http
        .post('/events/website')
        .set('User-Agent', BOT_UA)
        .send({ ...websitePageview, path: '/bot' })
        .expect(204);
      await http
        .post('/events/website')
        .set('User-Agent', BROWSER_UA)
        .send({ ...websitePageview, path: '/browser' })
        .expect(204);
      // Telemetry comes from the app, whose User-Agent is not checked.
      await http.post('/events/telemetry').unset('User-Agent').send(appBeacon).expect(204);
      const counts = t.app.get(IngestStats).snapshot();
      await t.app.close();
      expect(counts.website_events).toMatchObject({ accepted: 1, botFiltered: 4 });
      expect(counts.telemetry).toMatchObject({ accepted: 1, botFiltered: 0 });
      expect(await websiteRows(t)).toEqual(['/browser']);
    });
  });

  describe('rejections, whatever the spelling of the path', () => {
    it('serves and counts /EVENTS/WEBSITE, /events/website/ and /Events/Telemetry/ like the canonical paths', async () => {
      const t = await startApp();
      const http = request(t.app.getHttpServer());
      for (const path of ['/EVENTS/WEBSITE', '/events/website/', '/Events/Website/']) {
        await http
          .post(path)
          .set('User-Agent', BROWSER_UA)
          .send({ ...websitePageview, type: 'click' })
          .expect(400);
        await http.post(path).set('User-Agent', BROWSER_UA).set('Content-Type', 'application/xml').send('<x/>').expect(415);
        await http.post(path).set('User-Agent', BROWSER_UA).set('Content-Type', 'application/json').send('{').expect(400);
        await http.post(path).set('User-Agent', BROWSER_UA).send(websiteDownload).expect(204);
      }
      await http
        .post('/Events/Telemetry/')
        .send({ ...appBeacon, os: '' })
        .expect(400);
      const counts = t.app.get(IngestStats).snapshot();
      await t.app.close();
      expect(counts.website_events).toMatchObject({ rejected: 9, accepted: 3 });
      expect(counts.telemetry).toMatchObject({ rejected: 1 });
    });

    it('counts the 404 of an event path Express does not route (two trailing slashes), but no CORS preflight', async () => {
      const t = await startApp({ CORS_ORIGINS: SITE });
      const http = request(t.app.getHttpServer());
      await http.post('/events/website//').set('User-Agent', BROWSER_UA).send(websitePageview).expect(404);
      await http.post('/events/telemetry//').set('Content-Type', 'application/xml').send('<x/>').expect(415);
      await http.options('/events/website').set('Origin', 'https://evil.example').set('Access-Control-Request-Method', 'POST').expect(204);
      await http.options('/Events/Telemetry/').set('Origin', 'null').set('Access-Control-Request-Method', 'POST').expect(204);
      const counts = t.app.get(IngestStats).snapshot();
      await t.app.close();
      expect(counts.website_events).toMatchObject({ rejected: 1, accepted: 0 });
      expect(counts.telemetry).toMatchObject({ rejected: 1, accepted: 0 });
    });
  });

  describe('the rate limit', () => {
    afterEach(() => jest.useRealTimers());

    it('answers 429 with Retry-After past the limit, counts it, stores nothing of it, and lets the client in again after the window', async () => {
      // Only Date is faked: the throttler reads the time from Date.now(), and the server, the
      // sockets and the writer keep their real timers.
      jest.useFakeTimers({
        doNotFake: [
          'nextTick',
          'setImmediate',
          'setTimeout',
          'setInterval',
          'clearTimeout',
          'clearInterval',
          'clearImmediate',
          'queueMicrotask',
          'hrtime',
          'performance',
        ],
      });
      const t = await startApp({ RATE_LIMIT_REQUESTS: '3', RATE_LIMIT_WINDOW_MS: '60000' });
      const http = request(t.app.getHttpServer());
      const page = (path: string) =>
        http
          .post('/events/website')
          .set('User-Agent', BROWSER_UA)
          .send({ ...websitePageview, path });
      for (const path of ['/1', '/2', '/3']) await page(path).expect(204);
      jest.advanceTimersByTime(20_000);
      const limited = await page('/4').expect(429);
      expect(limited.headers['retry-after']).toBe('40'); // the first of the three leaves the window in 40 s
      expect(limited.body).toEqual({
        statusCode: 429,
        error: 'Too Many Requests',
        message: 'More than 3 events from this address in 60 s: retry after 40 s',
        fields: [],
      });
      // Before validation: an invalid body is limited too, without being looked at.
      await http.post('/events/website').set('User-Agent', BROWSER_UA).send({ type: 'click' }).expect(429);
      // Each route has its own budget.
      await http.post('/events/telemetry').send(appBeacon).expect(204);
      // The health routes are not limited.
      for (let i = 0; i < 5; i++) await http.get('/healthz').expect(200);
      await http.get('/_ah/warmup').expect(200);
      jest.advanceTimersByTime(40_001);
      await page('/5').expect(204);
      const counts = t.app.get(IngestStats).snapshot();
      await t.app.close();
      expect(counts.website_events).toMatchObject({ accepted: 4, rejected: 2 });
      expect(await websiteRows(t)).toEqual(['/1', '/2', '/3', '/5']);
    });

    it('keys on X-Appengine-User-IP in production, which App Engine sets, not on X-Forwarded-For, which the client writes', async () => {
      const t = await startApp({ NODE_ENV: 'production', RATE_LIMIT_REQUESTS: '2' });
      const http = request(t.app.getHttpServer());
      const from = (userIp: string, forwardedFor: string) =>
        http.post('/events/telemetry').set('X-Appengine-User-IP', userIp).set('X-Forwarded-For', forwardedFor).send(appBeacon);
      await from('203.0.113.7', '198.51.100.1').expect(204);
      await from('203.0.113.7', '198.51.100.2').expect(204);
      await from('203.0.113.7', '198.51.100.3, 203.0.113.7').expect(429); // a new X-Forwarded-For does not help
      await from('203.0.113.8', '198.51.100.1').expect(204); // another visitor behind the same front end
      // One IPv6 client holds a /64: another address in it is the same client.
      await from('2001:db8:1:2::1', '198.51.100.1').expect(204);
      await from('2001:db8:1:2:ffff::9', '198.51.100.1').expect(204);
      await from('2001:0db8:0001:0002:0:0:0:5', '198.51.100.1').expect(429);
      await from('2001:db8:1:3::1', '198.51.100.1').expect(204);
      await t.app.close();
    });

    it('keys on the socket address locally, where anyone can send X-Appengine-User-IP', async () => {
      const t = await startApp({ RATE_LIMIT_REQUESTS: '2' });
      const http = request(t.app.getHttpServer());
      for (const ip of ['203.0.113.1', '203.0.113.2']) {
        await http.post('/events/telemetry').set('X-Appengine-User-IP', ip).send(appBeacon).expect(204);
      }
      await http.post('/events/telemetry').set('X-Appengine-User-IP', '203.0.113.3').send(appBeacon).expect(429);
      await t.app.close();
    });
  });

  describe('nesting', () => {
    it('takes a body nested 8 levels deep and refuses one nested 9, wherever the nesting is', async () => {
      const t = await startApp();
      const http = request(t.app.getHttpServer());
      // The body is level 1, `junk` level 2: n arrays inside it reach level n + 2.
      const nested = (n: number) => JSON.parse('['.repeat(n) + ']'.repeat(n)) as unknown;
      const send = (body: unknown) =>
        http
          .post('/events/website')
          .set('User-Agent', BROWSER_UA)
          .send(body as object);
      await send({ ...websitePageview, junk: nested(7) }).expect(204);
      const deep = await send({ ...websitePageview, junk: nested(8) }).expect(400);
      expect(deep.body).toEqual({ statusCode: 400, error: 'Bad Request', message: 'Body must not nest deeper than 8 levels', fields: [] });
      await send({ ...websitePageview, junk: [1, { a: [{ b: [[[]]] }] }] }).expect(204);
      await send({ ...websitePageview, junk: [1, { a: [{ b: [[[[]]]] }] }] }).expect(400);
      const counts = t.app.get(IngestStats).snapshot();
      await t.app.close();
      expect(counts.website_events).toMatchObject({ accepted: 2, rejected: 2 });
    });
  });

  describe('the cost of unknown properties', () => {
    /** A valid page view carrying, under a key no DTO knows, nested arrays up to the 16 KiB body limit. */
    function wideBody(): string {
      const real = JSON.stringify(websitePageview);
      const junk: unknown[] = [];
      while (JSON.stringify({ ...websitePageview, junk }).length < 16 * 1024 - 40) junk.push([[0, [1]], [[2]]]);
      const body = JSON.stringify({ ...websitePageview, junk });
      expect(body.length).toBeGreaterThan(40 * real.length);
      return body;
    }

    it('costs what a real event costs: the transformer and the pipe visit the same values for both', async () => {
      const t = await startApp();
      const http = request(t.app.getHttpServer());
      // class-transformer's recursive step (one call per value it copies) and the ValidationPipe's
      // own recursive walk: the real functions, counted.
      const transformed = jest.spyOn(TransformOperationExecutor.prototype, 'transform');
      const walked = jest.spyOn(ValidationPipe.prototype as unknown as { stripProtoKeys(v: unknown): void }, 'stripProtoKeys');
      const visits = async (body: string) => {
        transformed.mockClear();
        walked.mockClear();
        await http.post('/events/website').set('User-Agent', BROWSER_UA).set('Content-Type', 'text/plain').send(body).expect(204);
        return { transformed: transformed.mock.calls.length, walked: walked.mock.calls.length };
      };
      const real = await visits(JSON.stringify(websitePageview));
      const wide = await visits(wideBody());
      await t.app.close();
      expect(real.transformed).toBeGreaterThan(0);
      expect(real.walked).toBeGreaterThan(0);
      expect(wide).toEqual(real);
      expect(await websiteRows(t)).toEqual([websitePageview.path, websitePageview.path]);
    });

    it('still rejects a known field holding a nested value, with its usual message', async () => {
      const t = await startApp();
      const res = await request(t.app.getHttpServer())
        .post('/events/website')
        .send({ ...websitePageview, path: [[['/docs']]], junk: [[[1]]] })
        .expect(400);
      await t.app.close();
      expect(res.body.fields).toEqual(['path']);
      expect(res.body.message).toEqual(expect.arrayContaining(['path must be a string']));
    });
  });
});
