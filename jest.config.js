/** Jest runs TypeScript through ts-jest without per-file type checks (isolatedModules in tsconfig.json); `tsc --noEmit` checks types once. */
module.exports = {
  // Node, with what a passing file prints held back and shown only on failure.
  testEnvironment: '<rootDir>/test/quiet-environment.ts',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.tsx?$': ['ts-jest', { diagnostics: false }],
  },
  testTimeout: 60000,
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  maxWorkers: 2,
};
