import { forEachConcurrently } from '../src/concurrency.js';
import { listAssignmentsToRedrive } from '../src/db/applications.js';
import type { Pool } from '../src/db/pool.js';
import { REDRIVE_AFTER_RECONNECT } from '../src/domain/application-lifecycle.js';

export interface RoleWorkflowActivityDeps {
  pool: Pool;
  /** Sends the `redrive` signal to one application's role workflow (starting it from the stored row if none runs). */
  redrive: (application: { id: string; organizationId: string }) => Promise<void>;
  /** Creates (or removes) an organization's reconciliation schedule. */
  reconciliationSchedule?: {
    ensure: (organizationId: string) => Promise<void>;
    remove: (organizationId: string) => Promise<void>;
  };
}

/** At most this many signals in flight at once. */
const CONCURRENCY = 16;

/** Activities that talk to other workflows through the Temporal client. */
export function createRoleWorkflowActivities({ pool, redrive, reconciliationSchedule }: RoleWorkflowActivityDeps) {
  return {
    /** A connection succeeded: its organization's reconciliation schedule exists from now on. */
    async ensureReconciliationSchedule(input: { organizationId: string }): Promise<void> {
      await reconciliationSchedule?.ensure(input.organizationId);
    },

    /** A disconnection: nothing left to reconcile. */
    async deleteReconciliationSchedule(input: { organizationId: string }): Promise<void> {
      await reconciliationSchedule?.remove(input.organizationId);
    },

    /**
     * One page of the re-drive after a new connection: every assignment of the organization, after
     * `afterId`, that failed because of the connection (not connected, bot removed, permissions,
     * role deleted) or is still running, gets the `redrive` signal. The workflow re-drives only a
     * failure the connection caused, and without spending a manual retry, so a page sent twice is
     * harmless.
     */
    async redriveAssignments(input: {
      organizationId: string;
      afterId: string | null;
      limit: number;
    }): Promise<{ signalled: number; lastId: string | null }> {
      const page = await listAssignmentsToRedrive(pool, {
        organizationId: input.organizationId,
        errorTypes: REDRIVE_AFTER_RECONNECT,
        afterId: input.afterId,
        limit: input.limit,
      });
      await forEachConcurrently(page, CONCURRENCY, redrive);
      return { signalled: page.length, lastId: page.at(-1)?.id ?? input.afterId };
    },
  };
}

export type RoleWorkflowActivities = ReturnType<typeof createRoleWorkflowActivities>;
