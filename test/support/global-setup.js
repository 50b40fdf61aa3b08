// Builds dist/ when src/ changed since the last build (as `npm start` does): the process-level
// tests spawn `node dist/main.js`, exactly what App Engine runs.
const { execFileSync } = require('node:child_process');
const { join } = require('node:path');

module.exports = () => {
  const root = join(__dirname, '../..');
  execFileSync(process.execPath, [join(root, 'scripts/build-if-stale.js')], { cwd: root, stdio: 'inherit' });
};
