// The jest run that Stryker uses for `npm run test:mutation`: the same specs as `npm test`, minus
// those that run the built code (`node dist/...`). They exercise dist/, never the mutated sources
// in Stryker's sandbox, so they could kill no mutant, and would need a build per run.
const base = require('./jest.config');

const config = { ...base };
delete config.globalSetup; // builds dist/ for those only

module.exports = {
  ...config,
  testPathIgnorePatterns: [
    '/node_modules/',
    '<rootDir>/test/admin\\.e2e-spec\\.ts$',
    '<rootDir>/test/app-engine\\.e2e-spec\\.ts$',
    '<rootDir>/test/bigquery-sigterm\\.e2e-spec\\.ts$',
    '<rootDir>/test/contracts\\.e2e-spec\\.ts$',
    '<rootDir>/test/warehouse-setup\\.e2e-spec\\.ts$',
  ],
};
