import { AppLogger } from './app-logger';

describe('AppLogger', () => {
  const capture = (json: boolean) => {
    const lines: string[] = [];
    return { logger: new AppLogger(json, (line) => lines.push(line)), lines };
  };

  it('writes one JSON object per line with Cloud Logging severity and context fields in production', () => {
    const { logger, lines } = capture(true);
    logger.log('Listening', 'Bootstrap');
    logger.warn({ message: 'Batch write failed', table: 'telemetry', rows: 3, attempt: 1 }, 'BatchWriter');
    logger.error('boom', 'Error: boom\n    at x (y.js:1:1)', 'Main');
    logger.debug('detail');
    expect(lines.every((l) => l.endsWith('\n') && l.split('\n').length === 2)).toBe(true);
    const entries = lines.map((l) => JSON.parse(l));
    expect(entries.map((e) => e.severity)).toEqual(['INFO', 'WARNING', 'ERROR', 'DEBUG']);
    expect(entries[0]).toMatchObject({ message: 'Listening', context: 'Bootstrap' });
    expect(entries[1]).toMatchObject({ message: 'Batch write failed', table: 'telemetry', rows: 3, attempt: 1, context: 'BatchWriter' });
    expect(entries[2]).toMatchObject({ message: 'boom', context: 'Main', stack_trace: 'Error: boom\n    at x (y.js:1:1)' });
    expect(Date.parse(entries[0].time)).not.toBeNaN();
  });

  it('writes readable text locally', () => {
    const { logger, lines } = capture(false);
    logger.warn({ message: 'Batch write failed', table: 'telemetry', rows: 3 }, 'BatchWriter');
    expect(lines[0]).toMatch(/^\S+Z WARN {4}\[BatchWriter\] Batch write failed table=telemetry rows=3\n$/);
    expect(() => JSON.parse(lines[0])).toThrow();
  });
});
