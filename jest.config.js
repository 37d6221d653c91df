import { register } from 'tsx/cjs/api';

// globalSetup and globalTeardown load sources outside Jest's module map: tsx resolves their `./x.js`
// imports to the .ts files there.
register();

/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts', '.tsx'],
  transform: {
    '^.+\\.tsx?$': [
      '@swc/jest',
      {
        jsc: {
          parser: { syntax: 'typescript', tsx: true },
          target: 'es2022',
          transform: { react: { runtime: 'automatic' } },
        },
        module: { type: 'es6' },
      },
    ],
  },
  // Sources import each other as `./x.js` (what Node runs once compiled); the test runner reads the .ts.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testMatch: ['<rootDir>/test/**/*.test.ts', '<rootDir>/test/**/*.test.tsx', '<rootDir>/src/**/*.test.ts'],
  // test/cluster runs alone, on a cluster of its own: npm run test:cluster (jest.cluster.config.js).
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/cluster/'],
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  // The longest files first, also on a clean clone, where Jest has no durations of its own yet.
  testSequencer: '<rootDir>/test/helpers/test-sequencer.ts',
  testTimeout: 60_000,
  // Three test files at once on CI's 2 cores: the slow files spend much of their time waiting
  // (activity timeouts after a killed worker, retry back-offs, the Temporal client's retries, timed
  // faults) with the CPU idle, and a third file fills those waits. Clean-clone runs of the whole
  // suite measured 442 to 450 s of Jest with 2 workers and 351 to 368 s with 3, all passing.
  maxWorkers: 3,
};
