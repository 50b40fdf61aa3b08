// Builds dist/ only when it is missing or older than what it is built from, so that
// `npm start` on a built app starts at once (the full build takes about 15 s) and a fresh
// clone or an edited src/ still gets a current build. `npm run build` always builds.
// Why not a `prepare` script (build on `npm ci`)? It would not notice a later edit of src/,
// and App Engine, which runs `gcp-build`, would build twice.
const { execFileSync } = require('node:child_process');
const { readdirSync, statSync, utimesSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
/** What tsc reads for dist/ (sql/ is read at run time from the repository, not built). */
const INPUTS = ['src', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json'];
/** Written after each build this script runs (tsc is incremental: it leaves unchanged outputs alone). */
const STAMP = join(root, 'dist', '.build-stamp');

/** Newest modification time under path; directories count, so that a deleted file shows too. */
function newest(path) {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  let max = stat.mtimeMs;
  for (const entry of readdirSync(path)) {
    if (!entry.endsWith('.spec.ts')) max = Math.max(max, newest(join(path, entry)));
  }
  return max;
}

const built = statSync(STAMP, { throwIfNoEntry: false })?.mtimeMs ?? 0;
const source = Math.max(...INPUTS.map((input) => newest(join(root, input))));
if (source >= built) {
  process.stderr.write(built ? 'src/ changed since the last build: building dist/...\n' : 'building dist/ (once)...\n');
  const started = Date.now();
  try {
    execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  } catch {
    process.exit(1); // tsc has printed the errors
  }
  // Stamped with the build's start, so that an edit made during the build is seen next time.
  writeFileSync(STAMP, '');
  utimesSync(STAMP, new Date(started), new Date(started));
}
