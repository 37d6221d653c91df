/** What `GET /api/bulk-reviews/:bulkId` reports: where a bulk review recorded in the background stands. */
import type { ReviewDecision } from './application-lifecycle.js';

/** The most IDs one bulk review may name. */
export const MAX_BULK_REVIEW_IDS = 10_000;

/** An ID a bulk review did not decide (not found, already decided, listed twice), and why. */
export interface BulkRefusal {
  id: string;
  error: { code: string; message: string };
}

export interface BulkReviewProgress {
  bulkId: string;
  decision: ReviewDecision;
  /** The IDs asked for. */
  total: number;
  /** Decisions stored. */
  recorded: number;
  /** Recorded applications whose role change is done: granted for an approval, nothing left to take back for a rejection. */
  assigned: number;
  /** Recorded applications whose role change failed (they wait for a retry or a fix). */
  failed: number;
  /** IDs not decided; `refused` lists the first 100 at most, in request order. */
  refusedCount: number;
  refused: BulkRefusal[];
  /** Every ID is recorded or refused, and no recorded application's role change is still in flight. */
  done: boolean;
  createdAt: string;
}
