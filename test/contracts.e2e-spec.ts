import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, tempDuckDbPath } from './support/app';

const run = promisify(execFile);
const ROOT = join(__dirname, '..');

describe('A table contract that does not match sql/ (e2e)', () => {
  it('stops the built app before it listens, with one line naming the table and the column', async () => {
    // The build beside an edited copy of sql/, as a deploy with a forgotten contract change would have it.
    const dir = mkdtempSync(join(tmpdir(), 'contract-'));
    try {
      cpSync(join(ROOT, 'dist'), join(dir, 'dist'), { recursive: true });
      cpSync(join(ROOT, 'sql'), join(dir, 'sql'), { recursive: true });
      symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
      const ddl = join(dir, 'sql/tables/telemetry.sql');
      writeFileSync(ddl, readFileSync(ddl, 'utf8').replace('environmentsCount INT64 NOT NULL', 'environmentsCount FLOAT64 NOT NULL'));

      const result = await run(process.execPath, ['dist/main.js'], {
        cwd: dir,
        timeout: 20_000, // an app that does not stop would listen forever
        env: { PATH: process.env.PATH, PORT: String(await freePort()), DUCKDB_PATH: tempDuckDbPath() },
      }).then(
        ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
        (error: { code: number; stdout: string; stderr: string }) => error,
      );
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(
        'Table contract telemetry: column environmentsCount is FLOAT64 NOT NULL in sql/tables/telemetry.sql but INT64 NOT NULL in the contract\n',
      );
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});
