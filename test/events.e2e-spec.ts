import request from 'supertest';
import { BatchWriter } from '../src/warehouse/batch-writer.service';
import { IngestStats } from '../src/stats/ingest-stats';
import { EventsService } from '../src/events/events.service';
import { queryDuckDb, startApp, TestApp, unopenableDuckDbPath, waitFor } from './support/app';
import { appBeacon, BOT_UA, BROWSER_UA, olderAppJson, websiteDownload, websitePageview } from './support/payloads';

const iso = (value: unknown) => (value as Date).toISOString();

describe('Ingestion on the embedded DuckDB warehouse (e2e)', () => {
  describe('real clients, read back value by value', () => {
    let t: TestApp;
    let before: Date;
    let after: Date;
    let telemetry: Record<string, unknown>[];
    let website: Record<string, unknown>[];

    beforeAll(async () => {
      t = await startApp({ CORS_ORIGINS: 'https://www.example.com' });
      const http = request(t.app.getHttpServer());
      before = new Date();
      await http
        .post('/events/telemetry')
        .set('Content-Type', 'text/plain;charset=UTF-8')
        .set('Origin', 'null')
        .set('X-Appengine-Country', 'de')
        .send(JSON.stringify(appBeacon))
        .expect(204)
        .expect((res) => expect(res.text).toBe(''));
      await http.post('/events/telemetry').set('X-Appengine-Country', 'US').send(olderAppJson).expect(204);
      await http
        .post('/events/website')
        .set('Origin', 'https://www.example.com')
        .set('User-Agent', BROWSER_UA)
        .set('X-Appengine-Country', 'ZZ')
        .send({ ...websitePageview, date: '1999-01-01T00:00:00.000Z' })
        .expect(204);
      await http.post('/events/website').set('User-Agent', BROWSER_UA).set('X-Appengine-Country', 'BR').send(websiteDownload).expect(204);
      after = new Date();
      await t.app.close();
      telemetry = await queryDuckDb(t.config.duckdbPath, 'SELECT * FROM telemetry ORDER BY version DESC');
      website = await queryDuckDb(t.config.duckdbPath, 'SELECT * FROM website_events ORDER BY type DESC');
    });

    it('stores the app beacon (text/plain, no country) with the country from X-Appengine-Country', () => {
      expect(telemetry).toHaveLength(2);
      const row = telemetry[0];
      expect({ ...row, startTime: iso(row.startTime), endTime: iso(row.endTime), receivedAt: undefined }).toEqual({
        installationId: appBeacon.installationId,
        startTime: '2024-05-01T10:00:00.000Z',
        endTime: '2024-05-01T10:42:17.250Z',
        firstSession: false,
        version: '2.4.0',
        os: 'win32',
        country: 'DE',
        environmentsCount: 3n,
        app: 'desktop',
        auth: true,
        paid: false,
        receivedAt: undefined,
      });
    });

    it("keeps the older app's own country over the header, and nulls what it does not send", () => {
      const row = telemetry[1];
      expect({ ...row, startTime: iso(row.startTime), endTime: iso(row.endTime), receivedAt: undefined }).toEqual({
        installationId: olderAppJson.installationId,
        startTime: '2024-04-30T22:15:03.512Z',
        endTime: '2024-04-30T23:01:44.004Z',
        firstSession: true,
        version: '1.9.3',
        os: 'darwin',
        country: 'FR',
        environmentsCount: 0n,
        app: null,
        auth: null,
        paid: null,
        receivedAt: undefined,
      });
    });

    it('stamps receivedAt and date with the server receive time, ignoring any client date', () => {
      for (const value of [...telemetry.map((r) => r.receivedAt), ...website.map((r) => r.date)]) {
        expect((value as Date).getTime()).toBeGreaterThanOrEqual(before.getTime());
        expect((value as Date).getTime()).toBeLessThanOrEqual(after.getTime());
      }
    });

    it('stores the page view with null event fields, a stripped referrer and ZZ as no country', () => {
      expect(website).toHaveLength(2);
      expect({ ...website[0], date: undefined }).toEqual({
        type: 'pageview',
        eventName: null,
        eventCategory: null,
        date: undefined,
        path: '/docs/getting-started',
        entryPage: '/',
        referrer: 'news.ycombinator.com/item',
        country: null,
      });
    });

    it('stores the download click', () => {
      expect({ ...website[1], date: undefined }).toEqual({
        type: 'event',
        eventName: 'download',
        eventCategory: 'mac',
        date: undefined,
        path: '/download',
        entryPage: '/download',
        referrer: 'direct',
        country: 'BR',
      });
    });
  });

  describe('validation', () => {
    let t: TestApp;
    beforeAll(async () => (t = await startApp()));
    afterAll(() => t.app.close());

    const telemetryCases: [string, string, Record<string, unknown>][] = [
      ['installationId missing', 'installationId', { installationId: undefined }],
      ['installationId not a UUID', 'installationId', { installationId: 'abc' }],
      ['startTime not a date', 'startTime', { startTime: 'yesterday' }],
      ['startTime a date without time', 'startTime', { startTime: '2024-05-01' }],
      ['startTime impossible', 'startTime', { startTime: '2024-02-31T25:00:00Z' }],
      ['startTime Feb 31 (not shifted to Mar 2)', 'startTime', { startTime: '2024-02-31T10:00:00Z' }],
      ['startTime hour 24', 'startTime', { startTime: '2024-05-01T24:00:00Z' }],
      ['startTime minute 60', 'startTime', { startTime: '2024-05-01T10:60:00Z' }],
      ['startTime before year 1', 'startTime', { startTime: '0000-01-01T00:00:00Z' }],
      ['endTime past 9999 once in UTC', 'endTime', { endTime: '9999-12-31T23:00:00-05:00' }],
      ['version with NUL', 'version', { version: '2.4.0\u0000' }],
      ['version a formula', 'version', { version: '=HYPERLINK("https://evil.example","2.4.0")' }],
      ['os with a bidi override', 'os', { os: 'win\u202e23' }],
      ['os over 32 bytes in UTF-8', 'os', { os: 'é'.repeat(17) }],
      ['endTime missing', 'endTime', { endTime: undefined }],
      ['endTime a number', 'endTime', { endTime: 1714557600000 }],
      ['firstSession a string', 'firstSession', { firstSession: 'true' }],
      ['version missing', 'version', { version: undefined }],
      ['version too long', 'version', { version: 'x'.repeat(65) }],
      ['os empty', 'os', { os: '' }],
      ['os too long', 'os', { os: 'x'.repeat(33) }],
      ['environmentsCount negative', 'environmentsCount', { environmentsCount: -1 }],
      ['environmentsCount fractional', 'environmentsCount', { environmentsCount: 1.5 }],
      ['environmentsCount a string', 'environmentsCount', { environmentsCount: '3' }],
      ['country not ISO', 'country', { country: 'XX' }],
      ['country a name', 'country', { country: 'France' }],
      ['app unknown', 'app', { app: 'mobile' }],
      ['auth a string', 'auth', { auth: 'yes' }],
      ['paid a number', 'paid', { paid: 1 }],
    ];

    it.each(telemetryCases)('telemetry: %s -> 400 naming %s', async (_, field, change) => {
      const res = await request(t.app.getHttpServer())
        .post('/events/telemetry')
        .send({ ...appBeacon, ...change })
        .expect(400);
      expect(res.body.fields).toEqual([field]);
      expect(res.body.message.join(' ')).toContain(field);
    });

    const websiteCases: [string, string, Record<string, unknown>][] = [
      ['type unknown', 'type', { type: 'click' }],
      ['type missing', 'type', { type: undefined }],
      ['event without a name', 'eventName', { ...websiteDownload, eventName: null }],
      ['eventName too long', 'eventName', { eventName: 'x'.repeat(129) }],
      ['eventCategory a number', 'eventCategory', { eventCategory: 3 }],
      ['path missing', 'path', { path: undefined }],
      ['path relative', 'path', { path: 'docs' }],
      ['path too long', 'path', { path: '/' + 'x'.repeat(2048) }],
      ['entryPage relative', 'entryPage', { entryPage: 'index.html' }],
      ['referrer a bare host', 'referrer', { referrer: 'google.com' }],
      ['referrer "Direct"', 'referrer', { referrer: 'Direct' }],
      ['referrer too long', 'referrer', { referrer: 'https://a.example/' + 'x'.repeat(2048) }],
      ['path over 2,048 bytes in UTF-8', 'path', { path: '/' + '😀'.repeat(600) }],
      ['path with control characters', 'path', { path: '/a\u0001b' }],
      ['entryPage with a bidi isolate', 'entryPage', { entryPage: '/\u2066x' }],
      ['eventName a formula', 'eventName', { ...websiteDownload, eventName: '@SUM(A1)' }],
      ['eventCategory with a newline', 'eventCategory', { ...websiteDownload, eventCategory: 'mac\nwin' }],
      ['referrer javascript:', 'referrer', { referrer: 'javascript://x.example/%0aalert(1)' }],
      ['referrer file:', 'referrer', { referrer: 'file://host/etc/passwd' }],
      ['referrer data:', 'referrer', { referrer: 'data:text/html,hi' }],
      ['referrer that grows past 2,048 bytes once percent-encoded', 'referrer', { referrer: 'https://a.example/' + 'é'.repeat(1000) }],
    ];

    it.each(websiteCases)('website: %s -> 400 naming %s', async (_, field, change) => {
      const res = await request(t.app.getHttpServer())
        .post('/events/website')
        .send({ ...websitePageview, ...change })
        .expect(400);
      expect(res.body.fields).toEqual([field]);
      expect(res.body.message.join(' ')).toContain(field);
    });

    it.each([
      ['not JSON', 'application/json', '{"type":'],
      ['not JSON, as a beacon', 'text/plain', 'hello'],
      ['a JSON string', 'application/json', '"pageview"'],
      ['null', 'application/json', 'null'],
      ['an array', 'application/json', '[]'],
      ['an array of events', 'application/json', JSON.stringify([websitePageview])],
    ])('a body that is %s gets a 400 JSON answer', async (_, type, body) => {
      const res = await request(t.app.getHttpServer()).post('/events/website').set('Content-Type', type).send(body).expect(400);
      expect(res.body).toMatchObject({ statusCode: 400, message: 'Body must be a JSON object' });
    });

    it('an empty body gets a 400 naming the required fields', async () => {
      const res = await request(t.app.getHttpServer()).post('/events/website').send('').expect(400);
      expect(res.body.fields).toEqual(expect.arrayContaining(['type', 'path']));
    });

    it.each([
      ['a form post', '/events/website', 'application/x-www-form-urlencoded', 'type=pageview&path=%2F'],
      ['a form post', '/events/telemetry', 'application/x-www-form-urlencoded', 'installationId=x'],
      ['XML', '/events/website', 'application/xml', '<event/>'],
      ['multipart', '/events/telemetry', 'multipart/form-data; boundary=x', '--x--'],
      ['JSON with no Content-Type', '/events/website', undefined, JSON.stringify(websitePageview)],
    ])('%s to %s gets a 415 naming the accepted types', async (_, path, type, body) => {
      const req = request(t.app.getHttpServer()).post(path);
      if (type) req.set('Content-Type', type);
      else req.unset('Content-Type');
      const res = await req.send(Buffer.from(body)).expect(415);
      expect(res.body).toEqual({
        statusCode: 415,
        error: 'Unsupported Media Type',
        message: `Content-Type must be application/json or text/plain, not ${type ? JSON.stringify(type) : 'missing'}`,
        accepted: ['application/json', 'text/plain'],
        fields: [],
      });
    });

    it.each([
      ['GET', '/events/website', 'POST, OPTIONS'],
      ['GET', '/events/telemetry', 'POST, OPTIONS'],
      ['PUT', '/Events/Website/', 'POST, OPTIONS'],
      ['DELETE', '/events/telemetry/', 'POST, OPTIONS'],
      ['POST', '/healthz', 'GET, HEAD, OPTIONS'],
      ['POST', '/_ah/warmup', 'GET, HEAD, OPTIONS'],
    ])('%s %s gets a 405 with Allow: %s', async (method, path, allow) => {
      const res = await request(t.app.getHttpServer())[method.toLowerCase() as 'get'](path).expect(405);
      expect(res.headers.allow).toBe(allow);
      expect(res.body).toMatchObject({
        statusCode: 405,
        error: 'Method Not Allowed',
        message: expect.stringContaining(`${method} is not allowed`),
      });
    });

    it('an unknown path still gets a 404, and OPTIONS on a read route a 204 with Allow', async () => {
      await request(t.app.getHttpServer()).get('/events/nothing').expect(404);
      const res = await request(t.app.getHttpServer()).options('/healthz').expect(204);
      expect(res.headers.allow).toBe('GET, HEAD, OPTIONS');
    });

    it.each([
      ['deeply nested arrays', `{"path":${'['.repeat(5000)}${']'.repeat(5000)}}`],
      ['a deeply nested field', JSON.stringify({ ...websitePageview, path: JSON.parse('['.repeat(3000) + ']'.repeat(3000)) })],
      ['a deeply nested object', `{"a":${'{"a":'.repeat(1000)}1${'}'.repeat(1000)}}`],
    ])('%s get a 400, not a 500', async (_, body) => {
      const res = await request(t.app.getHttpServer()).post('/events/website').set('Content-Type', 'application/json').send(body);
      expect(res.status).toBe(400);
      expect(res.body.message).toMatch(/nest deeper than 8 levels/);
    });

    it.each([
      ['gzip that is not gzip', { 'Content-Encoding': 'gzip' }, 400],
      ['brotli that is not brotli', { 'Content-Encoding': 'br' }, 400],
      ['an unknown encoding', { 'Content-Encoding': 'compress' }, 415],
      ['an unknown charset', { 'Content-Type': 'application/json; charset=klingon' }, 415],
    ])('%s gets a 4xx', async (_, headers, status) => {
      const req = request(t.app.getHttpServer()).post('/events/telemetry').set('Content-Type', 'application/json');
      for (const [k, v] of Object.entries(headers)) req.set(k, v);
      const res = await req.send(JSON.stringify(appBeacon));
      expect(res.status).toBe(status);
      expect(res.body.statusCode).toBe(status);
    });

    it('a body over the limit gets 413', async () => {
      const res = await request(t.app.getHttpServer())
        .post('/events/telemetry')
        .send({ ...appBeacon, padding: 'x'.repeat(20_000) })
        .expect(413);
      expect(res.body).toMatchObject({ statusCode: 413, error: 'Payload Too Large' });
    });

    it('stored nothing for all of the above, and counted the 415s and 405s as rejections', () => {
      const stats = t.app.get(IngestStats).snapshot();
      expect(stats.telemetry.accepted).toBe(0);
      expect(stats.website_events.accepted).toBe(0);
      // Telemetry: its field cases, 4 encodings, 1 too large, 2 415s, 2 405s.
      expect(stats.telemetry.rejected).toBe(telemetryCases.length + 4 + 1 + 2 + 2);
      // Website: its field cases, 6 bodies, 3 deep ones, 1 empty, 3 415s, 2 405s.
      expect(stats.website_events.rejected).toBe(websiteCases.length + 6 + 3 + 1 + 3 + 2);
      expect(t.app.get(BatchWriter).pending('telemetry')).toBe(0);
    });

    it('answers 4xx, never 5xx, to 400 random mutations of the real payloads', async () => {
      let seed = 42;
      const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)];
      const oddValues = [
        null,
        true,
        0,
        -1,
        1e308,
        NaN,
        '',
        ' ',
        'x'.repeat(5000),
        '\u0000',
        '2024-13-45T99:99:99Z',
        [],
        [1, 'a'],
        {},
        { a: { b: 1 } },
        '__proto__',
        'direct',
        '/',
      ];
      const statuses = new Set<number>();
      for (let i = 0; i < 400; i++) {
        const [route, base] = pick([
          ['/events/telemetry', appBeacon],
          ['/events/website', websitePageview],
        ] as const);
        const body: Record<string, unknown> = { ...base };
        for (let m = 0; m < 1 + Math.floor(random() * 3); m++) {
          const key = pick([...Object.keys(base), 'extra', '__proto__', 'constructor']);
          if (random() < 0.2) delete body[key];
          else body[key] = pick(oddValues);
        }
        const res = await request(t.app.getHttpServer())
          .post(route)
          .set('Content-Type', pick(['application/json', 'text/plain;charset=UTF-8']))
          .send(JSON.stringify(body));
        statuses.add(res.status);
        expect(res.status).toBeLessThan(500);
      }
      expect(statuses).toContain(400);
    });
  });

  describe('accepted quirks', () => {
    it('stores endTime before startTime as sent, drops unknown fields, accepts odd timestamps', async () => {
      const t = await startApp();
      const http = request(t.app.getHttpServer());
      await http
        .post('/events/telemetry')
        .send({ ...appBeacon, startTime: '2024-05-01T10:00:00Z', endTime: '2024-05-01T09:59:00Z', theme: 'dark', nested: { a: 1 } })
        .expect(204);
      await http
        .post('/events/telemetry')
        .send({ ...olderAppJson, startTime: '2024-05-01T12:00:00+02:00', endTime: '2024-05-01T10:30:00.123456', country: 'zz' })
        .expect(204);
      await http
        .post('/events/telemetry')
        .send({ ...olderAppJson, version: '3.0.0', os: 'freebsd', country: null })
        .expect(204);
      await http
        .post('/events/website')
        .set('User-Agent', BROWSER_UA)
        .send({ ...websitePageview, referrer: '', extra: true })
        .expect(204);
      await http
        .post('/events/website')
        .set('User-Agent', BROWSER_UA)
        .send({ type: 'pageview', eventName: null, eventCategory: null, path: '/pricing?utm_source=x&token=secret#plans' })
        .expect(204);
      await t.app.close();

      const sessions = await queryDuckDb(t.config.duckdbPath, 'SELECT startTime, endTime, os, country FROM telemetry ORDER BY version, os');
      expect(sessions.map((r) => [iso(r.startTime), iso(r.endTime), r.os, r.country])).toEqual([
        ['2024-05-01T10:00:00.000Z', '2024-05-01T10:30:00.123Z', 'darwin', null],
        ['2024-05-01T10:00:00.000Z', '2024-05-01T09:59:00.000Z', 'win32', null],
        ['2024-04-30T22:15:03.512Z', '2024-04-30T23:01:44.004Z', 'freebsd', null],
      ]);
      const columns = await queryDuckDb(
        t.config.duckdbPath,
        "SELECT column_name FROM information_schema.columns WHERE table_name IN ('telemetry', 'website_events')",
      );
      expect(columns.map((c) => c.column_name)).not.toEqual(expect.arrayContaining(['theme']));
      const pages = await queryDuckDb(t.config.duckdbPath, 'SELECT path, entryPage, referrer FROM website_events ORDER BY path');
      expect(pages).toEqual([
        { path: '/docs/getting-started', entryPage: '/', referrer: 'direct' },
        { path: '/pricing', entryPage: '/pricing', referrer: 'direct' },
      ]);
    });

    it('stores installation ids in lowercase and entry pages without query or fragment', async () => {
      const t = await startApp();
      const http = request(t.app.getHttpServer());
      await http
        .post('/events/telemetry')
        .send({ ...appBeacon, installationId: appBeacon.installationId.toUpperCase() })
        .expect(204);
      await http
        .post('/events/website')
        .set('User-Agent', BROWSER_UA)
        .send({ ...websitePageview, path: '/docs?q=1', entryPage: '/landing?utm_source=x&token=secret#top' })
        .expect(204);
      await t.app.close();
      expect(await queryDuckDb(t.config.duckdbPath, 'SELECT installationId FROM telemetry')).toEqual([
        { installationId: appBeacon.installationId.toLowerCase() },
      ]);
      expect(appBeacon.installationId).toBe(appBeacon.installationId.toLowerCase());
      expect(await queryDuckDb(t.config.duckdbPath, 'SELECT path, entryPage FROM website_events')).toEqual([
        { path: '/docs', entryPage: '/landing' },
      ]);
    });

    it('hands the service only the properties the DTOs declare (unknown ones are stripped, not passed on)', async () => {
      const t = await startApp();
      const service = t.app.get(EventsService);
      const telemetry = jest.spyOn(service, 'acceptTelemetry');
      const website = jest.spyOn(service, 'acceptWebsiteEvent');
      const http = request(t.app.getHttpServer());
      await http
        .post('/events/telemetry')
        .send({ ...appBeacon, theme: 'dark', ip: '203.0.113.7' })
        .expect(204);
      await http
        .post('/events/website')
        .set('User-Agent', BROWSER_UA)
        .send({ ...websitePageview, userAgent: 'x', screen: { w: 1 } })
        .expect(204);
      await t.app.close();
      expect(telemetry.mock.calls[0][0]).toMatchObject(appBeacon);
      expect(website.mock.calls[0][0]).toMatchObject(websitePageview);
      for (const key of ['theme', 'ip']) expect(telemetry.mock.calls[0][0]).not.toHaveProperty(key);
      for (const key of ['userAgent', 'screen']) expect(website.mock.calls[0][0]).not.toHaveProperty(key);
    });

    it('answers 204 to bots on the website but stores nothing for them', async () => {
      const t = await startApp();
      const http = request(t.app.getHttpServer());
      await http.post('/events/website').set('User-Agent', BOT_UA).send(websitePageview).expect(204);
      await http.post('/events/website').set('User-Agent', 'curl/8.5.0').send(websitePageview).expect(204);
      await http.post('/events/website').set('User-Agent', BROWSER_UA).send(websitePageview).expect(204);
      const stats = t.app.get(IngestStats).snapshot();
      await t.app.close();
      expect(stats.website_events.botFiltered).toBe(2);
      const rows = await queryDuckDb(t.config.duckdbPath, 'SELECT count(*)::INT AS n FROM website_events');
      expect(rows).toEqual([{ n: 1 }]);
    });
  });

  describe('CORS', () => {
    let t: TestApp;
    beforeAll(async () => (t = await startApp({ CORS_ORIGINS: 'https://www.example.com, https://example.com' })));
    afterAll(() => t.app.close());

    const preflight = (path: string, origin: string) =>
      request(t.app.getHttpServer())
        .options(path)
        .set('Origin', origin)
        .set('Access-Control-Request-Method', 'POST')
        .set('Access-Control-Request-Headers', 'content-type');

    it('allows the website preflight for a listed origin, and lets the browser cache it', async () => {
      const res = await preflight('/events/website', 'https://example.com').expect(204);
      expect(res.headers['access-control-allow-origin']).toBe('https://example.com');
      expect(res.headers['access-control-allow-methods']).toContain('POST');
      expect(res.headers['access-control-allow-headers']).toBe('content-type');
      expect(Number(res.headers['access-control-max-age'])).toBeGreaterThanOrEqual(3600);
    });

    it('refuses the website preflight for another origin', async () => {
      const res = await preflight('/events/website', 'https://evil.example');
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
    });

    it('allows telemetry from any origin, file:// pages (Origin: null) included', async () => {
      for (const origin of ['null', 'https://app.example.org', 'app://desktop']) {
        const res = await preflight('/events/telemetry', origin).expect(204);
        expect(res.headers['access-control-allow-origin']).toBe(origin);
      }
      const res = await request(t.app.getHttpServer()).post('/events/telemetry').set('Origin', 'null').send(appBeacon).expect(204);
      expect(res.headers['access-control-allow-origin']).toBe('null');
    });
  });

  describe('writes', () => {
    it('flushes every pending event on shutdown', async () => {
      const t = await startApp({ FLUSH_INTERVAL_MS: '600000', BATCH_SIZE: '10000' });
      const http = request(t.app.getHttpServer());
      await Promise.all(
        Array.from({ length: 150 }, (_, i) =>
          http
            .post('/events/website')
            .set('User-Agent', BROWSER_UA)
            .send({ ...websitePageview, path: `/p/${i}` })
            .expect(204),
        ),
      );
      expect(t.app.get(BatchWriter).pending('website_events')).toBe(150);
      await t.app.close();
      const rows = await queryDuckDb(t.config.duckdbPath, 'SELECT count(DISTINCT path)::INT AS n FROM website_events');
      expect(rows).toEqual([{ n: 150 }]);
    });

    it('writes in batches of BATCH_SIZE rows', async () => {
      const t = await startApp({ FLUSH_INTERVAL_MS: '600000', BATCH_SIZE: '25' });
      const http = request(t.app.getHttpServer());
      for (let i = 0; i < 60; i++) await http.post('/events/telemetry').send(appBeacon).expect(204);
      const writer = t.app.get(BatchWriter);
      expect(await waitFor(() => writer.pending('telemetry') === 10)).toBe(true);
      expect(t.app.get(IngestStats).snapshot().telemetry.written).toBe(50);
      await t.app.close();
      expect(await queryDuckDb(t.config.duckdbPath, 'SELECT count(*)::INT AS n FROM telemetry')).toEqual([{ n: 60 }]);
    });

    it('keeps answering 204 with the warehouse down, bounds memory, and logs and counts the drops', async () => {
      const t = await startApp({
        DUCKDB_PATH: unopenableDuckDbPath(),
        MAX_BUFFERED_EVENTS: '100',
        BATCH_SIZE: '50',
        WRITE_MAX_ATTEMPTS: '3',
        // The first failed batch waits 30 to 60 s for its retry: the buffer stays full for the whole
        // loop however slow this machine is, so exactly the first 100 rows wait and the rest are turned away.
        RETRY_BASE_DELAY_MS: '60000',
        SHUTDOWN_FLUSH_TIMEOUT_MS: '500',
      });
      const http = request(t.app.getHttpServer());
      const writer = t.app.get(BatchWriter);
      for (let i = 0; i < 500; i++) {
        await http.post('/events/website').set('User-Agent', BROWSER_UA).send(websitePageview).expect(204);
        expect(writer.pending('website_events')).toBeLessThanOrEqual(100);
      }
      const stats = t.app.get(IngestStats);
      expect(writer.pending('website_events')).toBe(100);
      expect(stats.snapshot().website_events).toMatchObject({ accepted: 500, written: 0, dropped: 400 });
      expect(t.logs.matching('error', /^Events dropped table=website_events rows=\d+ reason=more than 100 rows waiting$/)).not.toEqual([]);
      expect(t.logs.matching('warn', /^Batch write failed table=website_events rows=\d+ attempt=1 maxAttempts=3 /)).not.toEqual([]);
      // What still waits when the shutdown deadline passes is counted and logged too.
      await t.app.close();
      expect(stats.snapshot().website_events).toMatchObject({ accepted: 500, written: 0, dropped: 500 });
      expect(t.logs.matching('error', /^Shutdown flush deadline passed, rows not written table=website_events rows=100 /)).toHaveLength(1);
    });

    it('drops a batch after WRITE_MAX_ATTEMPTS failed writes, and logs and counts it', async () => {
      const t = await startApp({ DUCKDB_PATH: unopenableDuckDbPath(), WRITE_MAX_ATTEMPTS: '3', RETRY_BASE_DELAY_MS: '20' });
      await request(t.app.getHttpServer()).post('/events/website').set('User-Agent', BROWSER_UA).send(websitePageview).expect(204);
      await t.app.get(BatchWriter).whenSettled();
      expect(t.app.get(IngestStats).snapshot().website_events).toMatchObject({ accepted: 1, written: 0, retried: 2, dropped: 1 });
      expect(t.logs.matching('error', /^Batch dropped table=website_events rows=1 attempt=3 maxAttempts=3 reason=/)).toHaveLength(1);
      await t.app.close();
    });
  });
});
