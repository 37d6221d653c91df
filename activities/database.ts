import { ApplicationFailure } from '@temporalio/common';
import { isDeepStrictEqual } from 'node:util';
import { appendAuditLog, type AuditLogEntry } from '../src/db/audit-log.js';
import { deleteExpiredApplicantSessions } from '../src/db/applicant-sessions.js';
import { deleteExpiredOAuthStateUses } from '../src/db/oauth-state-nonces.js';
import { deleteApplicantTokens, deleteOldApplicantTokens } from '../src/db/applicant-tokens.js';
import { deleteExpiredRateLimitHits } from '../src/db/rate-limits.js';
import { deleteExpiredSessions } from '../src/db/sessions.js';
import { findApplication, lockApplication, writeStateChange } from '../src/db/applications.js';
import {
  beginConnection,
  findDiscordConfig,
  markConnectionResumed,
  saveConnectedConfig,
  setConnectionState,
} from '../src/db/discord-configs.js';
import {
  deleteExpiredIdempotencyKeys,
  findIdempotentResponse,
  saveIdempotentResponse,
} from '../src/db/idempotency-keys.js';
import { pauseConnectedOrganizations } from '../src/db/discord-guard.js';
import { withTransaction, type Pool } from '../src/db/pool.js';
import {
  beginReconciliationRun,
  countSubjectUsers,
  findReconciliationRun,
  finishReconciliationRun,
  forgetGuild,
  lastMemberSource,
  recordRunFindings,
  type MemberSource,
  type ReconciliationTrigger,
} from '../src/db/reconciliation.js';
import type { HealthFinding } from '../src/domain/bot-health.js';
import { deleteOldAuthorizationFailures } from '../src/discord/guard.js';
import { findUserById } from '../src/db/users.js';
import { countRoleChange } from '../src/metrics.js';
import { lifecycleStateOf, reviewEvent, type Application } from '../src/domain/application.js';
import {
  roleResultEvent,
  transition,
  type LifecycleEvent,
  type Refusal,
  type RoleAction,
} from '../src/domain/application-lifecycle.js';
import type { ReviewRequest, StoredRoleState } from '../src/temporal/shared.js';

export interface DatabaseActivityDeps {
  pool: Pool;
}

export type { RoleAction };

function notFound(what: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(`${what} does not exist.`, 'not_found');
}

/** What the hourly housekeeping deleted. */
export interface HousekeepingResult {
  sessions: number;
  oauthStates: number;
  idempotencyKeys: number;
  applicantSessions: number;
  /** Applicants' Discord tokens older than 30 days, whatever they were for. */
  applicantTokens: number;
  /** Requests Discord answered 401 or 403, once outside the circuit breaker's window. */
  authorizationFailures: number;
  /** HTTP rate-limit windows that are over. */
  rateLimitHits: number;
}

/** What a reconciliation run found and did, as its workflow returns it. */
export interface ReconciliationSummary {
  membersChecked: number;
  requests: number;
  driftFound: number;
  repaired: number;
  reported: number;
  membersLeft: number;
  failed: number;
  findings: HealthFinding[];
}

/** What a workflow step's write answers: the machine's refusal (if it refused), and the state stored now. */
export interface StepResult {
  refusal: Refusal | null;
  state: StoredRoleState;
  /** The step had run before under this key: this is its first answer, and nothing was written now. */
  replayed: boolean;
}

export function storedStateOf(app: Application): StoredRoleState {
  return { ...lifecycleStateOf(app), error: app.roleAssignment.error };
}

/**
 * Applies one state-machine event to an application, exactly once per `key`: locks the row, returns
 * the first answer if the key was used already (refusing the key if the request differs), otherwise
 * asks the machine, writes the change with its audit entry, and records the answer under the key.
 */
