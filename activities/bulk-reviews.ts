import { ApplicationFailure } from '@temporalio/common';
import { heartbeat } from '@temporalio/activity';
import { markBulkReviewRecorded, recordBulkReviewChunk, type RecordedItem } from '../src/db/bulk-reviews';
import { withTransaction, type Pool } from '../src/db/pool';

export interface BulkReviewActivityDeps {
  pool: Pool;
  /** Tells an application's role workflow that its stored decision changed (starting one if none runs). */
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
        // Started by the API before its transaction committed: the row appears, or the API failed.
        throw ApplicationFailure.retryable(`bulk review ${input.bulkReviewId} is not stored (yet)`, 'bulk_not_found');
      }
      let next = 0;
      const worker = async () => {
        while (next < result.recorded.length) {
          await handOff(result.recorded[next++]!);
          if (next % 100 === 0) heartbeat(next);
        }
      };
      await Promise.all(Array.from({ length: Math.min(CONCURRENCY, result.recorded.length) }, worker));
      return { recorded: result.recorded.length, refused: result.refused };
    },

    async markBulkReviewRecorded(input: { bulkReviewId: string }): Promise<void> {
      await markBulkReviewRecorded(pool, input.bulkReviewId);
    },
  };
}

export type BulkReviewActivities = ReturnType<typeof createBulkReviewActivities>;
