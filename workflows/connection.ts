import {
  CancellationScope,
  isCancellation,
  ParentClosePolicy,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  startChild,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type {
  DatabaseActivities,
  DiscordActivities,
  ReconciliationActivities,
  RoleWorkflowActivities,
} from '../activities/index.js';
import { MISSING_PERMISSIONS_MESSAGE } from '../src/domain/discord-messages.js';
import { ConnectionStateKey, OrganizationIdKey } from '../src/temporal/search-attributes.js';
import {
  connectionProgressQuery,
  type ConnectInput,
  type ConnectionErrorCode,
  type ConnectionProgress,
  type ConnectionState,
  type ConnectResult,
  type DisconnectInput,
} from '../src/temporal/shared.js';
import { summarizeFailure } from './errors.js';
import { redriveAssignmentsWorkflow } from './redrive.js';

const db = proxyLocalActivities<DatabaseActivities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '500ms', maximumInterval: '10s', maximumAttempts: 10 },
});

/**
 * Schedules are created and deleted through the Temporal client: local activities, so that the
 * admin waiting for the connection's answer does not wait for a task queue round trip as well.
 */
const scheduling = proxyLocalActivities<RoleWorkflowActivities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '500ms', maximumInterval: '10s', maximumAttempts: 10 },
});

const discordActivities = (taskQueue: string) =>
  proxyActivities<DiscordActivities>({
    taskQueue,
    // A check makes a few requests, each waiting for its slot of the shared rate.
    startToCloseTimeout: '60s',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 5 },
  });

/** Failures of a check that say what is wrong with the bot's access (others only say the check failed). */
const DEFINITE_ACCESS_FAILURES = [
  'missing_permissions',
  'missing_access',
  'unknown_guild',
  'unknown_role',
  'unsafe_role',
  'invalid_bot_token',
  'grants_paused',
];

/**
 * Assignments that failed because of the connection run again, without spending manual retries:
 * in a workflow of its own, which outlives this one.
 */
async function startRedrive(organizationId: string): Promise<void> {
  await startChild(redriveAssignmentsWorkflow, {
    workflowId: `redrive-assignments:${organizationId}:${workflowInfo().runId}`,
    args: [{ organizationId }],
    parentClosePolicy: ParentClosePolicy.ABANDON,
    typedSearchAttributes: [{ key: OrganizationIdKey, value: organizationId }],
  });
}

/** The admin's fix for a connection: the same sentence as for a grant, then one more step. */
export const CONNECT_MISSING_PERMISSIONS_MESSAGE = `${MISSING_PERMISSIONS_MESSAGE} Then connect again.`;

class ConnectError extends Error {
  constructor(
    readonly code: ConnectionErrorCode,
    message: string,
  ) {
    super(message);
  }
}

async function step<T>(code: ConnectionErrorCode, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isCancellation(err)) throw err;
    const failure = summarizeFailure(err);
    if (failure.type === 'missing_permissions')
      throw new ConnectError('missing_permissions', CONNECT_MISSING_PERMISSIONS_MESSAGE);
    if (failure.type === 'unsafe_role') throw new ConnectError('unsafe_role', failure.message);
    throw new ConnectError(code, failure.message);
  }
}

/**
 * Connects an organization's Discord server: one run per organization at a time (workflow ID
 * `discord-connection:<organizationId>`, started with conflict policy FAIL).
 */
