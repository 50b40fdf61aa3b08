import { LoggerService } from '@nestjs/common';

/** Cloud Logging's severity names, keyed by Nest's log levels. */
const SEVERITY = {
  fatal: 'CRITICAL',
  error: 'ERROR',
  warn: 'WARNING',
  log: 'INFO',
  debug: 'DEBUG',
  verbose: 'DEBUG',
} as const;
type Level = keyof typeof SEVERITY;

/** A structured log entry: a message plus context fields (table, rows, reason, ...). */
export interface LogEntry {
  message: string;
  [field: string]: unknown;
}

/**
 * One logger, two formats. In production every line is one JSON object on stdout that
 * Cloud Logging parses (`severity`, `message`, context fields); locally it is a readable line.
 * Messages may be strings or LogEntry objects; Nest passes the context (class name) last.
 * Not Nest 11's ConsoleLogger({ json: true }): it writes `level` (not `severity`), nests object
 * messages under `message` instead of lifting their fields, and sends errors to stderr.
 */
export class AppLogger implements LoggerService {
  constructor(
    private readonly json: boolean,
    private readonly out: (line: string) => void = (line) => process.stdout.write(line),
  ) {}

  log(message: unknown, ...params: unknown[]) {
    this.write('log', message, params);
  }
  error(message: unknown, ...params: unknown[]) {
    this.write('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]) {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]) {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]) {
    this.write('verbose', message, params);
  }
  fatal(message: unknown, ...params: unknown[]) {
    this.write('fatal', message, params);
  }

  private write(level: Level, message: unknown, params: unknown[]): void {
    const context = typeof params.at(-1) === 'string' ? (params.pop() as string) : undefined;
    // Nest's error(message, stack, context) convention.
    const stack = level === 'error' && typeof params[0] === 'string' && params[0].includes('\n    at ') ? params[0] : undefined;
    const { message: text, ...fields } = toEntry(message);
    if (this.json) {
      const entry = { severity: SEVERITY[level], message: text, ...fields, context, stack_trace: stack, time: new Date().toISOString() };
      this.out(`${JSON.stringify(entry)}\n`);
      return;
    }
    const head = `${new Date().toISOString()} ${level.toUpperCase().padEnd(7)} ${context ? `[${context}] ` : ''}`;
    this.out(`${head}${formatText(message)}\n${stack ? `${stack}\n` : ''}`);
  }
}

/** A log message as one readable line: the text, then its context fields as key=value. */
export function formatText(message: unknown): string {
  const { message: text, ...fields } = toEntry(message);
  const extras = Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v as string)}`);
  return [text, ...extras].join(' ');
}

function toEntry(message: unknown): LogEntry {
  if (message instanceof Error) return { message: message.message };
  if (message && typeof message === 'object' && 'message' in message) return message as LogEntry;
  return { message: typeof message === 'string' ? message : JSON.stringify(message) };
}
