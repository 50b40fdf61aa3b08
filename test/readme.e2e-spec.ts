import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { IngestStats } from '../src/stats/ingest-stats';
import { startApp } from './support/app';

/** The README's front door stays true: its curl examples are replayed against the real app. */
describe('README (e2e)', () => {
  const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
  const curls = [...readme.matchAll(/^curl -i -X POST http:\/\/127\.0\.0\.1:3000(\S+) \\\n((?:\s+-[Hd] .*\n)+)/gm)].map((m) => ({
    path: m[1],
    headers: [...m[2].matchAll(/-H '([^:]+): ([^']+)'/g)].map((h) => [h[1], h[2]] as const),
    body: /-d '([^']+)'/.exec(m[2])![1],
  }));

  it('opens with the two commands', () => {
    expect(readme).toMatch(/^# .+\n\n```sh\nnpm install && npm start .*\nnpm install && npm test .*\n```/);
  });

  it('has a curl example for each route, and each is stored', async () => {
    expect(curls.map((c) => c.path).sort()).toEqual(['/events/telemetry', '/events/website']);
    const t = await startApp();
    for (const curl of curls) {
      const req = request(t.app.getHttpServer()).post(curl.path);
      for (const [name, value] of curl.headers) req.set(name, value);
      await req.send(curl.body).expect(204);
    }
    await t.app.close();
    const counts = t.app.get(IngestStats).snapshot();
    expect(counts.telemetry).toMatchObject({ accepted: 1, written: 1 });
    expect(counts.website_events).toMatchObject({ accepted: 1, written: 1, botFiltered: 0 });
  });
});