export async function applyEvent(
  pool: Pool,
  input: {
    key: string;
    applicationId: string;
    organizationId?: string;
    operation: string;
    request: Record<string, unknown>;
    event: (app: Application) => LifecycleEvent;
    review?: { reviewedBy: string; notes: string | null | undefined };
    audit: (before: Application, after: Application) => Pick<AuditLogEntry, 'actorUserId' | 'action' | 'details'>;
  },
): Promise<StepResult & { answer: Application }> {
  return await withTransaction(pool, async (tx) => {
    // The lock comes first: two runs of the same step wait for each other here.
    const app = await lockApplication(tx, input.applicationId);
    if (!app || (input.organizationId !== undefined && app.organizationId !== input.organizationId)) {
      throw notFound('This application');
    }
    const prior = await findIdempotentResponse<{ answer: Application; refusal: Refusal | null }>(tx, input.key);
    if (prior) {
      if (!isDeepStrictEqual(prior.request, input.request)) {
        throw ApplicationFailure.nonRetryable(
          'This idempotency key was already used for a different request.',
          'idempotency_key_reused',
        );
      }
      return { ...prior.response, state: storedStateOf(app), replayed: true };
    }
    const decided = transition(lifecycleStateOf(app), input.event(app));
    let answer = app;
    if (decided.ok) {
      answer = await writeStateChange(tx, { id: app.id, change: decided.change, review: input.review });
      await appendAuditLog(tx, {
        organizationId: app.organizationId,
        subjectType: 'application',
        subjectId: app.id,
        ...input.audit(app, answer),
      });
      // The applicant's Discord tokens serve one grant: once it is done (or will not happen), they go.
      if (answer.roleAssignment.status === 'success' || answer.status === 'Rejected') {
        await deleteApplicantTokens(tx, app.id);
      }
    }
    const response = { answer, refusal: decided.ok ? null : decided.refusal };
    await saveIdempotentResponse(tx, {
      key: input.key,
      applicationId: app.id,
      operation: input.operation,
      request: input.request,
      response,
    });
    return { ...response, state: storedStateOf(answer), replayed: false };
  });
}

