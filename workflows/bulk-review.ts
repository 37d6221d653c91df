import { patched, proxyActivities } from '@temporalio/workflow';
import type { BulkReviewActivities, EmailActivities } from '../activities/index.js';
import { DECISION_EMAIL_HEARTBEAT_TIMEOUT, DECISION_EMAIL_RETRY } from '../src/domain/decision-email.js';
import type { BulkReviewInput } from '../src/temporal/shared.js';

const activities = proxyActivities<BulkReviewActivities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '1 minute',
  // Until it works (a database away for an hour delays the bulk, it does not lose it); only a bulk
  // whose row never committed stops, after a few attempts (the activity decides).
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' },
});

// A chunk's decision emails (up to 500 messages, one after the other), retried like a review's.
const email = proxyActivities<EmailActivities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: DECISION_EMAIL_HEARTBEAT_TIMEOUT,
  retry: { ...DECISION_EMAIL_RETRY, nonRetryableErrorTypes: ['smtp_not_configured'] },
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
  // With SMTP_URL set, each recorded decision is emailed (see activities/email.ts), in the
  // background: the intake and the grants do not wait for the SMTP server. Bulks started before
  // decision emails existed replay without them.
  const emailsOn = input.decisionEmails === true && patched('decision-email');
  const emails: Array<Promise<unknown>> = [];
  for (let from = 0; from < input.total; from += BULK_REVIEW_CHUNK) {
    const range = { bulkReviewId: input.bulkReviewId, from, to: Math.min(from + BULK_REVIEW_CHUNK, input.total) };
    const chunk = await activities.recordBulkReviewChunk(range);
    recorded += chunk.recorded;
    refused += chunk.refused;
    // Failed for good: the decisions stand without their emails (each row says why).
    if (emailsOn && chunk.recorded > 0) emails.push(email.sendBulkDecisionEmails(range).catch(() => undefined));
  }
  await activities.markBulkReviewRecorded({ bulkReviewId: input.bulkReviewId });
  await Promise.all(emails);
  return { recorded, refused };
}