export async function connectDiscordWorkflow(
  input: ConnectInput & { discordTaskQueue: string },
): Promise<ConnectResult> {
  const progress: ConnectionProgress = { state: 'connecting', step: 'starting', error: null };
  setHandler(connectionProgressQuery, () => progress);
  const discord = discordActivities(input.discordTaskQueue);

  if (!(await db.beginConnection({ organizationId: input.organizationId }))) {
    progress.state = 'connected';
    progress.step = 'done';
    // The run was started as `connecting`: say what it found, or it looks like a stuck attempt.
    upsertSearchAttributes([{ key: ConnectionStateKey, value: 'connected' }]);
    return { outcome: 'already_connected' };
  }
  upsertSearchAttributes([{ key: ConnectionStateKey, value: 'connecting' }]);

  let result: ConnectResult;
  // Once the code is exchanged the bot is in this guild, whatever fails next: remember where.
  let joined: { id: string; name: string } | undefined;
  try {
    result = await CancellationScope.withTimeout(input.attemptTimeoutMs ?? 90_000, async () => {
      progress.step = 'exchanging_code';
      const { guild } = await step('token_exchange_failed', () =>
        discord.exchangeOAuthCode({ code: input.code, redirectUri: input.redirectUri }),
      );
      joined = guild;
      progress.step = 'checking_permissions';
      const access = await step('unexpected_error', () => discord.inspectBotAccess({ guildId: guild.id }));
      if (!access.canManageRoles) throw new ConnectError('missing_permissions', CONNECT_MISSING_PERMISSIONS_MESSAGE);
      progress.step = 'ensuring_role';
      const role = await step('role_creation_failed', () =>
        discord.ensureApprovedRole({
          guildId: guild.id,
          name: input.approvedRoleName,
          reason: 'Role granted to approved applicants',
        }),
      );
      // Creating a role moves the others up: compare positions as they are now.
      const after = role.created
        ? await step('unexpected_error', () => discord.inspectBotAccess({ guildId: guild.id }))
        : access;
      if (role.position >= after.highestRolePosition) {
        throw new ConnectError('missing_permissions', CONNECT_MISSING_PERMISSIONS_MESSAGE);
      }
      progress.step = 'saving';
      const saved = { id: role.id, name: role.name, created: role.created };
      await step('save_config_failed', () =>
        db.saveConnection({ organizationId: input.organizationId, userId: input.userId, guild, role: saved }),
      );
      return { outcome: 'connected', guild, role: saved } as const;
    });
  } catch (err) {
    const failure: { code: ConnectionErrorCode; message: string } =
      err instanceof ConnectError
        ? { code: err.code, message: err.message }
        : isCancellation(err)
          ? {
              code: 'unexpected_error',
              message: 'The connection attempt took too long and was stopped. Please try again.',
            }
          : { code: 'unexpected_error', message: summarizeFailure(err).message };
    result = { outcome: 'failed', errorCode: failure.code, message: failure.message };
  }

  if (result.outcome === 'failed') {
    await db.failConnection({ organizationId: input.organizationId, message: result.message, guild: joined });
    progress.state = 'error';
    progress.error = result.message;
  } else {
    progress.state = 'connected';
  }
  progress.step = 'done';
  upsertSearchAttributes([{ key: ConnectionStateKey, value: progress.state }]);
  if (result.outcome === 'connected') {
    // Runs started before these steps existed complete without them (see "Changing a workflow" in
    // the README): the re-drive of what the connection may fix, and the reconciliation schedule.
    // Both at once: the admin's callback waits for this result.
    const redrive = patched('redrive-after-reconnect');
    const schedule = patched('reconciliation-schedule');
    await Promise.all([
      redrive ? startRedrive(input.organizationId) : undefined,
      schedule ? scheduling.ensureReconciliationSchedule({ organizationId: input.organizationId }) : undefined,
    ]);
  }
  return result;
}

/** Disconnects: the bot leaves the guild, the row becomes `disconnected`. Same workflow ID as connecting. */
export async function disconnectDiscordWorkflow(input: DisconnectInput & { discordTaskQueue: string }): Promise<void> {
  const progress: ConnectionProgress = { state: 'connected', step: 'leaving_guild', error: null };
  setHandler(connectionProgressQuery, () => progress);
  const discord = discordActivities(input.discordTaskQueue);
  const { guildId } = await db.loadConnection({ organizationId: input.organizationId });
  let note: string | undefined;
  if (guildId) {
    try {
      const { alreadyGone } = await discord.leaveGuild({ guildId });
      if (alreadyGone) note = 'The bot had already left the server.';
    } catch (err) {
      // Disconnecting must not be blocked by Discord: stop using the guild, and say what happened.
      note = `The bot could not leave the server: ${summarizeFailure(err).message}`;
    }
  }
  await db.markDisconnected({ organizationId: input.organizationId, userId: input.userId, guildId, note });
  if (patched('reconciliation-schedule')) {
    await scheduling.deleteReconciliationSchedule({ organizationId: input.organizationId });
  }
  progress.state = 'disconnected';
  progress.step = 'done';
  upsertSearchAttributes([{ key: ConnectionStateKey, value: 'disconnected' }]);
}

