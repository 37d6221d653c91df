import { continueAsNew, proxyActivities } from '@temporalio/workflow';
import type { RoleWorkflowActivities } from '../activities/index.js';

const activities = proxyActivities<RoleWorkflowActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', maximumInterval: '30s' },
});

const PAGE = 200;
/** Pages per run: a run's history stays short however many assignments there are. */
const PAGES_PER_RUN = 25;

/**
 * Started by a successful connection (ID `redrive-assignments:<organizationId>:<connection run>`):
 * sends the `redrive` signal, page by page, to the organization's assignments that the connection
 * may fix. A workflow of its own, so the connection's two-minute limit never cuts it short.
 */
export async function redriveAssignmentsWorkflow(input: {
  organizationId: string;
  afterId?: string | null;
  signalled?: number;
}): Promise<{ signalled: number }> {
  let afterId = input.afterId ?? null;
  let signalled = input.signalled ?? 0;
  for (let page = 0; page < PAGES_PER_RUN; page += 1) {
    const result = await activities.redriveAssignments({ organizationId: input.organizationId, afterId, limit: PAGE });
    signalled += result.signalled;
    afterId = result.lastId;
    if (result.signalled < PAGE) return { signalled };
  }
  return await continueAsNew<typeof redriveAssignmentsWorkflow>({
    organizationId: input.organizationId,
    afterId,
    signalled,
  });
}
