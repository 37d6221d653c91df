import path from 'node:path';
import Sequencer from '@jest/test-sequencer';
import type { Test } from '@jest/test-result';

/**
 * Seconds each file took in a clean-clone run of the whole suite with 2 workers on 2 otherwise idle
 * cores (the CLI and Temporal-unavailable files: after their own speed-ups): what Jest's own cache
 * of durations would say, for the runs that have none. CI starts from a clean clone, where Jest
 * would order the files by size and could leave a 70-second file for last with the other workers
 * idle. Files not listed, and not in Jest's cache, run first (Jest's own rule for files without a
 * duration). Refresh from `jest --json` (endTime - startTime per file) when a file's time changes a lot.
 */
export const KNOWN_DURATIONS_S: Record<string, number> = {
  'test/fuzz/schemathesis.test.ts': 99,
  'test/discord-connection.test.ts': 97,
  'test/role-assignment-scale.test.ts': 72,
  'test/role-assignment-races.test.ts': 63,
  'test/e2e/admin-ui.test.ts': 52,
  'test/cli.test.ts': 50,
  'test/discord-rate-and-breaker.test.ts': 35,
  'test/role-assignment.test.ts': 31,
  'test/reconciliation.test.ts': 28,
  'test/applicant-status-and-email.test.ts': 40,
  'test/e2e/forms-and-review.test.ts': 30,
  'test/forms-api.test.ts': 15,
  'test/audit-and-timeline.test.ts': 8,
  'test/web/forms-and-review.test.tsx': 5,
  'test/forms-rules.test.ts': 1,
  'test/applications-api.test.ts': 27,
  'test/auth.test.ts': 26,
  'test/temporal-unavailable.test.ts': 22,
  'test/workflows/role-workflow.test.ts': 22,
  'test/newcomer-clone.test.ts': 20,
  'test/verified-applicants.test.ts': 20,
  'test/temporal-tls.test.ts': 18,
  'test/web/components.test.tsx': 17,
  'test/reconciliation-scale.test.ts': 17,
  'test/production-image.test.ts': 17,
  'test/upgrades.test.ts': 12,
  'test/workflow-bundle-cache.test.ts': 11,
  'test/roles-and-health-api.test.ts': 10,
  'test/api-description.test.ts': 9,
  'test/discord-connection-concurrency.test.ts': 9,
  'test/start-failures.test.ts': 8,
  'test/metrics.test.ts': 8,
  'test/discord-connection-attacks.test.ts': 7,
  'test/logging.test.ts': 6,
  'test/replay/replay.test.ts': 6,
  'test/eslint-layering.test.ts': 5,
  'test/readiness.test.ts': 4,
  'test/housekeeping.test.ts': 4,
  'test/embedded-postgres.test.ts': 3,
  'test/health.test.ts': 3,
  'test/migrations.test.ts': 3,
  'test/sandbox.test.ts': 2,
  'test/web-routes.test.ts': 2,
  'test/sandbox-users.test.ts': 2,
  'test/temporal-cli.test.ts': 2,
  'test/sandbox-members.test.ts': 1,
  'test/sandbox-openapi.test.ts': 1,
  'test/discord-errors.test.ts': 1,
  'test/discord-oauth.test.ts': 1,
  'test/discord-id.test.ts': 1,
  'test/oauth-state.test.ts': 1,
  'test/config.test.ts': 1,
  'test/roles-and-drift-rules.test.ts': 0,
  'test/web/session.test.tsx': 0,
  'test/application-lifecycle.test.ts': 0,
  'test/token-crypto.test.ts': 0,
  // Skipped unless CAPTURE_HISTORIES=1 (npm run histories:capture).
  'test/replay/capture.test.ts': 0,
};

/** Jest's cache entry of a file: [0 failed or 1 passed, milliseconds]. */
type CacheEntry = [number, number] | undefined;

/**
 * Jest's sequencer with the durations above for the files its cache has none for, and Jest's own
 * rules otherwise: files that failed last time first, then files without any duration, then the
 * longest first (ties keep Jest's order, by file size). The longest first: whichever worker is free
 * takes the next file, so the run ends on short files rather than on a long one.
 */
export default class SlowFirstSequencer extends Sequencer {
  override async sort(tests: Test[]): Promise<Test[]> {
    const sorted = await super.sort(tests);
    const failed = (test: Test) => (this._getCache(test)[test.path] as CacheEntry)?.[0] === 0;
    for (const test of sorted) {
      if (test.duration !== undefined) continue;
      const relative = path.relative(test.context.config.rootDir, test.path).split(path.sep).join('/');
      const known = KNOWN_DURATIONS_S[relative];
      if (known !== undefined) test.duration = known * 1000;
    }
    return sorted
      .map((test, index) => ({ test, index, failed: failed(test) }))
      .sort(
        (a, b) =>
          Number(b.failed) - Number(a.failed) ||
          Number(a.test.duration !== undefined) - Number(b.test.duration !== undefined) ||
          (b.test.duration ?? 0) - (a.test.duration ?? 0) ||
          a.index - b.index,
      )
      .map(({ test }) => test);
  }
}