/** Postgres side effects of the workflows. Each application write is one state-machine event on the locked row. */
export function createDatabaseActivities({ pool }: DatabaseActivityDeps) {
  return {
    // --- Housekeeping ---

    /** Deletes what has outlived its use: sessions, OAuth state nonces, idempotency keys, applicant sign-ins and tokens. */
    async deleteExpired(): Promise<HousekeepingResult> {
      return {
        sessions: await deleteExpiredSessions(pool),
        oauthStates: await deleteExpiredOAuthStateUses(pool),
        idempotencyKeys: await deleteExpiredIdempotencyKeys(pool),
        applicantSessions: await deleteExpiredApplicantSessions(pool),
        applicantTokens: await deleteOldApplicantTokens(pool),
        authorizationFailures: await deleteOldAuthorizationFailures(pool),
        rateLimitHits: await deleteExpiredRateLimitHits(pool),
      };
    },

    // --- Discord connection ---

    /** Returns false (and changes nothing) when the organization is connected already. */
    async beginConnection(input: { organizationId: string }): Promise<boolean> {
      return await beginConnection(pool, input.organizationId);
    },

    async saveConnection(input: {
      organizationId: string;
      userId: string;
      guild: { id: string; name: string };
      role: { id: string; name: string; created: boolean };
    }): Promise<void> {
      await withTransaction(pool, async (tx) => {
        await saveConnectedConfig(tx, {
          organizationId: input.organizationId,
          guildId: input.guild.id,
          guildName: input.guild.name,
          roleId: input.role.id,
          roleName: input.role.name,
        });
        await appendAuditLog(tx, {
          organizationId: input.organizationId,
          actorUserId: input.userId,
          action: 'discord.connected',
          subjectType: 'discord_guild',
          subjectId: input.guild.id,
          details: {
            guildName: input.guild.name,
            roleId: input.role.id,
            roleName: input.role.name,
            roleCreated: input.role.created,
          },
        });
      });
    },

    /** Records the failure, and the guild the bot was added to if it got that far, so a disconnect can leave it. */
    async failConnection(input: {
      organizationId: string;
      message: string;
      guild?: { id: string; name: string };
    }): Promise<void> {
      await setConnectionState(pool, {
        organizationId: input.organizationId,
        state: 'error',
        error: input.message,
        guild: input.guild,
      });
    },

    async loadConnection(input: {
      organizationId: string;
    }): Promise<{ guildId: string | null; roleId: string | null; state: string }> {
      const config = await findDiscordConfig(pool, input.organizationId);
      return {
        guildId: config?.guildId ?? null,
        roleId: config?.approvedRoleId ?? null,
        state: config?.connectionState ?? 'disconnected',
      };
    },

    /**
     * "Check again" found the bot's access fixed: the connection is `connected` again (grants
     * resume). Changes nothing unless it is in `error` with its guild and role still recorded.
     */
    async resumeConnection(input: { organizationId: string; userId: string }): Promise<boolean> {
      return await withTransaction(pool, async (tx) => {
        const resumed = await markConnectionResumed(tx, input.organizationId);
        if (!resumed) return false;
        await appendAuditLog(tx, {
          organizationId: input.organizationId,
          actorUserId: input.userId,
          action: 'discord.resumed',
          subjectType: 'discord_guild',
          subjectId: resumed.guildId,
          details: { pausedBecause: resumed.pausedBecause },
        });
        return true;
      });
    },

    // --- Reconciliation ---

    /**
     * Records the start of a reconciliation run (once per run ID) and returns the connection as it
     * is, with the database's clock: members a full listing has not seen since then are gone.
     */
    async beginReconciliation(input: {
      runId: string;
      organizationId: string;
      trigger: ReconciliationTrigger;
      workflowId: string;
      firstRunId: string;
    }): Promise<{
      state: string;
      guildId: string | null;
      startedAt: string;
      /** How the last run of the day compared members (`one_by_one`: the bot lacks the intent). */
      lastMemberSource: MemberSource | null;
    }> {
      const config = await findDiscordConfig(pool, input.organizationId);
      await beginReconciliationRun(pool, {
        id: input.runId,
        organizationId: input.organizationId,
        trigger: input.trigger,
        workflowId: input.workflowId,
        runId: input.firstRunId,
        guildId: config?.guildId ?? null,
      });
      const run = await findReconciliationRun(pool, input.runId);
      return {
        state: config?.connectionState ?? 'disconnected',
        guildId: config?.guildId ?? null,
        startedAt: (run?.startedAt ?? new Date()).toISOString(),
        lastMemberSource: await lastMemberSource(pool, input.organizationId, input.runId),
      };
    },

    /** How many Discord users a one-by-one comparison has to check (to spread it over the period). */
    async countReconciliationMembers(input: { organizationId: string }): Promise<number> {
      return await countSubjectUsers(pool, input.organizationId);
    },

    async recordHealth(input: { runId: string; findings: HealthFinding[] }): Promise<void> {
      await recordRunFindings(pool, { id: input.runId, findings: input.findings });
    },

    /**
     * A health check found what pauses grants: the connection goes to `error` with the first
     * finding's sentence (unless it is not `connected` now). Returns whether it paused it now.
     */
    async pauseForHealth(input: { organizationId: string; guildId: string; message: string }): Promise<boolean> {
      return await withTransaction(pool, async (tx) => {
        const paused = await pauseConnectedOrganizations(tx, { organizationId: input.organizationId }, input.message);
        if (paused === 0) return false;
        await appendAuditLog(tx, {
          organizationId: input.organizationId,
          actorUserId: null,
          action: 'discord.paused',
          subjectType: 'discord_guild',
          subjectId: input.guildId,
          details: { reason: input.message },
        });
        return true;
      });
    },

    async finishReconciliation(input: {
      runId: string;
      error?: string | null;
      memberSource?: MemberSource | null;
    }): Promise<ReconciliationSummary> {
      const run = await finishReconciliationRun(pool, {
        id: input.runId,
        error: input.error ?? null,
        memberSource: input.memberSource ?? null,
      });
      if (!run) throw notFound('This reconciliation run');
      return {
        membersChecked: run.membersChecked,
        requests: run.requests,
        driftFound: run.driftFound,
        repaired: run.repaired,
        reported: run.reported,
        membersLeft: run.membersLeft,
        failed: run.failed,
        findings: run.findings,
      };
    },

    async markDisconnected(input: {
      organizationId: string;
      userId: string;
      guildId: string | null;
      note?: string;
    }): Promise<void> {
      await withTransaction(pool, async (tx) => {
        await setConnectionState(tx, { organizationId: input.organizationId, state: 'disconnected', error: null });
        // What reconciliations saw of the server's members is not kept beyond the connection.
        if (input.guildId) await forgetGuild(tx, input.guildId);
        await appendAuditLog(tx, {
          organizationId: input.organizationId,
          actorUserId: input.userId,
          action: 'discord.disconnected',
          subjectType: 'discord_guild',
          subjectId: input.guildId,
          details: input.note ? { note: input.note } : {},
        });
      });
    },

    // --- Role assignment ---
    // Each write is one transaction that locks the application's row, asks the state machine, and
    // records its answer under the step's idempotency key: a step that runs again (after a worker
    // crash, or a timeout after the commit) gets its first answer back and changes nothing.

    async loadApplicationState(input: { applicationId: string }): Promise<StoredRoleState> {
      const app = await findApplication(pool, input.applicationId);
      if (!app) throw notFound('This application');
      return storedStateOf(app);
    },

    /** A review: the answer the reviewer gets (or the machine's refusal), and the state now. */
    async recordReview(
      input: ReviewRequest & { key: string; applicationId: string; organizationId: string },
    ): Promise<StepResult & { answer: Application }> {
      const request = { decision: input.decision, reviewerId: input.reviewerId, note: input.note ?? null };
      const result = await applyEvent(pool, {
        key: input.key,
        applicationId: input.applicationId,
        organizationId: input.organizationId,
        operation: 'review',
        request,
        event: (app) => reviewEvent(app, input.decision),
        review: { reviewedBy: input.reviewerId, notes: input.note === undefined ? undefined : input.note },
        audit: (app, updated) => ({
          actorUserId: input.reviewerId,
          action: input.decision === 'approve' ? 'application.approved' : 'application.rejected',
          details: { from: app.status, to: updated.status, ...(input.note ? { note: input.note } : {}) },
        }),
      });
      // An approval whose grant fails at once, without Discord (an invalid Discord ID).
      if (!result.replayed && !result.refusal && result.answer.status === 'approved_role_failed') {
        countRoleChange('grant', 'failed', result.answer.roleAssignment.errorType);
      }
      return result;
    },

    /** The outcome of one grant or removal attempt. Refused (`stale_result`) when the decision moved on meanwhile. */
    async recordRoleResult(input: {
      key: string;
      applicationId: string;
      action: RoleAction;
      outcome: 'success' | 'failed';
      errorType?: string;
      error?: string;
      /** What the attempt found, for the audit log: the member held the role already, was added to the server, or kept it (why). */
      facts?: { heldBefore?: boolean; addedToServer?: boolean; kept?: string };
    }): Promise<StepResult> {
      const event = roleResultEvent(input);
      const result = await applyEvent(pool, {
        key: input.key,
        applicationId: input.applicationId,
        operation: 'role_result',
        request: { action: input.action, outcome: input.outcome, errorType: input.errorType ?? null },
        event: () => event,
        audit: (_app, updated) => ({
          actorUserId: null,
          action: `application.role_${input.action === 'grant' ? 'grant' : 'removal'}_${input.outcome === 'success' ? 'succeeded' : 'failed'}`,
          details: {
            ...(input.outcome === 'failed'
              ? { errorType: input.errorType, error: input.error }
              : { to: updated.status }),
            ...input.facts,
          },
        }),
      });
      // Counted once: a step that runs again gets its first answer back (`replayed`).
      if (!result.replayed) {
        countRoleChange(
          input.action,
          result.refusal
            ? 'stale'
            : input.outcome === 'failed'
              ? 'failed'
              : input.action === 'grant'
                ? 'assigned'
                : input.facts?.kept
                  ? 'kept'
                  : 'removed',
          input.errorType,
        );
      }
      return result;
    },

    /** Spends one of the manual retries: the failed role change runs again. */
    async beginManualRetry(input: { key: string; applicationId: string; requestedBy?: string }): Promise<StepResult> {
      // Sent from the Temporal Web UI, `requestedBy` may be anything: only a known user becomes the actor.
      const actor = input.requestedBy ? await findUserById(pool, input.requestedBy) : null;
      return await applyEvent(pool, {
        key: input.key,
        applicationId: input.applicationId,
        operation: 'manual_retry',
        request: {},
        event: () => ({ type: 'manual_retry' }),
        audit: (_app, updated) => ({
          actorUserId: actor?.id ?? null,
          action: 'application.role_retry',
          details: {
            retryCount: updated.roleAssignment.retryCount,
            ...(input.requestedBy && !actor ? { requestedBy: input.requestedBy.slice(0, 200) } : {}),
          },
        }),
      });
    },

    /** A failure the bot's connection caused runs again after a new connection, without spending a manual retry. */
    async beginRedrive(input: { key: string; applicationId: string }): Promise<StepResult> {
      return await applyEvent(pool, {
        key: input.key,
        applicationId: input.applicationId,
        operation: 'redrive',
        request: {},
        event: () => ({ type: 'redrive' }),
        audit: (app) => ({
          actorUserId: null,
          action: 'application.role_redrive',
          details: { errorType: app.roleAssignment.errorType },
        }),
      });
    },
  };
}

export type DatabaseActivities = ReturnType<typeof createDatabaseActivities>;
