import { ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { Config } from '../config.js';
import type { housekeepingWorkflow } from '../../workflows/housekeeping.js';
import type { reconcileOrganizationWorkflow } from '../../workflows/reconciliation.js';
import { OrganizationIdKey } from './search-attributes.js';
import { reconciliationScheduleId } from './shared.js';

export const HOUSEKEEPING_SCHEDULE_ID = 'housekeeping';

type WorkflowName = keyof typeof import('../../workflows/index.js');
const RECONCILE = 'reconcileOrganizationWorkflow' satisfies WorkflowName;

/** Creates the hourly housekeeping schedule unless it exists (every worker start asks; the first one creates it). */
export async function ensureHousekeepingSchedule(temporal: Client, config: Config): Promise<void> {
  try {
    await temporal.schedule.create<typeof housekeepingWorkflow>({
      scheduleId: HOUSEKEEPING_SCHEDULE_ID,
      spec: { intervals: [{ every: '1 hour' }] },
      action: {
        type: 'startWorkflow',
        workflowType: 'housekeepingWorkflow',
        workflowId: 'housekeeping',
        taskQueue: config.temporal.taskQueue,
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP },
    });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
}

/**
 * Creates a connected organization's reconciliation schedule (`reconcile:<organizationId>`, every
 * DISCORD_RECONCILE_INTERVAL_MINUTES, a run at a time) unless it exists; an existing one whose
 * period or queues differ from the configuration is updated.
 */
export async function ensureReconciliationSchedule(
  temporal: Client,
  config: Pick<Config, 'temporal' | 'discord'>,
  organizationId: string,
): Promise<void> {
  const periodMs = config.discord.reconcileIntervalMinutes * 60_000;
  const args = [
    {
      organizationId,
      trigger: 'schedule' as const,
      discordTaskQueue: config.temporal.discordConnectionTaskQueue,
      backgroundTaskQueue: config.temporal.discordBackgroundTaskQueue,
      periodMs,
    },
  ] as const;
  const scheduleId = reconciliationScheduleId(organizationId);
  const action = {
    type: 'startWorkflow' as const,
    workflowType: RECONCILE,
    workflowId: scheduleId,
    taskQueue: config.temporal.taskQueue,
    args: [...args] as Parameters<typeof reconcileOrganizationWorkflow>,
    typedSearchAttributes: [{ key: OrganizationIdKey, value: organizationId }],
  };
  try {
    await temporal.schedule.create<typeof reconcileOrganizationWorkflow>({
      scheduleId,
      spec: { intervals: [{ every: periodMs }] },
      action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' },
      memo: { organizationId },
    });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    const handle = temporal.schedule.getHandle(scheduleId);
    const current = await handle.describe();
    const sameArgs =
      JSON.stringify(current.action.type === 'startWorkflow' ? current.action.args : null) === JSON.stringify(args);
    const every = current.spec.intervals?.[0]?.every;
    if (sameArgs && every === periodMs) return;
    await handle.update((previous) => ({ ...previous, spec: { intervals: [{ every: periodMs }] }, action }));
  }
}

/** Deletes an organization's reconciliation schedule (it disconnected); none is fine. */
export async function deleteReconciliationSchedule(temporal: Client, organizationId: string): Promise<void> {
  try {
    await temporal.schedule.getHandle(reconciliationScheduleId(organizationId)).delete();
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
  }
}
