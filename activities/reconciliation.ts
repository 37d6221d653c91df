import { heartbeat } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { PermissionFlagsBits, type APIGuildMember, type APIRole } from 'discord-api-types/v10';
import { findApplication, observeRolesHeldBefore } from '../src/db/applications.js';
import { findDiscordConfig, saveGuildRoles, type DiscordConfig } from '../src/db/discord-configs.js';
import { findOrganizationByIdOrSlug } from '../src/db/organizations.js';
import type { Pool } from '../src/db/pool.js';
import {
  completeMemberListing,
  findApprovedNotListedSince,
  findSubjectsOfUsers,
  forgetGuildMembers,
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
import { BOT_TOKEN_REJECTED_MESSAGE, type DiscordGuard } from '../src/discord/guard.js';
import { healthFindings, roleNamesOf, type GuildRoles, type HealthFinding } from '../src/discord/guild-roles.js';
import { lifecycleStateOf } from '../src/domain/application.js';
import type { RoleAssignmentStatus } from '../src/domain/application-lifecycle.js';
import { driftOf, type Drift, type DriftRepairMode } from '../src/domain/drift.js';
import { applyEvent } from './database.js';

export interface ReconciliationActivityDeps {
  pool: Pool;
  discord: DiscordApi;
  guard?: Pick<DiscordGuard, 'asConnectionCheck' | 'inBackground'>;
  /** Tells an application's role workflow its stored state changed (starting it if none runs). */
  handOff: (item: { applicationId: string; organizationId: string; roleStatus: RoleAssignmentStatus }) => Promise<void>;
}

const unguarded: Pick<DiscordGuard, 'asConnectionCheck' | 'inBackground'> = {
  asConnectionCheck: (fn) => fn(),
  inBackground: (_organizationId, fn) => fn(),
};

/** Members per List Guild Members request (Discord's maximum). */
export const MEMBER_PAGE_SIZE = 1000;
/** Members per batch when the bot checks them one by one (no Server Members intent). */
export const ONE_BY_ONE_BATCH_SIZE = 25;
/** Members found gone per batch, after a full listing. */
const LEFT_BATCH_SIZE = 200;

const isConnected = (config: DiscordConfig | null): config is DiscordConfig & { guildId: string } =>
  config !== null && config.connectionState === 'connected' && config.guildId !== null;

function hasManageRoles(permissions: bigint): boolean {
  return (permissions & (PermissionFlagsBits.ManageRoles | PermissionFlagsBits.Administrator)) !== 0n;
}

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
      const byId = new Map(roles.map((r) => [r.id, r]));
      const mine = [guildId, ...member.roles].map((id) => byId.get(id)).filter((r): r is APIRole => !!r);
      return {
        guildId,
        canManageRoles: hasManageRoles(mine.reduce((acc, r) => acc | BigInt(r.permissions), 0n)),
        botHighestPosition: Math.max(0, ...mine.map((r) => r.position)),
        roles: roles.map((r) => ({
          id: r.id,
          name: r.name,
          position: r.position,
          permissions: r.permissions,
          managed: r.managed,
        })),
      };
    } catch (err) {
      const type = classifyDiscordError(err).type;
      if (type === 'unknown_guild' || type === 'missing_access') return null;
      throw err;
    }
  };

  /** Applies one drift (checking the stored decision first) and records it; returns the outcome. */
  const applyDrift = async (
    run: { runId: string; organizationId: string; guildId: string },
    subject: ReconciliationSubject,
    drift: Drift,
    counter: { requests: number },
  ): Promise<void> => {
    const record = (outcome: DriftOutcome, detail?: string) =>
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
    if (drift.action === 'report' || drift.action === 'mark_left') {
      // A status change: the state machine decides, once per run and application.
      const result = await applyEvent(pool, {
        key: `drift:${run.runId}:${subject.applicationId}`,
        applicationId: subject.applicationId,
        organizationId: run.organizationId,
        operation: 'drift',
        request: { kind: drift.kind },
        event: () => ({ type: 'drift', finding: drift.action === 'mark_left' ? 'member_left' : 'role_removed' }),
        audit: () => ({ actorUserId: null, action: 'application.drift_found', details: { runId: run.runId } }),
      });
      await record(drift.action === 'mark_left' ? 'marked_left' : 'reported');
      if (!result.refusal) {
        await handOff({
          applicationId: subject.applicationId,
          organizationId: run.organizationId,
          roleStatus: result.state.roleStatus,
        });
      }
      return;
    }
    // Discord is called only while the stored decision still says so (a review may have come meanwhile).
    const app = await findApplication(pool, subject.applicationId, run.organizationId);
    const now = app ? lifecycleStateOf(app) : null;
    const still =
      now !== null &&
      (drift.action === 'add' || drift.kind === 'remove_role_held'
        ? now.status === 'approved_role_assigned'
        : now.status === 'Rejected' && now.roleStatus === 'not_applicable');
    if (!still) return;
    const reason = `Reconciliation ${run.runId}: ${drift.kind.replace(/_/g, ' ')}`;
    try {
      counter.requests += 1;
      if (drift.action === 'add') {
        await discord.addMemberRole(run.guildId, subject.discordUserId, drift.roleId, reason);
      } else {
        await discord.removeMemberRole(run.guildId, subject.discordUserId, drift.roleId, reason);
      }
      await record('repaired');
    } catch (err) {
      const failure = classifyDiscordError(err);
      // The member left meanwhile, or the role is gone: the next run (or the health check) says so.
      if (failure.type === 'unknown_member' || failure.type === 'unknown_role') return;
      if (!failure.retryable) {
        await record('failed', failure.message);
        // The bot lost its access: stop here (the guard paused the organization).
        if (failure.type !== 'unexpected') throw toActivityFailure(err);
        return;
      }
      throw toActivityFailure(err);
    }
  };

  /** Compares the subjects of these users with what Discord shows (null: not in the server). */
  const compare = async (
    run: { runId: string; organizationId: string; guildId: string },
    config: DiscordConfig,
    mode: DriftRepairMode,
    reapply: boolean,
    members: Map<string, { roleIds: string[] } | null>,
    counter: { requests: number },
  ) => {
    const { subjects, neededRoles } = await findSubjectsOfUsers(pool, run.organizationId, [...members.keys()]);
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
        removeRoleIds: config.removeRoleIds,
        neededByOthers: neededRoles.get(subject.discordUserId)?.get(subject.applicationId) ?? new Set(),
        mode: reapply ? 'restore' : mode,
      });
      // A member gone is one finding, whatever their roles.
      for (const d of drift) {
        await applyDrift(run, current, d, counter);
        heartbeat();
      }
    }
  };

  return {
    /**
     * The health check: whether the bot token works, the bot is still in the guild, manages roles,
     * and every chosen role exists, is safe to add and sits below the bot. Remembers the guild's
     * roles. Changes no connection state (the workflow decides).
     */
    async checkBotHealth(input: {
      organizationId: string;
    }): Promise<{ guildId: string | null; findings: HealthFinding[] }> {
      discord.restoreToken();
      return await guard.asConnectionCheck(async () => {
        const config = await findDiscordConfig(pool, input.organizationId);
        if (!config?.guildId || (config.connectionState !== 'connected' && config.connectionState !== 'error')) {
          return { guildId: null, findings: [] };
        }
        let guild: GuildRoles | null;
        try {
          botUserId = undefined;
          guild = await inspectGuild(config.guildId);
        } catch (err) {
          if (classifyDiscordError(err).type === 'invalid_bot_token') {
            return {
              guildId: config.guildId,
              findings: [{ kind: 'token_rejected', message: BOT_TOKEN_REJECTED_MESSAGE }],
            };
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
        return { guildId: config.guildId, findings };
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
      const run = { runId: input.runId, organizationId: input.organizationId, guildId: config.guildId };
      const counter = { requests: 0 };
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
        await compare(run, config, mode, input.reapply, members, counter);
        await recordReconciliationBatch(pool, {
          runId: input.runId,
          batch: input.batch,
          membersChecked: members.size,
          requests: counter.requests,
        });
        return { source, membersChecked: members.size, requests: counter.requests, next, stopped: false };
      });
    },

    /**
     * After a full listing: approved members it did not see left the server. Marks a batch of them
     * (the state machine's `member_left`: re-granted by the automatic re-check when they return);
     * returns how many, and completes the listing when none is left.
     */
    async markMembersGone(input: {
      organizationId: string;
      runId: string;
      listedSince: string;
    }): Promise<{ marked: number; done: boolean }> {
      const config = await findDiscordConfig(pool, input.organizationId);
      if (!isConnected(config)) return { marked: 0, done: true };
      const listedSince = new Date(input.listedSince);
      const gone = await findApprovedNotListedSince(pool, {
        organizationId: input.organizationId,
        guildId: config.guildId,
        listedSince,
        limit: LEFT_BATCH_SIZE,
      });
      const run = { runId: input.runId, organizationId: input.organizationId, guildId: config.guildId };
      for (const subject of gone) {
        await applyDrift(run, subject, { kind: 'member_left', roleId: '', action: 'mark_left' }, { requests: 0 });
        heartbeat();
      }
      if (gone.length < LEFT_BATCH_SIZE) {
        await completeMemberListing(pool, {
          organizationId: input.organizationId,
          guildId: config.guildId,
          listedSince,
        });
        return { marked: gone.length, done: true };
      }
      return { marked: gone.length, done: false };
    },
  };
}

export type ReconciliationActivities = ReturnType<typeof createReconciliationActivities>;
