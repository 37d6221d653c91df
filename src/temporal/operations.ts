import {
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Config } from '../config';
import type { Application } from '../domain/application';
import { discordUserIdOf, hasDiscordUserId, isValidDiscordId } from '../domain/discord-id';
import { ApplicationIdKey, ConnectionStateKey, OrganizationIdKey, RoleAssignmentStateKey } from './search-attributes';
import {
  connectionWorkflowId,
  retrySignal,
  reviewUpdate,
  roleAssignmentQuery,
  roleWorkflowId,
  type ConnectInput,
  type ConnectionState,
  type ConnectResult,
  type ReviewRequest,
} from './shared';

// Workflow types by name: the API process never loads workflow code.
const CONNECT = 'connectDiscordWorkflow';
const DISCONNECT = 'disconnectDiscordWorkflow';
const ROLE = 'applicationRoleWorkflow';

export class ReviewRefusedError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

export interface TemporalDeps {
  temporal: Client;
  config: Config;
  /** Test hook: the automatic re-check schedule of applicants who have not joined the server. */
  memberRecheckDelaysMs?: number[];
}

/** What starting an application's role workflow takes, whichever way it is started. */
function roleWorkflowStart(
  { config, memberRecheckDelaysMs }: TemporalDeps,
  input: { applicationId: string; organizationId: string },
  roleAssignmentState: string,
) {
  return {
    workflowId: roleWorkflowId(input.applicationId),
    taskQueue: config.temporal.taskQueue,
    args: [
      {
        applicationId: input.applicationId,
        organizationId: input.organizationId,
        discordTaskQueue: config.temporal.discordTaskQueue,
        ...(memberRecheckDelaysMs ? { memberRecheckDelaysMs } : {}),
      },
    ] as [unknown],
    typedSearchAttributes: [
      { key: OrganizationIdKey, value: input.organizationId },
      { key: ApplicationIdKey, value: input.applicationId },
      { key: RoleAssignmentStateKey, value: roleAssignmentState },
    ],
  };
}

/**
 * The role state a review will most likely lead to, as the start value of the search attribute:
 * when it is right (nearly always) the workflow need not upsert it. The workflow corrects it when not.
 */
function expectedRoleState(review: ReviewRequest, customData: unknown): string {
  if (review.decision === 'reject') return 'not_applicable';
  if (!hasDiscordUserId(customData)) return 'not_applicable';
  return isValidDiscordId(discordUserIdOf(customData)) ? 'pending' : 'failed';
}

/** `promise`'s value, or `fallback` once `ms` have passed. */
async function within<T, F>(promise: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<F>((resolve) => (timer = setTimeout(() => resolve(fallback), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Applies a review through the application's workflow (update-with-start): the answer is the
 * application after the workflow's first step, e.g. `approved_pending_role`.
 */
export async function reviewApplication(
  deps: TemporalDeps,
  input: { applicationId: string; organizationId: string; review: ReviewRequest; customData: unknown },
): Promise<Application> {
  const start = new WithStartWorkflowOperation(ROLE, {
    ...roleWorkflowStart(deps, input, expectedRoleState(input.review, input.customData)),
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
  try {
    return (await deps.temporal.workflow.executeUpdateWithStart(reviewUpdate, {
      args: [input.review],
      startWorkflowOperation: start,
    })) as Application;
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
      throw new ReviewRefusedError(err.cause.type ?? 'refused', err.cause.message);
    }
    throw err;
  }
}

/** Signals a manual retry (starting the workflow if none runs), then waits briefly for it to be picked up. */
export async function requestRoleRetry(
  deps: TemporalDeps,
  input: { applicationId: string; organizationId: string; requestedBy: string; retryCountBefore: number },
): Promise<void> {
  const handle = await deps.temporal.workflow.signalWithStart(ROLE, {
    ...roleWorkflowStart(deps, input, 'failed'),
    signal: retrySignal,
    signalArgs: [{ requestedBy: input.requestedBy }],
  });
  const deadline = Date.now() + 3_000;
  while (Date.now() < deadline) {
    const progress = await handle.query(roleAssignmentQuery).catch(() => undefined);
    if (progress && (progress.manualRetries > input.retryCountBefore || progress.roleStatus !== 'failed')) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

export type StartConnectionResult = ConnectResult | { outcome: 'in_progress' } | { outcome: 'still_running' };

/**
 * Starts a run of the organization's connection workflow ID, connecting or disconnecting: conflict
 * policy FAIL, so a concurrent attempt is refused (null), never raced.
 */
async function startConnectionRun(
  { temporal, config }: TemporalDeps,
  workflowType: typeof CONNECT | typeof DISCONNECT,
  organizationId: string,
  args: Record<string, unknown>,
  connectionState: ConnectionState,
) {
  try {
    return await temporal.workflow.start(workflowType, {
      workflowId: connectionWorkflowId(organizationId),
      taskQueue: config.temporal.taskQueue,
      workflowIdConflictPolicy: 'FAIL',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      // Ends a run stuck beyond its own 90 s deadline; the next attempt can start at once.
      workflowExecutionTimeout: '2 minutes',
      args: [{ ...args, discordTaskQueue: config.temporal.discordTaskQueue }],
      typedSearchAttributes: [
        { key: OrganizationIdKey, value: organizationId },
        { key: ConnectionStateKey, value: connectionState },
      ],
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return null;
    throw err;
  }
}

/** Starts the organization's connection workflow and waits up to `waitMs` for its result. */
export async function startConnection(
  deps: TemporalDeps,
  input: Omit<ConnectInput, 'approvedRoleName'>,
  waitMs = 5_000,
): Promise<StartConnectionResult> {
  const handle = await startConnectionRun(
    deps,
    CONNECT,
    input.organizationId,
    { ...input, approvedRoleName: deps.config.discord.approvedRoleName },
    'connecting',
  );
  if (!handle) return { outcome: 'in_progress' };
  return await within(handle.result() as Promise<ConnectResult>, waitMs, { outcome: 'still_running' } as const);
}

/** Starts the disconnection under the same workflow ID as connecting, so the two cannot race. */
export async function startDisconnection(
  deps: TemporalDeps,
  input: { organizationId: string; userId: string },
  waitMs = 5_000,
): Promise<'done' | 'in_progress' | 'still_running'> {
  const handle = await startConnectionRun(deps, DISCONNECT, input.organizationId, input, 'connected');
  if (!handle) return 'in_progress';
  return await within(
    handle.result().then(() => 'done' as const),
    waitMs,
    'still_running' as const,
  );
}

/** Whether the organization's connection workflow is running now. */
export async function connectionWorkflowRunning(temporal: Client, organizationId: string): Promise<boolean> {
  try {
    const description = await temporal.workflow.getHandle(connectionWorkflowId(organizationId)).describe();
    return description.status.name === 'RUNNING';
  } catch {
    return false;
  }
}
