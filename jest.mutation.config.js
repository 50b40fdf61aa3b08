// The jest run that Stryker uses for `npm run test:mutation`: the same specs as `npm test`, minus
// the three that start the built server (`node dist/main.js`). Those exercise dist/, never the
// mutated sources in Stryker's sandbox, so they could kill no mutant and would cost a build per run.
const base = require('./jest.config');

const config = { ...base };
delete config.globalSetup; // builds dist/ for those three only

module.exports = {
  ...config,
  testPathIgnorePatterns: [
    '/node_modules/',
    '<rootDir>/test/app-engine\\.e2e-spec\\.ts$',
    '<rootDir>/test/bigquery-sigterm\\.e2e-spec\\.ts$',
    '<rootDir>/test/warehouse-setup\\.e2e-spec\\.ts$',
  ],
};
