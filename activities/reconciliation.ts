import { heartbeat } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { APIGuildMember } from 'discord-api-types/v10';
import { findApplication, observeRolesHeldBefore } from '../src/db/applications.js';
import { findDiscordConfig, saveGuildRoles, type DiscordConfig } from '../src/db/discord-configs.js';
import { findOrganizationByIdOrSlug } from '../src/db/organizations.js';
import type { Pool } from '../src/db/pool.js';
import {
  completeMemberListing,
  findApprovedNotListedSince,
  findSubjectsOfUsers,
  forgetGuildMembers,
  listDriftStatusChanges,
  listSubjectUsersAfter,
  markMemberListingUnavailable,
  recordDrift,
  recordReconciliationBatch,
  saveGuildMembers,
  type DriftOutcome,
  type MemberSource,
  type ReconciliationSubject,
} from '../src/db/reconciliation.js';
import type { DiscordApi } from '../src/discord/api.js';
import { classifyDiscordError, toActivityFailure } from '../src/discord/errors.js';
import {
  BOT_TOKEN_REJECTED_MESSAGE,
  botTokenStatus,
  DiscordHeldBackError,
  type DiscordGuard,
} from '../src/discord/guard.js';
import {
  guildRolesOf,
  healthFindings,
  roleNamesOf,
  roleRefusal,
  type GuildRoles,
  type HealthFinding,
} from '../src/discord/guild-roles.js';
import { lifecycleStateOf } from '../src/domain/application.js';
import { roleResultEvent, type RoleAssignmentStatus } from '../src/domain/application-lifecycle.js';
import { driftFinding, driftOf, type Drift, type DriftRepairMode } from '../src/domain/drift.js';
import { applyEvent } from './database.js';

export interface ReconciliationActivityDeps {
  pool: Pool;
  discord: DiscordApi;
  guard?: Pick<DiscordGuard, 'asConnectionCheck' | 'inBackground' | 'pauseOrganization'>;
  /** Tells an application's role workflow its stored state changed (starting it if none runs). */
  handOff: (item: { applicationId: string; organizationId: string; roleStatus: RoleAssignmentStatus }) => Promise<void>;
}

const unguarded: Pick<DiscordGuard, 'asConnectionCheck' | 'inBackground' | 'pauseOrganization'> = {
  asConnectionCheck: (fn) => fn(),
  inBackground: (_organizationId, fn) => fn(),
  pauseOrganization: async () => undefined,
};

/** Members per List Guild Members request (Discord's maximum). */
export const MEMBER_PAGE_SIZE = 1000;
/** Members per batch when the bot checks them one by one (no Server Members intent). */
export const ONE_BY_ONE_BATCH_SIZE = 25;
/** Members found gone per batch, after a full listing. */
const LEFT_BATCH_SIZE = 200;

const isConnected = (config: DiscordConfig | null): config is DiscordConfig & { guildId: string } =>
  config !== null && config.connectionState === 'connected' && config.guildId !== null;

/** What one batch of a reconciliation did. */
export interface BatchResult {
  /** How the members were compared (`one_by_one` when the listing was refused for want of the intent). */
  source: MemberSource;
  membersChecked: number;
  requests: number;
  /** Where the next batch starts (a user ID), or null when this was the last. */
  next: string | null;
  /** The connection is no longer `connected` (paused, disconnected): the run stops. */
  stopped: boolean;
}

/**
 * The reconciliation's side effects: the health check, the guild's roles for the picker, and the
 * comparison of members with the stored decisions. Requests of a batch go through the shared
 * Discord rate at low priority (`guard.inBackground`); checks of the bot's access pass a paused
 * organization (they are how it resumes).
 */
