/** Typed wrappers around the Discord routes the product uses. */
import type { REST } from '@discordjs/rest';
import { restoreBotToken } from './rest.js';
import {
  Routes,
  type RESTGetAPICurrentUserResult,
  type RESTGetAPIGuildMemberResult,
  type RESTGetAPIGuildMembersResult,
  type RESTGetAPIGuildRolesResult,
  type RESTPostAPIGuildRoleJSONBody,
  type RESTPostAPIGuildRoleResult,
  type RESTPutAPIGuildMemberJSONBody,
  type RESTPutAPIGuildMemberResult,
} from 'discord-api-types/v10';

export function createDiscordApi(rest: REST) {
  return {
    /** After a 401 the instance forgot the bot token: a connection check gives it back to ask again. */
    restoreToken: (): void => restoreBotToken(rest),

    listRoles: async (guildId: string): Promise<RESTGetAPIGuildRolesResult> =>
      (await rest.get(Routes.guildRoles(guildId))) as RESTGetAPIGuildRolesResult,

    createRole: async (
      guildId: string,
      body: RESTPostAPIGuildRoleJSONBody,
      reason: string,
    ): Promise<RESTPostAPIGuildRoleResult> =>
      (await rest.post(Routes.guildRoles(guildId), { body, reason })) as RESTPostAPIGuildRoleResult,

    /** 204 on success, also when the member already has the role. */
    addMemberRole: async (guildId: string, userId: string, roleId: string, reason: string): Promise<void> => {
      await rest.put(Routes.guildMemberRole(guildId, userId, roleId), { reason });
    },

    /** 204 on success, also when the member does not have the role. */
    removeMemberRole: async (guildId: string, userId: string, roleId: string, reason: string): Promise<void> => {
      await rest.delete(Routes.guildMemberRole(guildId, userId, roleId), { reason });
    },

    /**
     * List Guild Members: up to `limit` (1–1000) members with a user ID above `after`, by ID. Needs
     * the privileged Server Members intent (else 403 Missing Access, code 50001).
     */
    listMembers: async (
      guildId: string,
      query: { limit: number; after?: string },
    ): Promise<RESTGetAPIGuildMembersResult> =>
      (await rest.get(Routes.guildMembers(guildId), {
        query: new URLSearchParams({ limit: String(query.limit), ...(query.after ? { after: query.after } : {}) }),
      })) as RESTGetAPIGuildMembersResult,

    getMember: async (guildId: string, userId: string): Promise<RESTGetAPIGuildMemberResult> =>
      (await rest.get(Routes.guildMember(guildId, userId))) as RESTGetAPIGuildMemberResult,

    /**
     * Add Guild Member with the applicant's `guilds.join` token (the bot needs Create Instant
     * Invite, and Manage Roles for `roles`): 201 with the member when added, 204 when they were a
     * member already (then `roles` was ignored). `pending`: the server's rules screening holds them.
     */
    addGuildMember: async (
      guildId: string,
      userId: string,
      body: RESTPutAPIGuildMemberJSONBody,
    ): Promise<{ added: boolean; pending: boolean }> => {
      const result = (await rest.put(Routes.guildMember(guildId, userId), { body })) as
        RESTPutAPIGuildMemberResult | ArrayBuffer;
      if (result instanceof ArrayBuffer || typeof result !== 'object' || result === null || !('roles' in result)) {
        return { added: false, pending: false };
      }
      return { added: true, pending: result.pending === true };
    },

    getCurrentUser: async (): Promise<RESTGetAPICurrentUserResult> =>
      (await rest.get(Routes.user())) as RESTGetAPICurrentUserResult,

    /** The bot leaves the guild. */
    leaveGuild: async (guildId: string): Promise<void> => {
      await rest.delete(Routes.userGuild(guildId));
    },
  };
}

export type DiscordApi = ReturnType<typeof createDiscordApi>;
