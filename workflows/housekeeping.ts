import { proxyLocalActivities } from '@temporalio/workflow';
import type { DatabaseActivities } from '../activities';

const db = proxyLocalActivities<DatabaseActivities>({ startToCloseTimeout: '1 minute' });

/** Run hourly by the `housekeeping` schedule: expired sessions, spent OAuth nonces and old idempotency keys go. */
export async function housekeepingWorkflow(): Promise<{
  sessions: number;
  oauthStates: number;
  idempotencyKeys: number;
}> {
  return await db.deleteExpired();
}
