/** Jest runs TypeScript through ts-jest without per-file type checks; `tsc --noEmit` checks types once. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.tsx?$': ['ts-jest', { isolatedModules: true, diagnostics: false }],
  },
  testTimeout: 60000,
  maxWorkers: 2,
};
