import { proxyLocalActivities } from '@temporalio/workflow';
import type { DatabaseActivities, HousekeepingResult } from '../activities/index.js';

const db = proxyLocalActivities<DatabaseActivities>({ startToCloseTimeout: '1 minute' });

/**
 * Run hourly by the `housekeeping` schedule: expired sessions and applicant sign-ins, spent OAuth
 * nonces, old idempotency keys, and applicants' Discord tokens older than 30 days go.
 */
export async function housekeepingWorkflow(): Promise<HousekeepingResult> {
  return await db.deleteExpired();
}