/**
 * "Check now" (same workflow ID as connecting, so the two cannot race): the bot's health check of
 * reconciliations (the token works, the bot is in the server and manages roles, every chosen role
 * exists, is safe and sits below the bot), recorded as a run. A connection in `error` (the circuit
 * breaker, or a health check) found fixed is `connected` again and its paused assignments are
 * re-driven, without spending manual retries; a connected one found broken goes to `error`.
 */
export async function checkDiscordConnectionWorkflow(
  input: DisconnectInput & { discordTaskQueue: string },
): Promise<ConnectResult> {
  const progress: ConnectionProgress = { state: 'error', step: 'checking_permissions', error: null };
  setHandler(connectionProgressQuery, () => progress);
  const discord = discordActivities(input.discordTaskQueue);
  const { guildId, roleId, state } = await db.loadConnection({ organizationId: input.organizationId });
  let result: ConnectResult;
  let checked = false;
  // A connected organization is checked too: a rejected bot token (401) pauses every guild
  // without touching their connections, and a check that finds it accepted again resumes them.
  if ((state !== 'error' && state !== 'connected') || !guildId || !roleId) {
    result = {
      outcome: 'failed',
      errorCode: 'unexpected_error',
      message: 'There is no connection to check: connect Discord in Settings.',
    };
  } else {
    let problem: string | null;
    /** The check could not finish (Discord or the database did not answer): it changes nothing. */
    let inconclusive: string | null = null;
    if (patched('bot-health')) {
      // The health check of reconciliations, recorded as a run Settings shows (trigger `check`).
      const health = proxyActivities<ReconciliationActivities>({
        taskQueue: input.discordTaskQueue,
        startToCloseTimeout: '60s',
        retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 5 },
      });
      const runId = uuid4();
      await db.beginReconciliation({
        runId,
        organizationId: input.organizationId,
        trigger: 'check',
        workflowId: workflowInfo().workflowId,
        firstRunId: workflowInfo().runId,
      });
      try {
        const { findings } = await health.checkBotHealth({ organizationId: input.organizationId });
        await db.recordHealth({ runId, findings });
        problem = findings[0]?.message ?? null;
        await db.finishReconciliation({ runId });
      } catch (err) {
        problem = inconclusive = summarizeFailure(err).message;
        await db.finishReconciliation({ runId, error: `The check could not finish: ${inconclusive}` });
      }
    } else {
      try {
        ({ problem } = await discord.checkBotAccess({ guildId, roleId }));
      } catch (err) {
        const failure = summarizeFailure(err);
        problem = failure.message;
        if (!DEFINITE_ACCESS_FAILURES.includes(failure.type)) inconclusive = failure.message;
      }
    }
    if (inconclusive !== null) {
      result = {
        outcome: 'failed',
        errorCode: 'unexpected_error',
        message: `The check could not finish, nothing was changed: ${inconclusive}`,
      };
    } else if (problem === null && (state === 'connected' || (await db.resumeConnection(input)))) {
      result = {
        outcome: 'connected',
        guild: { id: guildId, name: '' },
        role: { id: roleId, name: '', created: false },
      };
    } else {
      checked = true;
      const what = problem?.replace(/^Grants are paused: /, '') ?? 'the connection changed meanwhile.';
      const message = `Grants are ${state === 'error' ? 'still ' : ''}paused: ${what}`;
      await db.failConnection({ organizationId: input.organizationId, message });
      result = { outcome: 'failed', errorCode: 'missing_permissions', message };
    }
  }
  progress.state = result.outcome === 'connected' ? 'connected' : checked ? 'error' : (state as ConnectionState);
  progress.error = result.outcome === 'failed' ? result.message : null;
  progress.step = 'done';
  upsertSearchAttributes([{ key: ConnectionStateKey, value: progress.state }]);
  if (result.outcome === 'connected') await startRedrive(input.organizationId);
  return result;
}
