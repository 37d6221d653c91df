import {
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowOptions,
} from '@temporalio/client';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import type { GuildRoles } from '../domain/bot-health.js';
import type { Config } from '../config.js';
import { lifecycleStateOf, reviewEvent, type Application } from '../domain/application.js';
import { transition, type RoleAssignmentStatus } from '../domain/application-lifecycle.js';
import {
  ApplicationIdKey,
  ConnectionStateKey,
  OrganizationIdKey,
  RoleAssignmentStateKey,
} from './search-attributes.js';
import {
  bulkReviewWorkflowId,
  connectionWorkflowId,
  guildRolesWorkflowId,
  redriveSignal,
  roleReapplyWorkflowId,
  stateChangedSignal,
  type BulkReviewInput,
  retrySignal,
  reviewUpdate,
  roleWorkflowId,
  type ConnectInput,
  type ConnectionState,
  type ConnectResult,
  type RetryRequest,
  type ReviewRequest,
  type RoleWorkflowInput,
  type RoleWorkflowOptions,
} from './shared.js';
import type { bulkReviewWorkflow } from '../../workflows/bulk-review.js';
import type {
  checkDiscordConnectionWorkflow,
  connectDiscordWorkflow,
  disconnectDiscordWorkflow,
} from '../../workflows/connection.js';
import type { redriveAssignmentsWorkflow } from '../../workflows/redrive.js';
import type { guildRolesWorkflow, reconcileOrganizationWorkflow } from '../../workflows/reconciliation.js';
import type { applicationRoleWorkflow } from '../../workflows/role-assignment.js';

// Workflow types by name, each start typed by the workflow function's type (`import type`, erased):
// the API process never loads workflow code, and the arguments and results are still checked.
// Each name is checked against what the workflow bundle exports.
type WorkflowName = keyof typeof import('../../workflows/index.js');
const CONNECT = 'connectDiscordWorkflow' satisfies WorkflowName;
const DISCONNECT = 'disconnectDiscordWorkflow' satisfies WorkflowName;
const CHECK = 'checkDiscordConnectionWorkflow' satisfies WorkflowName;
const ROLE = 'applicationRoleWorkflow' satisfies WorkflowName;
const BULK = 'bulkReviewWorkflow' satisfies WorkflowName;
const REDRIVE = 'redriveAssignmentsWorkflow' satisfies WorkflowName;
const GUILD_ROLES = 'guildRolesWorkflow' satisfies WorkflowName;
const RECONCILE = 'reconcileOrganizationWorkflow' satisfies WorkflowName;
type RoleWorkflow = typeof applicationRoleWorkflow;

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
  /** Test hooks of the role workflows started here (re-check schedule, database retry bounds). */
  roleWorkflowOptions?: RoleWorkflowOptions;
}

