import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { Config } from '../config.js';
import type { housekeepingWorkflow } from '../../workflows/housekeeping.js';

export const HOUSEKEEPING_SCHEDULE_ID = 'housekeeping';

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