export function createReconciliationActivities({
  pool,
  discord,
  guard = unguarded,
  handOff,
}: ReconciliationActivityDeps) {
  let botUserId: string | undefined;

  /** The guild's roles and the bot's place, or null when the bot is not in the guild (or cannot see it). */
  const inspectGuild = async (guildId: string): Promise<GuildRoles | null> => {
    try {
      botUserId ??= (await discord.getCurrentUser()).id;
      const botId = botUserId;
      const [member, roles] = await Promise.all([discord.getMember(guildId, botId), discord.listRoles(guildId)]);
      return guildRolesOf(guildId, member.roles, roles);
    } catch (err) {
      const type = classifyDiscordError(err).type;
      if (type === 'unknown_guild' || type === 'missing_access') return null;
      throw err;
    }
  };

  /** Failures that say the bot cannot act in the guild at all: the run stops (the guard paused it). */
  const GUILD_LEVEL = new Set([
    'missing_access',
    'unknown_guild',
    'invalid_bot_token',
    'grants_paused',
    'missing_permissions',
  ]);

  type Run = { runId: string; organizationId: string; guildId: string; requests: number };

  const recordOf =
    (run: Run, subject: ReconciliationSubject, drift: Drift) => (outcome: DriftOutcome, detail?: string) =>
      recordDrift(pool, {
        runId: run.runId,
        organizationId: run.organizationId,
        applicationId: subject.applicationId,
        discordUserId: subject.discordUserId,
        kind: drift.kind,
        roleId: drift.roleId,
        outcome,
        detail,
      });

  /** Tells the application's role workflow (best effort: the run's last step hands off every finding again). */
  const tellWorkflow = async (run: Run, applicationId: string, roleStatus: RoleAssignmentStatus) => {
    try {
      await handOff({ applicationId, organizationId: run.organizationId, roleStatus });
    } catch {
      // handOffFindings, at the end of the run, retries it.
    }
  };

  /**
   * A status change for the application's drift (a member gone, a missing role only reported):
   * one state-machine event per run and application, whatever drift it had.
   */
  const changeStatus = async (run: Run, subject: ReconciliationSubject, finding: 'member_left' | 'role_removed') => {
    const result = await applyEvent(pool, {
      key: `drift:${run.runId}:${subject.applicationId}`,
      applicationId: subject.applicationId,
      organizationId: run.organizationId,
      operation: 'drift',
      request: { finding },
      event: () => ({ type: 'drift', finding }),
      audit: () => ({ actorUserId: null, action: 'application.drift_found', details: { runId: run.runId, finding } }),
    });
    if (!result.refusal) await tellWorkflow(run, subject.applicationId, result.state.roleStatus);
    return !result.refusal;
  };

  /** Calls Discord for one drift, checking the stored decision before and after; records it. */
  const repair = async (run: Run, subject: ReconciliationSubject, drift: Drift): Promise<void> => {
    const record = recordOf(run, subject, drift);
    const wanted = (app: Awaited<ReturnType<typeof findApplication>>) => {
      const now = app ? lifecycleStateOf(app) : null;
      if (!now) return false;
      return drift.kind === 'role_not_taken_back'
        ? now.status === 'Rejected' && now.roleStatus === 'not_applicable'
        : now.status === 'approved_role_assigned';
    };
    // Discord is called only while the stored decision still asks for it (a review may have come).
    if (!wanted(await findApplication(pool, subject.applicationId, run.organizationId))) return;
    const reason = `Reconciliation ${run.runId}: ${drift.kind.replace(/_/g, ' ')}`;
    try {
      run.requests += 1;
      if (drift.action === 'add') {
        await discord.addMemberRole(run.guildId, subject.discordUserId, drift.roleId, reason);
      } else {
        await discord.removeMemberRole(run.guildId, subject.discordUserId, drift.roleId, reason);
      }
    } catch (err) {
      const failure = classifyDiscordError(err);
      // The member left meanwhile, or the role is gone: the next run (or its health check) says so.
      if (failure.type === 'unknown_member' || failure.type === 'unknown_role') return;
      if (failure.retryable) throw toActivityFailure(err);
      await record('failed', failure.message);
      // The bot cannot act in the guild: stop the run. Anything else is this member's problem.
      if (GUILD_LEVEL.has(failure.type)) throw toActivityFailure(err);
      return;
    }
    await record('repaired');
    if (drift.action !== 'add') return;
    // A review that came during the call: the role just given must come off again, as for a grant
    // that lands after a reversal (the state machine decides; the role workflow takes it back).
    const after = await findApplication(pool, subject.applicationId, run.organizationId);
    if (!after || wanted(after)) return;
    const late = await applyEvent(pool, {
      key: `drift-grant:${run.runId}:${subject.applicationId}:${drift.roleId}`,
      applicationId: subject.applicationId,
      organizationId: run.organizationId,
      operation: 'drift_grant',
      request: { roleId: drift.roleId },
      event: () => roleResultEvent({ action: 'grant', outcome: 'success' }),
      audit: () => ({
        actorUserId: null,
        action: 'application.role_grant_succeeded',
        details: { runId: run.runId, roleId: drift.roleId, late: true },
      }),
    });
    if (!late.refusal) await tellWorkflow(run, subject.applicationId, late.state.roleStatus);
  };

  /**
   * The roles a repair may add now: chosen, existing, safe and below the bot, as Discord shows
   * them (looked at once per batch, and only when a role is to be added). A chosen role that is no
   * longer so pauses the organization, as a grant would: the batch stops.
   */
  const addableRoles = async (run: Run, config: DiscordConfig): Promise<Set<string> | null> => {
    run.requests += 2;
    let guild: GuildRoles | null;
    try {
      guild = await inspectGuild(run.guildId);
    } catch (err) {
      throw toActivityFailure(err);
    }
    const findings = healthFindings({
      guild,
      addRoleIds: config.addRoleIds,
      removeRoleIds: config.removeRoleIds,
      knownNames: roleNamesOf(config.guildRoles),
    });
    if (findings[0]) {
      await guard.pauseOrganization(run.organizationId, findings[0].message);
      return null;
    }
    const byId = new Map(guild!.roles.map((r) => [r.id, r]));
    return new Set(
      config.addRoleIds.filter((id) => {
        const role = byId.get(id);
        return role !== undefined && roleRefusal(role, guild!, 'add') === null;
      }),
    );
  };

  /**
   * Compares the subjects of these users with what Discord shows (null: not in the server).
   * Returns false when the organization was paused meanwhile (the run stops).
   */
  const compare = async (
    run: Run,
    config: DiscordConfig,
    mode: DriftRepairMode,
    reapply: boolean,
    members: Map<string, { roleIds: string[] } | null>,
  ): Promise<boolean> => {
    const { subjects, neededRoles } = await findSubjectsOfUsers(pool, run.organizationId, [...members.keys()]);
    let addable: Set<string> | null | undefined;
    for (const subject of subjects) {
      const member = members.get(subject.discordUserId) ?? null;
      let current = subject;
      if (reapply && member && subject.status === 'approved_role_assigned') {
        // Re-applying the roles chosen now: they become what this application's grant is for.
        const held = new Set(member.roleIds);
        await observeRolesHeldBefore(pool, subject.applicationId, {
          roleIds: config.addRoleIds,
          heldNow: config.addRoleIds.filter((r) => held.has(r)),
        });
        current = { ...subject, roleIds: [...new Set([...(subject.roleIds ?? []), ...config.addRoleIds])] };
      }
      const drift = driftOf(current, member, {
        addRoleIds: config.addRoleIds,
        removeRoleIds: config.removeRoleIds,
        neededByOthers: neededRoles.get(subject.discordUserId)?.get(subject.applicationId) ?? new Set(),
        mode: reapply ? 'restore' : mode,
      });
      if (drift.length === 0) continue;
      const finding = driftFinding(drift);
      if (finding) {
        // A status change; the drift is recorded (and audited) as found, nothing is called.
        await changeStatus(run, current, finding);
        for (const d of drift) {
          if (d.action === 'mark_left' || d.action === 'report') {
            await recordOf(run, current, d)(d.action === 'mark_left' ? 'marked_left' : 'reported');
          }
        }
        continue;
      }
      for (const d of drift) {
        if (d.action === 'report') {
          await recordOf(run, current, d)('reported');
          continue;
        }
        if (d.action === 'add') {
          if (addable === undefined) addable = await addableRoles(run, config);
          if (addable === null) return false;
          if (!addable.has(d.roleId)) continue;
        }
        await repair(run, current, d);
        heartbeat();
      }
    }
    return true;
  };

  return {
    /**
     * The health check: whether the bot token works, the bot is still in the guild, manages roles,
     * and every chosen role exists, is safe to add and sits below the bot. Remembers the guild's
     * roles. Changes no connection state (the workflow decides).
     */
    async checkBotHealth(input: {
      organizationId: string;
    }): Promise<{ guildId: string | null; findings: HealthFinding[]; tokenAcceptedAgain: boolean }> {
      discord.restoreToken();
      return await guard.asConnectionCheck(async () => {
        const config = await findDiscordConfig(pool, input.organizationId);
        if (!config?.guildId || (config.connectionState !== 'connected' && config.connectionState !== 'error')) {
          return { guildId: null, findings: [], tokenAcceptedAgain: false };
        }
        // Asking Discord clears a refusal of the bot token: the caller then re-drives what it held back.
        const tokenWasRejected = (await botTokenStatus(pool)).rejectedAt !== null;
        let guild: GuildRoles | null;
        try {
          botUserId = undefined;
          guild = await inspectGuild(config.guildId);
        } catch (err) {
          if (classifyDiscordError(err).type === 'invalid_bot_token') {
            return {
              guildId: config.guildId,
              findings: [{ kind: 'token_rejected', message: BOT_TOKEN_REJECTED_MESSAGE }],
              tokenAcceptedAgain: false,
            };
          }
          // A person may be waiting (Check now): say at once that the guild's budget of failures is spent.
          if (err instanceof DiscordHeldBackError && err.retryAfterMs > 10_000) {
            throw ApplicationFailure.nonRetryable(err.message, 'held_back');
          }
          throw toActivityFailure(err);
        }
        if (guild) await saveGuildRoles(pool, input.organizationId, guild);
        const findings = healthFindings({
          guild,
          addRoleIds: config.addRoleIds,
          removeRoleIds: config.removeRoleIds,
          knownNames: roleNamesOf(config.guildRoles),
        });
        return { guildId: config.guildId, findings, tokenAcceptedAgain: tokenWasRejected };
      });
    },

    /** The guild's roles now, for the role picker (and remembered). */
    async fetchGuildRoles(input: { organizationId: string }): Promise<GuildRoles> {
      discord.restoreToken();
      return await guard.asConnectionCheck(async () => {
        const config = await findDiscordConfig(pool, input.organizationId);
        if (!config?.guildId || (config.connectionState !== 'connected' && config.connectionState !== 'error')) {
          throw ApplicationFailure.nonRetryable('Discord is not connected for this organization.', 'not_connected');
        }
        let guild: GuildRoles | null;
        try {
          guild = await inspectGuild(config.guildId);
        } catch (err) {
          throw toActivityFailure(err);
        }
        if (!guild) {
          throw ApplicationFailure.nonRetryable(
            'The bot is no longer in the Discord server (or cannot see it): connect Discord again in Settings.',
            'unknown_guild',
          );
        }
        await saveGuildRoles(pool, input.organizationId, guild);
        return guild;
      });
    },

    /**
     * One batch of a reconciliation: a page of the guild's members (List Guild Members, with the
     * Server Members intent) or a few approved members one by one, compared with the stored
     * decisions; each drift repaired (or reported) and recorded once per run.
     */
    async reconcileMembers(input: {
      organizationId: string;
      runId: string;
      batch: number;
      source: MemberSource;
      after: string | null;
      /** Re-apply the organization's current roles to every approved member. */
      reapply: boolean;
    }): Promise<BatchResult> {
      discord.restoreToken();
      const config = await findDiscordConfig(pool, input.organizationId);
      if (!isConnected(config)) {
        return { source: input.source, membersChecked: 0, requests: 0, next: null, stopped: true };
      }
      const org = await findOrganizationByIdOrSlug(pool, input.organizationId);
      const mode = org?.driftRepair ?? 'restore';
      const run: Run = {
        runId: input.runId,
        organizationId: input.organizationId,
        guildId: config.guildId,
        requests: 0,
      };
      const counter = run;
      return await guard.inBackground(input.organizationId, async () => {
        let source = input.source;
        const members = new Map<string, { roleIds: string[] } | null>();
        let next: string | null = null;
        if (source === 'list') {
          let page: APIGuildMember[] | null = null;
          try {
            counter.requests += 1;
            page = await discord.listMembers(config.guildId, {
              limit: MEMBER_PAGE_SIZE,
              ...(input.after ? { after: input.after } : {}),
            });
          } catch (err) {
            // Without the Server Members intent Discord answers Missing Access: check one by one.
            if (classifyDiscordError(err).type !== 'missing_access') throw toActivityFailure(err);
            await markMemberListingUnavailable(pool, input.organizationId);
            source = 'one_by_one';
          }
          if (page) {
            const listed = page.flatMap((m) => (m.user ? [m] : []));
            await saveGuildMembers(
              pool,
              config.guildId,
              listed.map((m) => ({ userId: m.user.id, roleIds: m.roles, pending: m.pending === true })),
            );
            for (const m of listed) members.set(m.user.id, { roleIds: m.roles });
            next = page.length === MEMBER_PAGE_SIZE ? (listed.at(-1)?.user.id ?? null) : null;
          }
        }
        if (source === 'one_by_one') {
          const userIds = await listSubjectUsersAfter(pool, input.organizationId, {
            afterUserId: source === input.source ? input.after : null,
            limit: ONE_BY_ONE_BATCH_SIZE,
          });
          const seen: Array<{ userId: string; roleIds: string[]; pending: boolean }> = [];
          const gone: string[] = [];
          for (const userId of userIds) {
            counter.requests += 1;
            try {
              const m = await discord.getMember(config.guildId, userId);
              members.set(userId, { roleIds: m.roles });
              seen.push({ userId, roleIds: m.roles, pending: m.pending === true });
            } catch (err) {
              if (classifyDiscordError(err).type !== 'unknown_member') throw toActivityFailure(err);
              members.set(userId, null);
              gone.push(userId);
            }
            heartbeat();
          }
          await saveGuildMembers(pool, config.guildId, seen);
          await forgetGuildMembers(pool, config.guildId, gone);
          next = userIds.length === ONE_BY_ONE_BATCH_SIZE ? userIds.at(-1)! : null;
        }
        const going = await compare(run, config, mode, input.reapply, members);
        await recordReconciliationBatch(pool, {
          runId: input.runId,
          batch: input.batch,
          membersChecked: members.size,
          requests: counter.requests,
        });
        return { source, membersChecked: members.size, requests: counter.requests, next, stopped: !going };
      });
    },

    /**
     * After a full listing: approved members it did not see may have left the server. Each is
     * asked about once more (a grant may have landed, or they joined, after their page was listed);
     * those still missing are marked (the state machine's `member_left`: re-granted by the
     * automatic re-check when they return). Returns how many, and completes the listing when none
     * is left.
     */
    async markMembersGone(input: {
      organizationId: string;
      runId: string;
      /** This step's number among the run's batches (its figures are recorded under it). */
      batch: number;
      listedSince: string;
    }): Promise<{ marked: number; requests: number; done: boolean }> {
      discord.restoreToken();
      const config = await findDiscordConfig(pool, input.organizationId);
      if (!isConnected(config)) return { marked: 0, requests: 0, done: true };
      const listedSince = new Date(input.listedSince);
      const candidates = await findApprovedNotListedSince(pool, {
        organizationId: input.organizationId,
        guildId: config.guildId,
        listedSince,
        limit: LEFT_BATCH_SIZE,
      });
      const run: Run = {
        runId: input.runId,
        organizationId: input.organizationId,
        guildId: config.guildId,
        requests: 0,
      };
      let marked = 0;
      await guard.inBackground(input.organizationId, async () => {
        for (const subject of candidates) {
          run.requests += 1;
          try {
            const m = await discord.getMember(config.guildId, subject.discordUserId);
            await saveGuildMembers(pool, config.guildId, [
              { userId: subject.discordUserId, roleIds: m.roles, pending: m.pending === true },
            ]);
            continue;
          } catch (err) {
            if (classifyDiscordError(err).type !== 'unknown_member') throw toActivityFailure(err);
          }
          const drift: Drift = { kind: 'member_left', roleId: '', action: 'mark_left' };
          if (await changeStatus(run, subject, 'member_left')) marked += 1;
          await recordOf(run, subject, drift)('marked_left');
          heartbeat();
        }
      });
      await recordReconciliationBatch(pool, {
        runId: input.runId,
        batch: input.batch,
        membersChecked: 0,
        requests: run.requests,
      });
      if (candidates.length < LEFT_BATCH_SIZE) {
        await completeMemberListing(pool, {
          organizationId: input.organizationId,
          guildId: config.guildId,
          listedSince,
        });
      }
      return { marked, requests: run.requests, done: candidates.length < LEFT_BATCH_SIZE };
    },

    /**
     * The run's last step: every application whose status a finding of this run changed is handed
     * to its role workflow (again: a hand-off lost in a crash is not lost), so that a member gone is
     * re-checked, and a failure shows in the Temporal Web UI.
     */
    async handOffFindings(input: { organizationId: string; runId: string }): Promise<{ handedOff: number }> {
      const items = await listDriftStatusChanges(pool, input.runId);
      for (const item of items) {
        await handOff({
          applicationId: item.applicationId,
          organizationId: input.organizationId,
          roleStatus: item.roleStatus,
        });
        heartbeat();
      }
      return { handedOff: items.length };
    },
  };
}

export type ReconciliationActivities = ReturnType<typeof createReconciliationActivities>;
