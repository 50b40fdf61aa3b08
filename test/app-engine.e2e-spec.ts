import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { Agent, get as httpGet, IncomingMessage } from 'node:http';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import request from 'supertest';
import { parse } from 'yaml';
import { CONFIG_VARIABLES } from '../src/config/app-config';
import { freePort, queryDuckDb, startApp, tempDuckDbPath, unopenableDuckDbPath, untilListening } from './support/app';
import { entrypointNodeFlags } from './support/entrypoint';
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

  listening(): Promise<void> {
    return untilListening(this.url, () => this.stderr.join(''));
  }

  signal(name: NodeJS.Signals): void {
    this.child.kill(name);
  }
}

describe('App Engine (e2e)', () => {
  describe('app.yaml', () => {
    const appYamlText = readFileSync(join(ROOT, 'app.yaml'), 'utf8');
    const appYaml = parse(appYamlText);

    it('runs a supported Node runtime on F1 with automatic scaling and warmup requests', () => {
      expect(['nodejs22', 'nodejs24']).toContain(appYaml.runtime);
      expect(appYaml.instance_class).toBe('F1');
      expect(appYaml.automatic_scaling).toEqual(expect.objectContaining({ min_instances: 0, max_instances: expect.any(Number) }));
      expect(appYaml.inbound_services).toContain('warmup');
    });

    it('starts node directly on a file the build produces, with a heap sized for F1 that node accepts', () => {
      const [command, ...rest] = String(appYaml.entrypoint).split(/\s+/);
      expect(command).toBe('node');
      expect(existsSync(join(ROOT, rest.at(-1)!))).toBe(true);
      const flags = entrypointNodeFlags(appYamlText);
      expect(flags).toEqual([expect.stringMatching(/^--max-old-space-size=\d+$/), expect.stringMatching(/^--max-semi-space-size=\d+$/)]);
      // Room under F1's 384 MB for node's own code and buffers beside the heap.
      expect(Number(flags[0].split('=')[1])).toBeLessThanOrEqual(256);
      expect(spawnSync(process.execPath, [...flags, '-e', '0']).status).toBe(0);
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
      const t = await startApp({ DUCKDB_PATH: unopenableDuckDbPath() });
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
      expect(admin.body.stalled).toEqual({});
      await t.app.close();
    });

    it('GET /healthz never shows counts when no admin token is configured', async () => {
      const t = await startApp();
      const res = await request(t.app.getHttpServer()).get('/healthz').set('Authorization', 'Bearer ').expect(200);
      expect(res.body).toEqual({ status: 'ok' });
      await t.app.close();
    });
  });

  describe('npm start', () => {
    it('starts the built app without rebuilding it, and passes SIGTERM on to node', async () => {
      const stamp = join(ROOT, 'dist/.build-stamp');
      const builtAt = statSync(stamp).mtimeMs;
      const port = await freePort();
      const npm = spawn('npm', ['start'], {
        cwd: ROOT,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: String(port), DUCKDB_PATH: tempDuckDbPath() },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      npm.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`npm start did not listen within 30 s: ${stderr}`)), 30_000);
        npm.stdout.setEncoding('utf8').on('data', (d: string) => {
          stdout += d;
          if (stdout.includes('Listening')) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      npm.kill('SIGTERM'); // to npm, not to node: the signal must get through
      expect(await exited).toBe(0);
      expect(stdout).toMatch(/Stopping signal=SIGTERM/);
      await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow(); // node is gone, not orphaned
      expect(statSync(stamp).mtimeMs).toBe(builtAt);
      expect(stderr).not.toMatch(/building/);
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
        { WAREHOUSE: 'bigquery', BIGQUERY_ACCESS_TOKEN: 'token' },
        'Invalid configuration: BIGQUERY_PROJECT is not set: WAREHOUSE=bigquery needs a Google Cloud project id (BIGQUERY_PROJECT, GOOGLE_CLOUD_PROJECT, or the project_id of GOOGLE_APPLICATION_CREDENTIALS)',
      ],
      [
        { WAREHOUSE: 'bigquery', BIGQUERY_PROJECT: 'my-app-123', METADATA_SERVER_DETECTION: 'none' },
        'Invalid configuration: no Google credentials for WAREHOUSE=bigquery: set BIGQUERY_ACCESS_TOKEN, or GOOGLE_APPLICATION_CREDENTIALS to a key file, or run `gcloud auth application-default login` (no HOME to find its file), or run on Google Cloud',
      ],
    ])('stops at startup on %j with one line and no stack trace', async (env, line) => {
      const api = new ApiProcess({ ...env, DUCKDB_PATH: ':memory:' });
      expect(await api.exited).toBe(1);
      expect(api.stderr.join('')).toBe(`${line}\n`);
      expect(api.stdout.join('')).toBe('');
    });

    it('stops on DUCKDB_PATH=/proc/x/y.duckdb at once, with one line naming the variable', async () => {
      const started = Date.now();
      const api = new ApiProcess({ DUCKDB_PATH: '/proc/x/y.duckdb' });
      expect(await api.exited).toBe(1);
      // Before, this hung forever in mkdir; a bound this loose still tells the two apart on a busy machine.
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(api.stderr.join('')).toBe('Invalid configuration: DUCKDB_PATH="/proc/x/y.duckdb": cannot be created: /proc is not writable\n');
    });

    it('reports three bad variables in three lines, before listening', async () => {
      const api = new ApiProcess({ DUCKDB_PATH: '/proc/x/y.duckdb', CORS_ORIGINS: 'example.com', BIGQUERY_LOCATION: 'moon' });
      expect(await api.exited).toBe(1);
      expect(api.stderr.join('').split('\n')).toEqual([
        expect.stringMatching(/^Invalid configuration: CORS_ORIGINS="example.com": /),
        expect.stringMatching(/^Invalid configuration: BIGQUERY_LOCATION="moon": /),
        expect.stringMatching(/^Invalid configuration: DUCKDB_PATH="\/proc\/x\/y.duckdb": /),
        '',
      ]);
      expect(api.stdout.join('')).toBe('');
    });

    it('stops with one line, no stack trace, when the port is in use', async () => {
      const blocker = createServer();
      await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
      const { port } = blocker.address() as AddressInfo;
      try {
        const api = new ApiProcess({ DUCKDB_PATH: tempDuckDbPath() }, port);
        expect(await api.exited).toBe(1);
        expect(api.stderr.join('')).toBe(
          `Cannot listen on 127.0.0.1 port ${port}: the port is already in use: stop the other process or set PORT\n`,
        );
      } finally {
        await new Promise((resolve) => blocker.close(resolve));
      }
    });

    it('listens on 127.0.0.1 by default, not on every interface', async () => {
      const api = new ApiProcess({ DUCKDB_PATH: tempDuckDbPath() }, await freePort());
      await api.listening();
      api.signal('SIGTERM');
      expect(await api.exited).toBe(0);
      expect(api.lines().find((l) => l.includes('Listening'))).toMatch(/host=127\.0\.0\.1 port=\d+/);
    });

    it("sets the server's timeouts for Google's front end, and an idle kept-alive connection does not delay the stop", async () => {
      const api = new ApiProcess({ DUCKDB_PATH: tempDuckDbPath() }, await freePort());
      await api.listening();
      // Read back from the server object by the Listening line: what is set, not what was meant.
      expect(api.lines().find((l) => l.includes('Listening'))).toMatch(
        / keepAliveTimeout=620000 headersTimeout=10000 requestTimeout=30000$/,
      );
      const agent = new Agent({ keepAlive: true });
      const res = await new Promise<IncomingMessage>((resolve) => httpGet(`${api.url}/healthz`, { agent }, resolve));
      expect(res.headers['keep-alive']).toBe('timeout=620'); // longer than the front end's 600 s
      res.resume();
      await once(res, 'end');
      api.signal('SIGTERM'); // the connection stays open and idle in the agent
      expect(await api.exited).toBe(0);
      agent.destroy();
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
      // No CORS_ORIGINS in production: every browser's website event would be refused. Said loudly.
      expect(entries).toContainEqual(
        expect.objectContaining({
          severity: 'WARNING',
          message: expect.stringMatching(/^No website origin allowed: CORS_ORIGINS is empty/),
        }),
      );
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
          DUCKDB_PATH: unopenableDuckDbPath(),
          CORS_ORIGINS: 'https://www.example.com',
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
      expect(entries.filter((e) => /No website origin/.test(e.message))).toEqual([]);
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
      const api = new ApiProcess(
        // Many requests a second from one address: above the default rate limit, which is not under test here.
        { DUCKDB_PATH: duckdbPath, FLUSH_INTERVAL_MS: '60000', BATCH_SIZE: '10000', RATE_LIMIT_REQUESTS: '1000000' },
        await freePort(),
      );
      await api.listening();
      let accepted = 0;
      let stop = false;
      // The signal goes out mid-stream: once 100 events are in, however long that takes on this machine.
      let streaming!: () => void;
      const midStream = new Promise<void>((resolve) => (streaming = resolve));
      const sender = async (n: number) => {
        for (let i = 0; !stop; i++) {
          try {
            const res = await fetch(`${api.url}/events/website`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', 'user-agent': BROWSER_UA },
              body: JSON.stringify({ ...websitePageview, path: `/s${n}/${i}` }),
            });
            if (res.status === 204 && ++accepted === 100) streaming();
          } catch {
            return; // the server has stopped taking connections
          }
        }
      };
      const senders = Array.from({ length: 8 }, (_, n) => sender(n));
      await midStream;
      const acceptedBeforeSignal = accepted;
      api.signal('SIGTERM');
      const code = await api.exited;
      stop = true;
      await Promise.all(senders);
      expect(code).toBe(0);
      expect(acceptedBeforeSignal).toBeGreaterThanOrEqual(100);
      const rows = await queryDuckDb(duckdbPath, 'SELECT count(*)::INT AS n, count(DISTINCT path)::INT AS paths FROM website_events');
      expect(rows).toEqual([{ n: accepted, paths: accepted }]);
    });
  });
});
