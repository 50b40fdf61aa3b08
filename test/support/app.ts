import { INestApplication, LoggerService } from '@nestjs/common';
import { Test, TestingModuleBuilder } from '@nestjs/testing';
import { DuckDBInstance } from '@duckdb/node-api';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppModule } from '../../src/app.module';
import { configureApp } from '../../src/app.setup';
import { PrototypedExpressAdapter } from '../../src/express-adapter';
import { AppConfig } from '../../src/config/app-config';
import { formatText } from '../../src/logging/app-logger';

/** Log lines the app wrote, by level, for assertions on what gets logged. */
export class CapturedLogs implements LoggerService {
  readonly lines: { level: string; message: string }[] = [];
  log = (message: unknown) => this.push('log', message);
  error = (message: unknown) => this.push('error', message);
  warn = (message: unknown) => this.push('warn', message);
  debug = (message: unknown) => this.push('debug', message);
  verbose = (message: unknown) => this.push('verbose', message);
  fatal = (message: unknown) => this.push('fatal', message);
  private push(level: string, message: unknown) {
    this.lines.push({ level, message: formatText(message) });
  }
  matching(level: string, pattern: RegExp): string[] {
    return this.lines.filter((l) => l.level === level && pattern.test(l.message)).map((l) => l.message);
  }
}

export interface TestApp {
  app: INestApplication;
  config: AppConfig;
  logs: CapturedLogs;
}

export function tempDuckDbPath(): string {
  return join(mkdtempSync(join(tmpdir(), 'analytics-test-')), 'analytics.duckdb');
}

/**
 * A path the configuration accepts (a writable file) but DuckDB cannot open (not a database):
 * the warehouse is down for as long as the app runs.
 */
export function unopenableDuckDbPath(): string {
  const path = tempDuckDbPath();
  writeFileSync(path, 'not a DuckDB database\n'.repeat(512));
  return path;
}

/** The real app, configured as main.ts configures it, on the environment given (plus test-friendly defaults). */
export async function startApp(
  env: Record<string, string> = {},
  override: (builder: TestingModuleBuilder) => TestingModuleBuilder = (builder) => builder,
): Promise<TestApp> {
  const config = AppConfig.fromEnv({
    DUCKDB_PATH: tempDuckDbPath(),
    FLUSH_INTERVAL_MS: '50',
    RETRY_BASE_DELAY_MS: '20',
    // Tests send bursts from one address; the rate limit's own tests set their limit.
    RATE_LIMIT_REQUESTS: '1000000',
    ...env,
  });
  const moduleRef = await override(Test.createTestingModule({ imports: [AppModule.forRoot(config)] })).compile();
  const logs = new CapturedLogs();
  const app = moduleRef.createNestApplication(new PrototypedExpressAdapter(), { bodyParser: false, logger: logs });
  configureApp(app);
  await app.init();
  return { app, config, logs };
}

/**
 * Reads a DuckDB file with a fresh instance, as any other tool would (the app must be closed
 * first), with the analytics schema current so that tables and views need no qualifier.
 */
export async function queryDuckDb(path: string, sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(path);
  const connection = await instance.connect();
  try {
    await connection.run("SET schema = 'analytics'");
    const reader = await connection.runAndReadAll(sql);
    return reader.getRowObjectsJS();
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until check() returns true or the time is up; returns the last result. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return true;
    await sleep(20);
  }
  return check();
}

/** Polls /healthz until a started API answers (bounded: 20 s); the error carries what the process printed. */
export async function untilListening(url: string, output: () => string): Promise<void> {
  const end = Date.now() + 20_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) return;
    } catch {
      if (Date.now() > end) throw new Error(`API not listening: ${output()}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
