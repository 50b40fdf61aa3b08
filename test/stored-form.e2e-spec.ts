import request from 'supertest';
import { EventsService } from '../src/events/events.service';
import { queryDuckDb, startApp } from './support/app';
import { appBeacon, BROWSER_UA, olderAppJson, websitePageview } from './support/payloads';

/**
 * What is stored is the normalized form of what was sent, so that one installation is one id
 * and no token in a URL ever reaches the warehouse. Each value is read back from the DuckDB file.
 */
describe('The form in which events are stored (e2e)', () => {
  it('stores an installation id in lower case, so that one installation counts once however its client spells it', async () => {
    const t = await startApp();
    const http = request(t.app.getHttpServer());
    const id = appBeacon.installationId;
    await http
      .post('/events/telemetry')
      .send({ ...appBeacon, installationId: id.toUpperCase() })
      .expect(204);
    await http
      .post('/events/telemetry')
      .send({ ...appBeacon, startTime: '2024-05-02T10:00:00.000Z' })
      .expect(204);
    await t.app.close();

    const rows = await queryDuckDb(t.config.duckdbPath, 'SELECT installationId FROM telemetry');
    expect(rows.map((r) => r.installationId)).toEqual([id, id]);
    const installations = await queryDuckDb(t.config.duckdbPath, 'SELECT count(DISTINCT installationId)::INT AS n FROM telemetry');
    expect(installations).toEqual([{ n: 1 }]);
  });

  it("stores the entry page without its query string or fragment, like the page's own path", async () => {
    const t = await startApp();
    const http = request(t.app.getHttpServer());
    await http
      .post('/events/website')
      .set('User-Agent', BROWSER_UA)
      .send({ ...websitePageview, path: '/docs?session=abc#intro', entryPage: '/landing?utm_source=mail&token=secret#top' })
      .expect(204);
    await http
      .post('/events/website')
      .set('User-Agent', BROWSER_UA)
      .send({ ...websitePageview, path: '/pricing', entryPage: '/?token=secret' })
      .expect(204);
    await t.app.close();

    const rows = await queryDuckDb(t.config.duckdbPath, 'SELECT path, entryPage FROM website_events ORDER BY path');
    expect(rows).toEqual([
      { path: '/docs', entryPage: '/landing' },
      { path: '/pricing', entryPage: '/' },
    ]);
  });

  it('accepts fields it does not know (newer clients send more) and drops them before anything past validation sees them', async () => {
    const t = await startApp();
    const events = t.app.get(EventsService);
    const telemetry = jest.spyOn(events, 'acceptTelemetry');
    const website = jest.spyOn(events, 'acceptWebsiteEvent');
    const http = request(t.app.getHttpServer());
    await http
      .post('/events/telemetry')
      .send({ ...olderAppJson, email: 'someone@example.com', theme: 'dark' })
      .expect(204);
    await http
      .post('/events/website')
      .set('User-Agent', BROWSER_UA)
      .send({ ...websitePageview, userId: 'u-42', screen: { width: 1280 } })
      .expect(204);
    await t.app.close();

    expect(telemetry).toHaveBeenCalledTimes(1);
    expect(telemetry.mock.calls[0][0]).toMatchObject(olderAppJson);
    for (const unknown of ['email', 'theme']) expect(telemetry.mock.calls[0][0]).not.toHaveProperty(unknown);
    expect(website).toHaveBeenCalledTimes(1);
    expect(website.mock.calls[0][0]).toMatchObject(websitePageview);
    for (const unknown of ['userId', 'screen']) expect(website.mock.calls[0][0]).not.toHaveProperty(unknown);
  });
});
