import base from './jest.config.js';

/**
 * `npm run test:cluster`: test/cluster/ alone, against the cluster it starts itself (the Temporal
 * server built from source, see src/dev/cluster/): without the default run's shared dev server.
 */
/** @type {import('jest').Config} */
export default {
  ...base,
  testMatch: ['<rootDir>/test/cluster/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  globalSetup: undefined,
  globalTeardown: undefined,
  testTimeout: 15 * 60_000,
  maxWorkers: 1,
};
