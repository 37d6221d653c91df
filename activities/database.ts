import { ApplicationFailure } from '@temporalio/common';
import { deleteExpiredOAuthStateUses } from '../src/auth/oauth-state';
import { appendAuditLog } from '../src/db/audit-log';
import { deleteExpiredSessions } from '../src/db/sessions';
import { findApplication, lockApplication, transitionApplication } from '../src/db/applications';
import { beginConnection, findDiscordConfig, saveConnectedConfig, setConnectionState } from '../src/db/discord-configs';
import { withTransaction, type Pool } from '../src/db/pool';
import type { Application } from '../src/domain/application';
import {
  hasDiscordUserId,
  INVALID_DISCORD_ID_MESSAGE,
  isValidDiscordId,
  discordUserIdOf,
} from '../src/domain/discord-id';
import type { ReviewRequest } from '../src/temporal/shared';

export interface DatabaseActivityDeps {
  pool: Pool;
}

export type RoleAction = 'grant' | 'revoke';

function notFound(what: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(`${what} does not exist.`, 'not_found');
}

/** Postgres side effects of the workflows. Every write touches one row and is guarded on its current state. */
export function createDatabaseActivities({ pool }: DatabaseActivityDeps) {
  return {
    // --- Housekeeping ---

    /** Deletes expired sessions and spent OAuth state nonces (past their expiry a state is refused anyway). */
    async deleteExpired(): Promise<{ sessions: number; oauthStates: number }> {
      return { sessions: await deleteExpiredSessions(pool), oauthStates: await deleteExpiredOAuthStateUses(pool) };
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

    async loadConnection(input: { organizationId: string }): Promise<{ guildId: string | null; state: string }> {
      const config = await findDiscordConfig(pool, input.organizationId);
      return { guildId: config?.guildId ?? null, state: config?.connectionState ?? 'disconnected' };
    },

    async markDisconnected(input: {
      organizationId: string;
      userId: string;
      guildId: string | null;
      note?: string;
    }): Promise<void> {
      await withTransaction(pool, async (tx) => {
        await setConnectionState(tx, { organizationId: input.organizationId, state: 'disconnected', error: null });
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

    async loadApplication(input: { applicationId: string }): Promise<Application> {
      const app = await findApplication(pool, input.applicationId);
      if (!app) throw notFound('This application');
      return app;
    },

    /**
     * The first step of a review, in one transaction: decides the new status from the current one
     * and the applicant's Discord ID, writes it, and says what the workflow must do next.
     */
    async recordReview(
      input: ReviewRequest & { applicationId: string; organizationId: string },
    ): Promise<{ application: Application; next: RoleAction | null }> {
      return await withTransaction(pool, async (tx) => {
        const app = await lockApplication(tx, input.applicationId);
        if (!app || app.organizationId !== input.organizationId) throw notFound('This application');
        const note = input.note === undefined ? undefined : input.note;
        let next: RoleAction | null = null;
        let updated: Application | null;

        if (input.decision === 'approve') {
          if (app.status !== 'Pending') {
            throw ApplicationFailure.nonRetryable(
              `This application was already reviewed (status ${app.status}).`,
              'invalid_transition',
            );
          }
          const base = { reviewedBy: input.reviewerId, notes: note };
          if (!hasDiscordUserId(app.custom_data)) {
            updated = await transitionApplication(tx, {
              id: app.id,
              from: { status: ['Pending'] },
              set: { ...base, status: 'Approved', roleStatus: 'not_applicable' },
            });
          } else if (!isValidDiscordId(discordUserIdOf(app.custom_data))) {
            updated = await transitionApplication(tx, {
              id: app.id,
              from: { status: ['Pending'] },
              set: {
                ...base,
                status: 'approved_role_failed',
                roleStatus: 'failed',
                roleError: INVALID_DISCORD_ID_MESSAGE,
                attempted: true,
              },
            });
          } else {
            updated = await transitionApplication(tx, {
              id: app.id,
              from: { status: ['Pending'] },
              set: { ...base, status: 'approved_pending_role', roleStatus: 'pending', roleError: null },
            });
            next = 'grant';
          }
        } else {
          if (app.status === 'Rejected') {
            throw ApplicationFailure.nonRetryable('This application was already rejected.', 'invalid_transition');
          }
          // A role that was (or may be being) granted must be taken back.
          const mayHoldRole = app.status === 'approved_role_assigned' || app.status === 'approved_pending_role';
          updated = await transitionApplication(tx, {
            id: app.id,
            from: { status: [app.status] },
            set: {
              reviewedBy: input.reviewerId,
              notes: note,
              status: 'Rejected',
              roleStatus: mayHoldRole ? 'pending' : 'not_applicable',
              roleError: null,
            },
          });
          if (mayHoldRole) next = 'revoke';
        }
        if (!updated)
          throw ApplicationFailure.retryable('The application changed during the review; trying again.', 'conflict');
        await appendAuditLog(tx, {
          organizationId: app.organizationId,
          actorUserId: input.reviewerId,
          action: input.decision === 'approve' ? 'application.approved' : 'application.rejected',
          subjectType: 'application',
          subjectId: app.id,
          details: { from: app.status, to: updated.status },
        });
        return { application: updated, next };
      });
    },

    /** Records the outcome of one grant or revoke attempt. Null when the application moved on meanwhile. */
    async recordRoleResult(input: {
      applicationId: string;
      action: RoleAction;
      outcome: 'success' | 'failed';
      error?: string;
    }): Promise<Application | null> {
      const from =
        input.action === 'grant'
          ? { status: ['approved_pending_role', 'approved_role_failed'] as Application['status'][] }
          : { status: ['Rejected'] as Application['status'][] };
      if (input.action === 'grant') {
        return await transitionApplication(pool, {
          id: input.applicationId,
          from,
          set:
            input.outcome === 'success'
              ? { status: 'approved_role_assigned', roleStatus: 'success', roleError: null, attempted: true }
              : {
                  status: 'approved_role_failed',
                  roleStatus: 'failed',
                  roleError: input.error ?? 'Unknown error',
                  attempted: true,
                },
        });
      }
      return await transitionApplication(pool, {
        id: input.applicationId,
        from,
        set:
          input.outcome === 'success'
            ? { roleStatus: 'not_applicable', roleError: null, attempted: true }
            : { roleStatus: 'failed', roleError: input.error ?? 'Unknown error', attempted: true },
      });
    },

    /** Spends one of the 5 manual retries. Null when none is left or nothing failed. */
    async beginManualRetry(input: { applicationId: string; requestedBy: string }): Promise<Application | null> {
      return await withTransaction(pool, async (tx) => {
        const app = await lockApplication(tx, input.applicationId);
        if (!app || app.roleAssignment.status !== 'failed') return null;
        const updated = await transitionApplication(tx, {
          id: app.id,
          from: { roleStatus: ['failed'] },
          set: {
            status: app.status === 'approved_role_failed' ? 'approved_pending_role' : app.status,
            roleStatus: 'pending',
            incrementRetryCount: true,
          },
        });
        if (updated) {
          await appendAuditLog(tx, {
            organizationId: app.organizationId,
            actorUserId: input.requestedBy,
            action: 'application.role_retry',
            subjectType: 'application',
            subjectId: app.id,
            details: { retryCount: updated.roleAssignment.retryCount },
          });
        }
        return updated;
      });
    },
  };
}

export type DatabaseActivities = ReturnType<typeof createDatabaseActivities>;
