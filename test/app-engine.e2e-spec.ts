import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { parse } from 'yaml';
import { CONFIG_VARIABLES } from '../src/config/app-config';
import { freePort, queryDuckDb, startApp, tempDuckDbPath } from './support/app';
import { appBeacon, BROWSER_UA, websitePageview } from './support/payloads';

const ROOT = join(__dirname, '..');

/** The built API as App Engine runs it: `node dist/main.js` (dist/ is built by the jest global setup). */
class ApiProcess {
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  constructor(
    env: Record<string, string>,
    readonly port = 0,
  ) {
    this.child = spawn(process.execPath, ['dist/main.js'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, ...(port ? { PORT: String(port) } : {}), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => this.stdout.push(d));
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => this.stderr.push(d));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  lines(): string[] {
    return this.stdout.join('').split('\n').filter(Boolean);
  }

  async listening(): Promise<void> {
    const end = Date.now() + 20_000;
    while (Date.now() < end) {
      try {
        if ((await fetch(`${this.url}/healthz`)).ok) return;
      } catch {
        await new Promise((r) => setTimeout(r, 25));
      }
    }
    throw new Error(`not listening: ${this.stderr.join('')}`);
  }

  signal(name: NodeJS.Signals): void {
    this.child.kill(name);
  }
}

describe('App Engine (e2e)', () => {
  describe('app.yaml', () => {
    const appYaml = parse(readFileSync(join(ROOT, 'app.yaml'), 'utf8'));

    it('runs a supported Node runtime on F1 with automatic scaling and warmup requests', () => {
      expect(['nodejs22', 'nodejs24']).toContain(appYaml.runtime);
      expect(appYaml.instance_class).toBe('F1');
      expect(appYaml.automatic_scaling).toEqual(expect.objectContaining({ min_instances: 0, max_instances: expect.any(Number) }));
      expect(appYaml.inbound_services).toContain('warmup');
    });

    it('starts node directly on a file the build produces', () => {
      const [command, script, ...rest] = String(appYaml.entrypoint).split(/\s+/);
      expect(command).toBe('node');
      expect(rest).toEqual([]);
      expect(existsSync(join(ROOT, script))).toBe(true);
      const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
      expect(pkg.scripts['gcp-build']).toBe('npm run build');
    });

    it('sets only variables the API reads, and a valid production configuration', () => {
      const env = appYaml.env_variables as Record<string, string>;
      for (const name of Object.keys(env)) expect(CONFIG_VARIABLES).toContain(name);
      expect(env).toMatchObject({ WAREHOUSE: 'bigquery', NODE_ENV: 'production' });
      expect(Object.keys(env)).toEqual(expect.arrayContaining(['BIGQUERY_DATASET', 'BIGQUERY_LOCATION']));
    });

    it('keeps tests, local data and node_modules out of the upload, but not sql/', () => {
      const ignored = readFileSync(join(ROOT, '.gcloudignore'), 'utf8').split('\n');
      expect(ignored).toEqual(expect.arrayContaining(['node_modules/', 'test/', 'data/']));
      expect(ignored.some((line) => line.startsWith('sql'))).toBe(false);
    });

    it('uploads what GET /dashboard serves at runtime: public/ and the chart library, a runtime dependency', () => {
      const ignored = readFileSync(join(ROOT, '.gcloudignore'), 'utf8').split('\n');
      expect(ignored.some((line) => line.startsWith('public') || line.startsWith('/public'))).toBe(false);
      for (const file of ['index.html', 'dashboard.js', 'dashboard.css'])
        expect(existsSync(join(ROOT, 'public/dashboard', file))).toBe(true);
      const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
      expect(Object.keys(pkg.dependencies)).toContain('chart.js');
    });
  });

  describe('warmup and health routes', () => {
    it('GET /_ah/warmup readies the warehouse and answers 200', async () => {
      const t = await startApp();
      const res = await request(t.app.getHttpServer()).get('/_ah/warmup').expect(200);
      expect(res.body).toEqual({ status: 'ready' });
      await t.app.close();
      const tables = await queryDuckDb(t.config.duckdbPath, 'SELECT table_name FROM information_schema.tables ORDER BY 1');
      expect(tables.map((r) => r.table_name)).toEqual(expect.arrayContaining(['telemetry', 'website_events']));
    });

    it('GET /_ah/warmup still answers 200 when the warehouse cannot be readied yet', async () => {
      const t = await startApp({ DUCKDB_PATH: '/dev/null/nope/analytics.duckdb' });
      const res = await request(t.app.getHttpServer()).get('/_ah/warmup').expect(200);
      expect(res.body.status).toMatch(/not ready/);
      await t.app.close();
    });

    it('GET /healthz answers 200 and shows counts only with the admin token', async () => {
      const t = await startApp({ ADMIN_TOKEN: 's3cret-token' });
      const http = request(t.app.getHttpServer());
      await http.post('/events/telemetry').send(appBeacon).expect(204);
      await http.post('/events/telemetry').send({}).expect(400);
      expect((await http.get('/healthz').expect(200)).body).toEqual({ status: 'ok' });
      expect((await http.get('/healthz').set('Authorization', 'Bearer wrong').expect(200)).body).toEqual({ status: 'ok' });
      const admin = await http.get('/healthz').set('Authorization', 'Bearer s3cret-token').expect(200);
      expect(admin.body.counts.telemetry).toMatchObject({ accepted: 1, rejected: 1 });
      expect(admin.body.pending).toEqual({ telemetry: expect.any(Number), website_events: 0 });
      await t.app.close();
    });

    it('GET /healthz never shows counts when no admin token is configured', async () => {
      const t = await startApp();
      const res = await request(t.app.getHttpServer()).get('/healthz').set('Authorization', 'Bearer ').expect(200);
      expect(res.body).toEqual({ status: 'ok' });
      await t.app.close();
    });
  });

  describe('the process', () => {
    it.each([
      [{ WAREHOUSE: 'postgres' }, 'Invalid configuration: WAREHOUSE="postgres": must be one of the following values: duckdb, bigquery'],
      [
        { BATCH_SIZE: 'lots' },
        'Invalid configuration: BATCH_SIZE="lots": must be an integer number, must not be less than 1, must not be greater than 10000',
      ],
      [
        { WAREHOUSE: 'bigquery' },
        'Invalid configuration: BIGQUERY_PROJECT is not set: WAREHOUSE=bigquery needs a Google Cloud project id (BIGQUERY_PROJECT, GOOGLE_CLOUD_PROJECT, or the project_id of GOOGLE_APPLICATION_CREDENTIALS)',
      ],
    ])('stops at startup on %j with one line and no stack trace', async (env, line) => {
      const api = new ApiProcess({ ...env, DUCKDB_PATH: ':memory:' });
      expect(await api.exited).toBe(1);
      expect(api.stderr.join('')).toBe(`${line}\n`);
      expect(api.stdout.join('')).toBe('');
    });

    it('logs one JSON object per line with severity in production, and summarizes on stop', async () => {
      const api = new ApiProcess({ NODE_ENV: 'production', DUCKDB_PATH: tempDuckDbPath() }, await freePort());
      await api.listening();
      await fetch(`${api.url}/events/website`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
      api.signal('SIGTERM');
      expect(await api.exited).toBe(0);
      const entries = api.lines().map((line) => JSON.parse(line));
      expect(entries.length).toBeGreaterThan(2);
      for (const entry of entries) expect(['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL']).toContain(entry.severity);
      expect(entries).toContainEqual(expect.objectContaining({ severity: 'INFO', message: 'Listening', context: 'Bootstrap' }));
      expect(entries).toContainEqual(
        expect.objectContaining({ severity: 'INFO', message: 'Ingest summary', website_events: expect.objectContaining({ rejected: 1 }) }),
      );
      // No line per request: the route appears only where Nest maps it at startup.
      expect(api.lines().filter((line) => line.includes('/events/website') && !line.includes('RouterExplorer'))).toEqual([]);
    });

    it('logs failed and dropped batches as JSON with their table, rows, attempt and reason', async () => {
      const api = new ApiProcess(
        {
          NODE_ENV: 'production',
          DUCKDB_PATH: '/dev/null/down/analytics.duckdb',
          FLUSH_INTERVAL_MS: '50',
          WRITE_MAX_ATTEMPTS: '2',
          RETRY_BASE_DELAY_MS: '10',
        },
        await freePort(),
      );
      await api.listening();
      await fetch(`${api.url}/events/telemetry`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: JSON.stringify(appBeacon),
      });
      const end = Date.now() + 10_000;
      while (Date.now() < end && !api.lines().some((l) => l.includes('Batch dropped'))) await new Promise((r) => setTimeout(r, 50));
      api.signal('SIGTERM');
      expect(await api.exited).toBe(0);
      const entries = api.lines().map((line) => JSON.parse(line));
      expect(entries).toContainEqual(
        expect.objectContaining({
          severity: 'WARNING',
          message: 'Batch write failed',
          table: 'telemetry',
          rows: 1,
          attempt: 1,
          maxAttempts: 2,
          retryable: true,
          reason: expect.any(String),
          context: 'BatchWriter',
        }),
      );
      expect(entries).toContainEqual(
        expect.objectContaining({
          severity: 'ERROR',
          message: 'Batch dropped',
          table: 'telemetry',
          rows: 1,
          attempt: 2,
          maxAttempts: 2,
          context: 'BatchWriter',
        }),
      );
    });

    it('on SIGTERM during a steady stream, stores every accepted event and exits 0', async () => {
      const duckdbPath = tempDuckDbPath();
      const api = new ApiProcess({ DUCKDB_PATH: duckdbPath, FLUSH_INTERVAL_MS: '60000', BATCH_SIZE: '10000' }, await freePort());
      await api.listening();
      let accepted = 0;
      let stop = false;
      const sender = async (n: number) => {
        for (let i = 0; !stop; i++) {
          try {
            const res = await fetch(`${api.url}/events/website`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', 'user-agent': BROWSER_UA },
              body: JSON.stringify({ ...websitePageview, path: `/s${n}/${i}` }),
            });
            if (res.status === 204) accepted++;
          } catch {
            return; // the server has stopped taking connections
          }
        }
      };
      const senders = Array.from({ length: 8 }, (_, n) => sender(n));
      await new Promise((r) => setTimeout(r, 700));
      const acceptedBeforeSignal = accepted;
      api.signal('SIGTERM');
      const code = await api.exited;
      stop = true;
      await Promise.all(senders);
      expect(code).toBe(0);
      expect(acceptedBeforeSignal).toBeGreaterThan(50);
      const rows = await queryDuckDb(duckdbPath, 'SELECT count(*)::INT AS n, count(DISTINCT path)::INT AS paths FROM website_events');
      expect(rows).toEqual([{ n: accepted, paths: accepted }]);
    });
  });
});
