import { ApplicationFailure } from '@temporalio/common';
import { PermissionFlagsBits, type APIRole } from 'discord-api-types/v10';
import type { DiscordApi } from '../src/discord/api';
import { classifyDiscordError, toActivityFailure } from '../src/discord/errors';
import { exchangeCode } from '../src/discord/oauth';
import { findApplication } from '../src/db/applications';
import { findDiscordConfig } from '../src/db/discord-configs';
import type { Pool } from '../src/db/pool';
import { lifecycleStateOf } from '../src/domain/application';
import { INVALID_DISCORD_ID, roleActionWanted, type RoleAction } from '../src/domain/application-lifecycle';
import { discordUserIdOf, INVALID_DISCORD_ID_MESSAGE, isValidDiscordId } from '../src/domain/discord-id';

export interface DiscordActivityDeps {
  pool: Pool;
  discord: DiscordApi;
  oauth: { apiBaseUrl: string; clientId: string; clientSecret: string };
}

export const NOT_CONNECTED_MESSAGE =
  'Discord is not connected for this organization: an admin must connect the bot in Settings, then retry.';

/** Runs a Discord call; any failure leaves as a Temporal failure classified once, in src/discord/errors. */
async function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toActivityFailure(err);
  }
}

function hasManageRoles(permissions: bigint): boolean {
  return (permissions & (PermissionFlagsBits.ManageRoles | PermissionFlagsBits.Administrator)) !== 0n;
}

/**
 * Side effects on Discord. These run on their own task queue, whose rate limit holds for all
 * workers together (maxTaskQueueActivitiesPerSecond), below Discord's global 50 requests/s.
 */
export function createDiscordActivities({ pool, discord, oauth }: DiscordActivityDeps) {
  let botUserId: string | undefined;
  const currentBotId = async () => (botUserId ??= (await call(() => discord.getCurrentUser())).id);

  return {
    /** Exchanges the OAuth code; the guild of the answer is the one the admin chose (never a hint or a list). */
    async exchangeOAuthCode(input: {
      code: string;
      redirectUri: string;
    }): Promise<{ guild: { id: string; name: string } }> {
      const result = await call(() => exchangeCode({ ...oauth, code: input.code, redirectUri: input.redirectUri }));
      if (!result.guild) {
        throw ApplicationFailure.nonRetryable(
          'Discord answered without the guild the bot was added to.',
          'oauth_no_guild',
        );
      }
      return { guild: { id: result.guild.id, name: result.guild.name } };
    },

    /** Whether the bot may manage roles in the guild, and the position of its highest role. */
    async inspectBotAccess(input: {
      guildId: string;
    }): Promise<{ canManageRoles: boolean; highestRolePosition: number }> {
      const botId = await currentBotId();
      const [member, roles] = await Promise.all([
        call(() => discord.getMember(input.guildId, botId)),
        call(() => discord.listRoles(input.guildId)),
      ]);
      const byId = new Map(roles.map((r) => [r.id, r]));
      const mine = [input.guildId, ...member.roles].map((id) => byId.get(id)).filter((r): r is APIRole => !!r);
      const permissions = mine.reduce((acc, r) => acc | BigInt(r.permissions), 0n);
      return {
        canManageRoles: hasManageRoles(permissions),
        highestRolePosition: Math.max(0, ...mine.map((r) => r.position)),
      };
    },

    /**
     * Finds the role named `name`, or creates it. Idempotent under retries: a create whose answer
     * was lost is found by the next attempt's lookup, so the role is created at most once. Discord
     * allows duplicate names; the oldest (smallest snowflake) wins, stably.
     */
    async ensureApprovedRole(input: {
      guildId: string;
      name: string;
      reason: string;
    }): Promise<{ id: string; name: string; position: number; created: boolean }> {
      const roles = await call(() => discord.listRoles(input.guildId));
      const existing = roles
        .filter((r) => r.name === input.name && r.id !== input.guildId)
        .sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1))[0];
      if (existing) return { id: existing.id, name: existing.name, position: existing.position, created: false };
      const role = await call(() =>
        discord.createRole(
          input.guildId,
          { name: input.name, permissions: '0', hoist: false, mentionable: false },
          input.reason,
        ),
      );
      return { id: role.id, name: role.name, position: role.position, created: true };
    },

    /** The bot leaves the guild; a guild it already left counts as done. */
    async leaveGuild(input: { guildId: string }): Promise<{ alreadyGone: boolean }> {
      try {
        await discord.leaveGuild(input.guildId);
        return { alreadyGone: false };
      } catch (err) {
        const failure = classifyDiscordError(err);
        if (failure.type === 'unknown_guild' || failure.type === 'missing_access') return { alreadyGone: true };
        throw toActivityFailure(err);
      }
    },

    /**
     * Grants (or takes back) the organization's Approved role for one application. Reads the
     * application and the connection itself, so a retry after an admin reconnected uses the new
     * setup, and Discord is only called while the stored decision still asks for this change
     * (`skipped` otherwise: a late grant after a reversal never reaches Discord).
     */
    async changeMemberRole(input: {
      applicationId: string;
      organizationId: string;
      action: RoleAction;
    }): Promise<{ skipped: boolean }> {
      const [config, app] = await Promise.all([
        findDiscordConfig(pool, input.organizationId),
        findApplication(pool, input.applicationId, input.organizationId),
      ]);
      if (!app) throw ApplicationFailure.nonRetryable('This application does not exist.', 'not_found');
      if (!roleActionWanted(lifecycleStateOf(app), input.action)) return { skipped: true };
      const userId = discordUserIdOf(app.custom_data);
      if (!isValidDiscordId(userId)) {
        throw ApplicationFailure.nonRetryable(INVALID_DISCORD_ID_MESSAGE, INVALID_DISCORD_ID, {
          type: INVALID_DISCORD_ID,
          message: INVALID_DISCORD_ID_MESSAGE,
          retryable: false,
        });
      }
      if (config?.connectionState !== 'connected' || !config.guildId || !config.approvedRoleId) {
        throw ApplicationFailure.nonRetryable(NOT_CONNECTED_MESSAGE, 'discord_not_connected', {
          type: 'discord_not_connected',
          message: NOT_CONNECTED_MESSAGE,
          retryable: false,
        });
      }
      const { guildId, approvedRoleId } = config;
      if (input.action === 'grant') {
        await call(() => discord.addMemberRole(guildId, userId, approvedRoleId, `Application ${app.id} approved`));
      } else {
        try {
          await discord.removeMemberRole(guildId, userId, approvedRoleId, `Application ${app.id} rejected`);
        } catch (err) {
          // A member who left the server holds no role: nothing to take back.
          if (classifyDiscordError(err).type !== 'unknown_member') throw toActivityFailure(err);
        }
      }
      return { skipped: false };
    },
  };
}

export type DiscordActivities = ReturnType<typeof createDiscordActivities>;
