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
  // Spread over the period by organization (a stable offset), so that every organization's health
  // check does not hit Discord at the same instant.
  const offsetMs = offsetWithin(organizationId, periodMs);
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
      spec: { intervals: [{ every: periodMs, offset: offsetMs }] },
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
    const interval = current.spec.intervals?.[0];
    const sameQueue = current.action.type === 'startWorkflow' && current.action.taskQueue === action.taskQueue;
    if (sameArgs && sameQueue && interval?.every === periodMs && (interval.offset ?? 0) === offsetMs) return;
    await handle.update((previous) => ({
      ...previous,
      spec: { intervals: [{ every: periodMs, offset: offsetMs }] },
      action,
    }));
  }
}

/** A stable offset in [0, periodMs) for an organization, whole seconds. */
export function offsetWithin(organizationId: string, periodMs: number): number {
  let hash = 0;
  for (const ch of organizationId) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return (hash % Math.max(1, Math.floor(periodMs / 1000))) * 1000;
}

/** Deletes an organization's reconciliation schedule (it disconnected); none is fine. */
export async function deleteReconciliationSchedule(temporal: Client, organizationId: string): Promise<void> {
  try {
    await temporal.schedule.getHandle(reconciliationScheduleId(organizationId)).delete();
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
  }
}
