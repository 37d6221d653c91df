import { proxyActivities } from '@temporalio/workflow';
import type { BulkReviewActivities } from '../activities/index.js';
import type { BulkReviewInput } from '../src/temporal/shared.js';

const activities = proxyActivities<BulkReviewActivities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '1 minute',
  // Until it works (a database away for an hour delays the bulk, it does not lose it); only a bulk
  // whose row never committed stops, after a few attempts (the activity decides).
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' },
});

/** IDs per chunk: one transaction each, and a short history (10,000 IDs make 20 chunks). */
export const BULK_REVIEW_CHUNK = 500;

/**
 * The intake of one bulk review (ID `bulk-review:<bulkReviewId>`): records the decision for every
 * ID, chunk by chunk, and hands each recorded application to its own role workflow, which grants
 * (or takes back) the role at Discord's rate. Progress is read from Postgres
 * (`GET /api/bulk-reviews/:id`), so this run only has to finish.
 */
export async function bulkReviewWorkflow(input: BulkReviewInput): Promise<{ recorded: number; refused: number }> {
  let recorded = 0;
  let refused = 0;
  for (let from = 0; from < input.total; from += BULK_REVIEW_CHUNK) {
    const chunk = await activities.recordBulkReviewChunk({
      bulkReviewId: input.bulkReviewId,
      from,
      to: Math.min(from + BULK_REVIEW_CHUNK, input.total),
    });
    recorded += chunk.recorded;
    refused += chunk.refused;
  }
  await activities.markBulkReviewRecorded({ bulkReviewId: input.bulkReviewId });
  return { recorded, refused };
}
