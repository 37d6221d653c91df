import { ApplicationFailure } from '@temporalio/common';
import { activityInfo, heartbeat } from '@temporalio/activity';
import { markBulkReviewRecorded, recordBulkReviewChunk, type RecordedItem } from '../src/db/bulk-reviews.js';
import { forEachConcurrently } from '../src/concurrency.js';
import { withTransaction, type Pool } from '../src/db/pool.js';
import { bulkReviewItemsTotal, countRoleChange } from '../src/metrics.js';

export interface BulkReviewActivityDeps {
  pool: Pool;
  /**
   * Tells an application's role workflow that its stored decision changed: starting one when the
   * role must change, otherwise only telling a run that may be open.
   */
  handOff: (item: RecordedItem) => Promise<void>;
}

/** Hand-offs in flight at once: each is one call to the Temporal server, no worker round trip. */
const CONCURRENCY = 32;

/** The durable intake of a bulk review: its decisions recorded chunk by chunk, each application handed to its workflow. */
export function createBulkReviewActivities({ pool, handOff }: BulkReviewActivityDeps) {
  return {
    /**
     * Records the decision for positions [from, to) (one transaction of set-based statements), then
     * hands every recorded application of the range to its role workflow. Safe to run again: the
     * recorded items are skipped, and a second hand-off only makes the workflow read its row again.
     */
    async recordBulkReviewChunk(input: {
      bulkReviewId: string;
      from: number;
      to: number;
    }): Promise<{ recorded: number; refused: number }> {
      const result = await withTransaction(pool, (tx) => recordBulkReviewChunk(tx, input));
      if (!result) {
        // Started by the API before its transaction committed: the row appears in a moment, or
        // the API's commit failed and it never will.
        const message = `bulk review ${input.bulkReviewId} is not stored`;
        if (activityInfo().attempt >= 10) throw ApplicationFailure.nonRetryable(message, 'bulk_not_found');
        throw ApplicationFailure.retryable(message, 'bulk_not_found');
      }
      // Committed: counted once (a retry of the chunk finds these items decided already).
      const { decision, outcomes, grantsFailedAtOnce } = result.decidedNow;
      for (const [outcome, n] of Object.entries(outcomes)) bulkReviewItemsTotal.inc({ decision, outcome }, n);
      for (const errorType of grantsFailedAtOnce) countRoleChange('grant', 'failed', errorType);
      await forEachConcurrently(result.recorded, CONCURRENCY, async (item, index) => {
        await handOff(item);
        if (index % 100 === 99) heartbeat(index + 1);
      });
      return { recorded: result.recorded.length, refused: result.refused };
    },

    async markBulkReviewRecorded(input: { bulkReviewId: string }): Promise<void> {
      await markBulkReviewRecorded(pool, input.bulkReviewId);
    },
  };
}

export type BulkReviewActivities = ReturnType<typeof createBulkReviewActivities>;
