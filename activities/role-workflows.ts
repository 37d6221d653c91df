import { listFailedAssignments } from '../src/db/applications';
import type { Pool } from '../src/db/pool';
import { REDRIVE_AFTER_RECONNECT } from '../src/domain/application-lifecycle';

export interface RoleWorkflowActivityDeps {
  pool: Pool;
  /** Sends the `redrive` signal to one application's role workflow (starting it from the stored row if none runs). */
  redrive: (application: { id: string; organizationId: string }) => Promise<void>;
}

/** At most this many signals in flight at once. */
const CONCURRENCY = 16;
const PAGE = 1_000;

/** Activities that talk to other workflows through the Temporal client. */
export function createRoleWorkflowActivities({ pool, redrive }: RoleWorkflowActivityDeps) {
  return {
    /**
     * After a successful connection: every assignment of the organization that failed because of
     * the connection (not connected, bot removed, permissions, role deleted) runs again, without
     * spending a manual retry. Signals are idempotent in effect (the workflow re-drives only a
     * failure), so running this twice is harmless.
     */
    async redriveAfterReconnect(input: { organizationId: string }): Promise<{ redriven: number }> {
      const failed = await listFailedAssignments(pool, {
        organizationId: input.organizationId,
        errorTypes: REDRIVE_AFTER_RECONNECT,
        limit: PAGE * 10,
      });
      let next = 0;
      const worker = async () => {
        while (next < failed.length) await redrive(failed[next++]!);
      };
      await Promise.all(Array.from({ length: Math.min(CONCURRENCY, failed.length) }, worker));
      return { redriven: failed.length };
    },
  };
}

export type RoleWorkflowActivities = ReturnType<typeof createRoleWorkflowActivities>;
