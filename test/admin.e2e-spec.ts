import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import request from 'supertest';
import { main as report } from '../src/cli/report';
import { BatchWriter } from '../src/warehouse/batch-writer.service';
import { freePort, startApp, tempDuckDbPath } from './support/app';
import { appBeacon, BROWSER_UA, websitePageview } from './support/payloads';

describe('GET /admin/events (e2e)', () => {
  it('shows an event sent a moment earlier, from the warehouse the running API writes to', async () => {
    const t = await startApp();
    const http = request(t.app.getHttpServer());
    const before = new Date();
    await http.post('/events/telemetry').send(appBeacon).expect(204);
    await http.post('/events/website').set('User-Agent', BROWSER_UA).send(websitePageview).expect(204);
    await t.app.get(BatchWriter).whenSettled();

    const res = await http.get('/admin/events').expect(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body.day).toBe(new Date().toISOString().slice(0, 10));
    const { telemetry, website_events } = res.body.tables;
    expect(telemetry).toMatchObject({ today: 1, pending: 0 });
    expect(telemetry.last).toEqual([
      expect.objectContaining({ installationId: appBeacon.installationId, version: '2.4.0', environmentsCount: 3, auth: true }),
    ]);
    expect(new Date(telemetry.last[0].receivedAt).getTime()).toBeGreaterThanOrEqual(before.getTime());
    expect(website_events).toMatchObject({ today: 1, pending: 0 });
    expect(website_events.last).toEqual([expect.objectContaining({ type: 'pageview', path: websitePageview.path })]);
    await t.app.close();
  });

  it('lists the last N newest first, and refuses a limit out of range', async () => {
    const t = await startApp();
    const http = request(t.app.getHttpServer());
    for (const version of ['1.0.0', '2.0.0', '3.0.0']) {
      await http
        .post('/events/telemetry')
        .send({ ...appBeacon, version })
        .expect(204);
      await t.app.get(BatchWriter).whenSettled();
    }
    const res = await http.get('/admin/events?limit=2').expect(200);
    expect(res.body.tables.telemetry.today).toBe(3);
    expect(res.body.tables.telemetry.last.map((r: { version: string }) => r.version)).toEqual(['3.0.0', '2.0.0']);
    expect(res.body.tables.website_events).toEqual({ today: 0, pending: 0, last: [] });
    await http.get('/admin/events?limit=0').expect(400);
    await http.get('/admin/events?limit=101').expect(400);
    await http.get('/admin/events?limit=ten').expect(400);
    await t.app.close();
  });

  it('in production, answers only ADMIN_TOKEN holders, and is not there at all without a token', async () => {
    const closed = await startApp({ NODE_ENV: 'production' });
    const none = await request(closed.app.getHttpServer()).get('/admin/events').expect(404);
    expect(none.body).toEqual({ statusCode: 404, error: 'Not Found', message: 'Cannot GET /admin/events' });
    expect(none.headers['cache-control']).toBe('no-store');
    await closed.app.close();

    const t = await startApp({ NODE_ENV: 'production', ADMIN_TOKEN: 's3cret-token' });
    const http = request(t.app.getHttpServer());
    await http.get('/admin/events').expect(401);
    await http.get('/admin/events').set('Authorization', 'Bearer wrong').expect(401);
    const ok = await http.get('/admin/events').set('Authorization', 'Bearer s3cret-token').expect(200);
    expect(ok.headers['cache-control']).toBe('no-store');
    expect(Object.keys(ok.body.tables)).toEqual(['telemetry', 'website_events']);
    await t.app.close();
  });

  describe('with the built API running as its own process', () => {
    let api: ChildProcess;
    let url: string;
    let path: string;
    let exited: Promise<unknown>;
    beforeAll(async () => {
      path = tempDuckDbPath();
      const port = await freePort();
      url = `http://127.0.0.1:${port}`;
      api = spawn(process.execPath, ['dist/main.js'], {
        cwd: join(__dirname, '..'),
        env: { PATH: process.env.PATH, PORT: String(port), DUCKDB_PATH: path },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      exited = new Promise((resolve) => api.once('exit', resolve));
      // The "Listening" line is the API's own signal that it answers.
      await new Promise<void>((resolve) => {
        let out = '';
        api.stdout!.setEncoding('utf8').on('data', (d: string) => {
          out += d;
          if (out.includes('Listening')) resolve();
        });
      });
      // /_ah/warmup opens the DuckDB file: from here on the API holds its lock.
      expect(await (await fetch(`${url}/_ah/warmup`)).json()).toEqual({ status: 'ready' });
    });
    afterAll(async () => {
      api.kill('SIGTERM');
      await exited;
    });

    it('npm run report points to the route instead of the views, and the route answers from the same file', async () => {
      let err = '';
      const code = await report([], { DUCKDB_PATH: path }, { out: () => undefined, err: (t) => (err += t) });
      expect(code).toBe(1);
      expect(err).toMatch(
        /^report: .*lock.*\(the running API holds .*: GET \/admin\/events on the API shows the last events and today's counts\)\n$/,
      );
      const res = await fetch(`${url}/admin/events`);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(Object.keys(((await res.json()) as { tables: object }).tables)).toEqual(['telemetry', 'website_events']);
    });
  });
});