/** What starting an application's role workflow takes, whichever way it is started. */
export function roleWorkflowStart(
  {
    config,
    roleWorkflowOptions,
  }: {
    config: Pick<Config, 'temporal'> & { mail?: Pick<Config['mail'], 'smtpUrl'> };
    roleWorkflowOptions?: RoleWorkflowOptions;
  },
  input: { applicationId: string; organizationId: string },
  roleAssignmentState: RoleAssignmentStatus,
) {
  const args: RoleWorkflowInput = {
    applicationId: input.applicationId,
    organizationId: input.organizationId,
    discordTaskQueue: config.temporal.discordTaskQueue,
    ...(config.mail?.smtpUrl ? { decisionEmails: true } : {}),
    ...roleWorkflowOptions,
  };
  return {
    workflowId: roleWorkflowId(input.applicationId),
    taskQueue: config.temporal.taskQueue,
    args: [args] as [RoleWorkflowInput],
    typedSearchAttributes: [
      { key: OrganizationIdKey, value: input.organizationId },
      { key: ApplicationIdKey, value: input.applicationId },
      { key: RoleAssignmentStateKey, value: roleAssignmentState },
    ],
  };
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
 * The run the update reached finished (or continued as new) before handling it: the update changed
 * nothing, and sent again it reaches the next run or starts a new one.
 */
function reachedAFinishingRun(err: unknown): boolean {
  if (err instanceof WorkflowNotFoundError) return true;
  const cause = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
  // The server's own failure for an update the run never completed.
  return cause instanceof ApplicationFailure && cause.type === 'AcceptedUpdateCompletedWorkflow';
}

/**
 * Applies a review through the application's workflow (update-with-start): the answer is the
 * application after the workflow's first step, e.g. `approved_pending_role`. `review.requestId` is
 * the request's idempotency key: the workflow's database step keeps the first answer under it, so
 * the same request again, even in a later run, gets that answer, and the same key with another
 * decision or note is refused. (Each call gets a fresh update ID: Temporal would otherwise repeat a
 * transient failure of the first call, such as `database_unavailable`, to every retry.)
 */
export async function reviewApplication(
  deps: TemporalDeps,
  input: { application: Application; review: ReviewRequest & { requestId: string } },
): Promise<Application> {
  const { application: app } = input;
  // The role state the review will most likely lead to, as the start value of the search attribute:
  // when it is right (nearly always) the workflow need not upsert it.
  const expected = transition(lifecycleStateOf(app), reviewEvent(app, input.review.decision));
  const roleState = expected.ok ? expected.change.roleStatus : app.roleAssignment.status;
  for (let attempt = 1; ; attempt += 1) {
    const start = new WithStartWorkflowOperation<RoleWorkflow>(ROLE, {
      ...roleWorkflowStart(deps, { applicationId: app.id, organizationId: app.organizationId }, roleState),
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
    try {
      return await deps.temporal.workflow.executeUpdateWithStart(reviewUpdate, {
        args: [input.review],
        startWorkflowOperation: start,
      });
    } catch (err) {
      if (attempt < 3 && reachedAFinishingRun(err)) continue;
      if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
        throw new ReviewRefusedError(err.cause.type ?? 'refused', err.cause.message);
      }
      throw err;
    }
  }
}

/**
 * Sends the `retry` signal (starting the workflow from the stored row if no run is open). The
 * workflow judges it against the state machine; `requestId` makes a repeated request count once.
 */
export async function requestRoleRetry(
  deps: TemporalDeps,
  input: { applicationId: string; organizationId: string; request: RetryRequest },
): Promise<void> {
  await deps.temporal.workflow.signalWithStart<RoleWorkflow, [RetryRequest?]>(ROLE, {
    ...roleWorkflowStart(deps, input, 'failed'),
    signal: retrySignal,
    signalArgs: [input.request],
  });
}

/**
 * Tells an application's role workflow that its stored decision changed (a bulk review recorded
 * it), starting the workflow if none runs: a call to the server, no wait for a worker.
 */
export async function handOffToRoleWorkflow(
  deps: { temporal: Client; config: Pick<Config, 'temporal'>; roleWorkflowOptions?: RoleWorkflowOptions },
  input: { applicationId: string; organizationId: string; roleStatus: RoleAssignmentStatus },
): Promise<void> {
  // Nothing to do at Discord (rejected while pending, approved without an account): only a run
  // that may be open (waiting on an older failure) needs to know.
  if (input.roleStatus === 'not_applicable') {
    try {
      await deps.temporal.workflow.getHandle(roleWorkflowId(input.applicationId)).signal(stateChangedSignal);
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
    return;
  }
  await deps.temporal.workflow.signalWithStart<RoleWorkflow>(ROLE, {
    ...roleWorkflowStart(deps, input, input.roleStatus),
    signal: stateChangedSignal,
    signalArgs: [],
  });
}

/**
 * Re-drives an organization's assignments that its connection (or the bot token) held back, as a
 * successful connection does: `redriveAssignmentsWorkflow`, ID `redrive-assignments:<org>:<reason>`.
 */
export async function startRedrive(
  deps: { temporal: Client; config: Pick<Config, 'temporal'> },
  input: { organizationId: string; reason: string },
): Promise<void> {
  await deps.temporal.workflow.start<typeof redriveAssignmentsWorkflow>(REDRIVE, {
    workflowId: `redrive-assignments:${input.organizationId}:${input.reason}`,
    taskQueue: deps.config.temporal.taskQueue,
    workflowIdConflictPolicy: 'USE_EXISTING',
    args: [{ organizationId: input.organizationId }],
    typedSearchAttributes: [{ key: OrganizationIdKey, value: input.organizationId }],
  });
}

/** Starts a bulk review's intake workflow. */
export async function startBulkReview(
  deps: { temporal: Client; config: Pick<Config, 'temporal'> & { mail?: Pick<Config['mail'], 'smtpUrl'> } },
  input: BulkReviewInput,
): Promise<void> {
  await deps.temporal.workflow.start<typeof bulkReviewWorkflow>(BULK, {
    workflowId: bulkReviewWorkflowId(input.bulkReviewId),
    taskQueue: deps.config.temporal.taskQueue,
    workflowIdConflictPolicy: 'USE_EXISTING',
    args: [{ ...input, ...(deps.config.mail?.smtpUrl ? { decisionEmails: true } : {}) }],
    typedSearchAttributes: [{ key: OrganizationIdKey, value: input.organizationId }],
  });
}

/** Sends the `redrive` signal: a failure the bot's connection caused runs again, without spending a manual retry. */
export async function requestRoleRedrive(
  deps: { temporal: Client; config: Pick<Config, 'temporal'>; roleWorkflowOptions?: RoleWorkflowOptions },
  input: { applicationId: string; organizationId: string },
): Promise<void> {
  await deps.temporal.workflow.signalWithStart<RoleWorkflow>(ROLE, {
    ...roleWorkflowStart(deps, input, 'failed'),
    signal: redriveSignal,
    signalArgs: [],
  });
}

export type StartConnectionResult = ConnectResult | { outcome: 'in_progress' } | { outcome: 'still_running' };

/**
 * The options of a run of the organization's connection workflow ID, connecting or disconnecting:
 * conflict policy FAIL, so a concurrent attempt is refused (see `unlessRunning`), never raced.
 */
function connectionRun(
  { config }: TemporalDeps,
  organizationId: string,
  connectionState: ConnectionState,
): WorkflowOptions {
  return {
    workflowId: connectionWorkflowId(organizationId),
    taskQueue: config.temporal.taskQueue,
    workflowIdConflictPolicy: 'FAIL',
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    // Ends a run stuck beyond its own 90 s deadline; the next attempt can start at once.
    workflowExecutionTimeout: '2 minutes',
    typedSearchAttributes: [
      { key: OrganizationIdKey, value: organizationId },
      { key: ConnectionStateKey, value: connectionState },
    ],
  };
}

/** The started run's handle, or null when a run of the same workflow ID is open. */
async function unlessRunning<H>(start: Promise<H>): Promise<H | null> {
  try {
    return await start;
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
  const handle = await unlessRunning(
    deps.temporal.workflow.start<typeof connectDiscordWorkflow>(CONNECT, {
      ...connectionRun(deps, input.organizationId, 'connecting'),
      // Connection work has a Discord queue of its own: never stuck behind a bulk's grants.
      args: [
        {
          ...input,
          approvedRoleName: deps.config.discord.approvedRoleName,
          discordTaskQueue: deps.config.temporal.discordConnectionTaskQueue,
        },
      ],
    }),
  );
  if (!handle) return { outcome: 'in_progress' };
  return await within(handle.result(), waitMs, { outcome: 'still_running' } as const);
}

/** Starts the disconnection under the same workflow ID as connecting, so the two cannot race. */
export async function startDisconnection(
  deps: TemporalDeps,
  input: { organizationId: string; userId: string },
  waitMs = 5_000,
): Promise<'done' | 'in_progress' | 'still_running'> {
  const handle = await unlessRunning(
    deps.temporal.workflow.start<typeof disconnectDiscordWorkflow>(DISCONNECT, {
      ...connectionRun(deps, input.organizationId, 'connected'),
      args: [{ ...input, discordTaskQueue: deps.config.temporal.discordConnectionTaskQueue }],
    }),
  );
  if (!handle) return 'in_progress';
  return await within(
    handle.result().then(() => 'done' as const),
    waitMs,
    'still_running' as const,
  );
}

/** "Check now": re-inspects the bot's access in the paused guild and resumes its grants when fixed. */
export async function startConnectionCheck(
  deps: TemporalDeps,
  input: { organizationId: string; userId: string },
  waitMs = 10_000,
): Promise<StartConnectionResult> {
  const handle = await unlessRunning(
    deps.temporal.workflow.start<typeof checkDiscordConnectionWorkflow>(CHECK, {
      ...connectionRun(deps, input.organizationId, 'error'),
      args: [{ ...input, discordTaskQueue: deps.config.temporal.discordConnectionTaskQueue }],
    }),
  );
  if (!handle) return { outcome: 'in_progress' };
  return await within(handle.result(), waitMs, { outcome: 'still_running' } as const);
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

// --- Roles and reconciliation -------------------------------------------------------------------

/**
 * The guild's roles as Discord shows them now (for the role picker and to check a role setting),
 * through `guildRolesWorkflow` (ID `discord-roles:<organizationId>`: concurrent requests share one
 * run). `ok: false` says why Discord could not answer.
 */
export async function fetchGuildRoles(
  deps: TemporalDeps,
  organizationId: string,
  waitMs = 15_000,
): Promise<{ ok: true; guild: GuildRoles } | { ok: false; message: string }> {
  const handle = await deps.temporal.workflow.start<typeof guildRolesWorkflow>(GUILD_ROLES, {
    workflowId: guildRolesWorkflowId(organizationId),
    taskQueue: deps.config.temporal.taskQueue,
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    workflowExecutionTimeout: '1 minute',
    args: [{ organizationId, discordTaskQueue: deps.config.temporal.discordConnectionTaskQueue }],
    typedSearchAttributes: [{ key: OrganizationIdKey, value: organizationId }],
  });
  const timedOut = { ok: false, message: 'Discord did not answer in time: please try again.' } as const;
  try {
    return await within(
      handle.result().then((guild) => ({ ok: true as const, guild })),
      waitMs,
      timedOut,
    );
  } catch (err) {
    const cause = err instanceof WorkflowFailedError ? err.cause : err;
    const failure = cause instanceof ActivityFailure ? cause.cause : cause;
    return {
      ok: false,
      message:
        failure instanceof ApplicationFailure ? failure.message : 'Discord could not be asked: please try again.',
    };
  }
}

/**
 * Re-applies the organization's roles (as chosen now) to every approved member: a reconciliation
 * run with trigger `reapply` (ID `reconcile-reapply:<organizationId>`; a second request joins the
 * running one).
 */
export async function startRoleReapply(
  deps: TemporalDeps,
  input: { organizationId: string; userId: string },
): Promise<{ workflowId: string; runId: string }> {
  const workflowId = roleReapplyWorkflowId(input.organizationId);
  const handle = await deps.temporal.workflow.start<typeof reconcileOrganizationWorkflow>(RECONCILE, {
    workflowId,
    taskQueue: deps.config.temporal.taskQueue,
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    args: [
      {
        organizationId: input.organizationId,
        trigger: 'reapply',
        discordTaskQueue: deps.config.temporal.discordConnectionTaskQueue,
        backgroundTaskQueue: deps.config.temporal.discordBackgroundTaskQueue,
        periodMs: deps.config.discord.reconcileIntervalMinutes * 60_000,
      },
    ],
    typedSearchAttributes: [{ key: OrganizationIdKey, value: input.organizationId }],
  });
  return { workflowId, runId: handle.firstExecutionRunId };
}
