// Unit specs live beside the code as *.spec.ts; end-to-end specs in test/ as *.e2e-spec.ts.
module.exports = {
  rootDir: '.',
  roots: ['<rootDir>/src', '<rootDir>/test'],
  testRegex: '\\.(spec|e2e-spec)\\.ts$',
  moduleFileExtensions: ['ts', 'js', 'json'],
  transform: { '^.+\\.ts$': 'ts-jest' },
  globalSetup: '<rootDir>/test/support/global-setup.js',
  testEnvironment: 'node',
  testTimeout: 60000,
};
