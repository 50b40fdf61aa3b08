// The jest run that Stryker uses for `npm run test:mutation`: the specs of the code it mutates.
// Left out: specs that run the built code (`node dist/...`: they never see the mutated sources in
// Stryker's sandbox), and end-to-end specs about other things (views, report, README, the fake
// BigQuery itself, the 2,000-event BigQuery burst) that pass events through the mutated code and
// would rerun, at several seconds each, for most of its mutants on a 2-core machine.
const base = require('./jest.config');

const config = { ...base };
delete config.globalSetup; // builds dist/, for the specs left out here

module.exports = {
  ...config,
  testRegex: [
    // Unit specs beside the code.
    '/src/.*\\.spec\\.ts$',
    // What is stored, what is refused, and how write failures are classified, end to end.
    '/test/events\\.e2e-spec\\.ts$',
    '/test/bigquery-job-failures\\.e2e-spec\\.ts$',
  ],
};
