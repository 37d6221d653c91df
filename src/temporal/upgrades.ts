import type { Client } from '@temporalio/client';
import { ReplayError, Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import type { Config } from '../config.js';
import { roleAssignmentStatuses, type RoleAssignmentStatus } from '../domain/application-lifecycle.js';
import { roleWorkflowStart } from './operations.js';
import type { applicationRoleWorkflow } from '../../workflows/role-assignment.js';
import { ApplicationIdKey, OrganizationIdKey, RoleAssignmentStateKey } from './search-attributes.js';

type History = Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>>;

/**
 * Whether a run's history replays on the workflow code of `workflowBundlePath`: false when the code
 * issues other commands than the history holds (a determinism violation) or fails on what the
 * history gives it (say, an activity result of an older shape).
 */
export async function replaysOn(workflowBundlePath: string, history: History, workflowId: string): Promise<boolean> {
  try {
    await Worker.runReplayHistory({ workflowBundle: { codePath: workflowBundlePath } }, history, workflowId);
    return true;
  } catch (err) {
    if (err instanceof DeterminismViolationError || err instanceof ReplayError) return false;
    throw err;
  }
}

/**
 * Replaces running role-assignment runs by new runs that start from the application's stored row
 * (conflict policy TERMINATE_EXISTING, so the swap is atomic). Safe at any moment: the state lives
 * in Postgres, every step is idempotent, and Discord role changes are idempotent, so a run cut
 * short mid-grant is simply granted again. With `onlyIncompatible`, only the runs whose history no
 * longer replays on the deployed workflow code are replaced: the way out of a workflow change too
 * large for `patched()`.
 */
export async function restartRoleWorkflows(
  deps: { temporal: Client; config: Pick<Config, 'temporal'> },
  options: { organizationId?: string; onlyIncompatible?: { workflowBundlePath: string } },
): Promise<{ checked: number; restarted: string[] }> {
  const filters = ['WorkflowType = "applicationRoleWorkflow"', 'ExecutionStatus = "Running"'];
  if (options.organizationId) filters.push(`OrganizationId = "${options.organizationId.replace(/"/g, '')}"`);
  // The list first: restarting changes the very set of running workflows being listed.
  const runs = [];
  for await (const run of deps.temporal.workflow.list({ query: filters.join(' AND ') })) runs.push(run);
  const restarted: string[] = [];
  for (const run of runs) {
    const applicationId = run.typedSearchAttributes.get(ApplicationIdKey);
    const organizationId = run.typedSearchAttributes.get(OrganizationIdKey);
    if (!applicationId || !organizationId) continue;
    if (options.onlyIncompatible) {
      const history = await deps.temporal.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
      if (await replaysOn(options.onlyIncompatible.workflowBundlePath, history, run.workflowId)) continue;
    }
    const state = run.typedSearchAttributes.get(RoleAssignmentStateKey);
    const roleState: RoleAssignmentStatus = (roleAssignmentStatuses as readonly string[]).includes(state ?? '')
      ? (state as RoleAssignmentStatus)
      : 'pending';
    await deps.temporal.workflow.start<typeof applicationRoleWorkflow>('applicationRoleWorkflow', {
      ...roleWorkflowStart(deps, { applicationId, organizationId }, roleState),
      workflowIdConflictPolicy: 'TERMINATE_EXISTING',
    });
    restarted.push(run.workflowId);
  }
  return { checked: runs.length, restarted };
}
