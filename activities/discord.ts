import { log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { RESTJSONErrorCodes, type APIRole } from 'discord-api-types/v10';
import { applicationBinding, saveTokensForApplication } from '../src/auth/applicant-sessions.js';
import { decryptToken, TokenDecryptionError } from '../src/auth/token-crypto.js';
import { findApplicantTokens } from '../src/db/applicant-tokens.js';
import { findApplication, observeRolesHeldBefore, rolesToTakeBack } from '../src/db/applications.js';
import { findDiscordConfig } from '../src/db/discord-configs.js';
import { guildRolesOf } from '../src/discord/guild-roles.js';
import { findOrganizationByIdOrSlug } from '../src/db/organizations.js';
import type { Pool } from '../src/db/pool.js';
import type { DiscordApi } from '../src/discord/api.js';
import { DiscordHeldBackError, type DiscordGuard } from '../src/discord/guard.js';
import {
  classifyDiscordError,
  DiscordOAuthError,
  knownFailure,
  toActivityFailure,
  type DiscordFailure,
} from '../src/discord/errors.js';
import {
  MISSING_CREATE_INVITE_MESSAGE,
  MISSING_PERMISSIONS_MESSAGE,
  reauthorizeMessage,
} from '../src/domain/discord-messages.js';
import { exchangeCode, refreshUserToken } from '../src/discord/oauth.js';
import { unsafeRoleMessage } from '../src/discord/role-safety.js';
import { lifecycleStateOf, type Application } from '../src/domain/application.js';
import { INVALID_DISCORD_ID, roleActionWanted, type RoleAction } from '../src/domain/application-lifecycle.js';
import { INVALID_DISCORD_ID_MESSAGE } from '../src/domain/discord-id.js';

export interface DiscordActivityDeps {
  pool: Pool;
  discord: DiscordApi;
  oauth: { apiBaseUrl: string; clientId: string; clientSecret: string };
  /** Where applicants re-authorize (the link in the admin's message when their sign-in expired). */
  publicBaseUrl: string;
  /** Decrypts the applicants' stored Discord tokens. */
  tokenEncryptionKey: Buffer;
  /** The shared rate and circuit breaker of the REST instance (absent in tests with a bare API). */
  guard?: Pick<DiscordGuard, 'asConnectionCheck' | 'pauseOrganization' | 'forOrganization'>;
}

/** Pass-through when no guard is given. */
const unguarded: Pick<DiscordGuard, 'asConnectionCheck' | 'pauseOrganization' | 'forOrganization'> = {
  asConnectionCheck: (fn) => fn(),
  pauseOrganization: async () => undefined,
  forOrganization: (_organizationId, fn) => fn(),
};

/** What a role change did at Discord. */
export type RoleChange =
  /** The stored decision no longer asks for it: Discord was not called. */
  | { skipped: true }
  | {
      skipped: false;
      /** A grant: the member already held the role (it was left as it was). */
      heldBefore?: boolean;
      /** A grant: the member was added to the server by this grant. */
      addedToServer?: boolean;
      /** A grant: the member waits for the server's rules screening. */
      memberPending?: boolean;
      /** A reversal: why the roles were left on the member. */
      kept?: 'held_before' | 'never_granted' | 'other_application';
      /** The roles this attempt added (a grant) or took back (a grant's removed roles, or a reversal). */
      rolesAdded?: string[];
      rolesRemoved?: string[];
    };

/** A permanent failure with its admin sentence, as the workflow reads it back (`summarizeFailure`). */
function permanent(type: string, message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, type, {
    type,
    message,
    retryable: false,
  } satisfies Partial<DiscordFailure>);
}

/**
 * How long the roles of a guild are trusted before a grant looks again (the safe-role check): a
 * bulk approval looks once per 5 s instead of once per grant, and a role edited to carry
 * permissions stops being granted within 5 s.
 */
export const ROLES_TTL_MS = 5_000;

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

/**
 * Side effects on Discord. These run on their own task queue, whose rate limit holds for all
 * workers together (maxTaskQueueActivitiesPerSecond), below Discord's global 50 requests/s.
 */
export function createDiscordActivities({
  pool,
  discord,
  oauth,
  publicBaseUrl,
  tokenEncryptionKey,
  guard = unguarded,
}: DiscordActivityDeps) {
  // @discordjs/rest forgets the token after a 401 (in this process only): give it back before each
  // activity. While Discord refuses it, the guard holds every request back anyway.
  const checking = async <T>(fn: () => Promise<T>): Promise<T> => {
    discord.restoreToken();
    try {
      return await guard.asConnectionCheck(fn);
    } catch (err) {
      // A person waits for a check: say at once that the guild's budget of failures is spent.
      if (err instanceof DiscordHeldBackError && err.retryAfterMs > 10_000) {
        throw ApplicationFailure.nonRetryable(err.message, 'held_back');
      }
      throw err;
    }
  };
  let botUserId: string | undefined;
  const currentBotId = async () => (botUserId ??= (await call(() => discord.getCurrentUser())).id);
  const rolesCache = new Map<string, { at: number; roles: APIRole[] }>();

  /** The role to grant, as it is now: it must still exist and be safe to hand out (no permissions, not managed). */
  const grantableRole = async (organizationId: string, guildId: string, roleId: string): Promise<APIRole> => {
    let cached = rolesCache.get(guildId);
    if (!cached || Date.now() - cached.at > ROLES_TTL_MS) {
      cached = { at: Date.now(), roles: await call(() => discord.listRoles(guildId)) };
      rolesCache.set(guildId, cached);
    }
    const role = cached.roles.find((r) => r.id === roleId);
    if (!role) {
      rolesCache.delete(guildId);
      throw knownFailure(RESTJSONErrorCodes.UnknownRole);
    }
    const unsafe = unsafeRoleMessage(role);
    if (unsafe) {
      rolesCache.delete(guildId);
      // Handing it out again would be as unsafe: every grant of the guild waits for a fix.
      await guard.pauseOrganization(organizationId, `Grants are paused: ${unsafe}`);
      throw permanent('unsafe_role', unsafe);
    }
    return role;
  };

  /** Whether the bot may manage roles in the guild, and the position of its highest role. */
  const inspectBotAccess = async (guildId: string) => {
    const botId = await currentBotId();
    const [member, roles] = await Promise.all([
      call(() => discord.getMember(guildId, botId)),
      call(() => discord.listRoles(guildId)),
    ]);
    const guild = guildRolesOf(guildId, member.roles, roles);
    return { canManageRoles: guild.canManageRoles, highestRolePosition: guild.botHighestPosition };
  };

  /** Finds the role named `name`, or creates it (see `ensureApprovedRole`). */
  const ensureApprovedRole = async (input: { guildId: string; name: string; reason: string }) => {
    const roles = await call(() => discord.listRoles(input.guildId));
    const existing = roles
      .filter((r) => r.name === input.name && r.id !== input.guildId)
      .sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1))[0];
    if (existing) {
      // An existing role is handed out to every approved applicant only if that is safe.
      const unsafe = unsafeRoleMessage(existing);
      if (unsafe) throw permanent('unsafe_role', unsafe);
      return { id: existing.id, name: existing.name, position: existing.position, created: false };
    }
    const role = await call(() =>
      discord.createRole(
        input.guildId,
        { name: input.name, permissions: '0', hoist: false, mentionable: false },
        input.reason,
      ),
    );
    return { id: role.id, name: role.name, position: role.position, created: true };
  };

  const reauthorizeFailure = async (app: Application) => {
    const org = await findOrganizationByIdOrSlug(pool, app.organizationId);
    const link = `${publicBaseUrl}/apply/${org?.slug ?? ''}?reauthorize=${app.id}`;
    return permanent('applicant_authorization_expired', reauthorizeMessage(link));
  };

  /**
   * The applicant's `guilds.join` access token (refreshed when it has expired), or null when the
   * application has none (it was not signed in, or the tokens were deleted).
   */
  const applicantAccessToken = async (app: Application): Promise<string | null> => {
    const stored = await findApplicantTokens(pool, app.id);
    if (!stored) return null;
    const binding = applicationBinding(app.id);
    try {
      if (stored.expiresAt.getTime() - Date.now() > 60_000) {
        return decryptToken(tokenEncryptionKey, stored.accessTokenEnc, binding);
      }
      const tokens = await refreshUserToken({
        ...oauth,
        refreshToken: decryptToken(tokenEncryptionKey, stored.refreshTokenEnc, binding),
      });
      await saveTokensForApplication(pool, { applicationId: app.id, tokens, key: tokenEncryptionKey });
      return tokens.accessToken;
    } catch (err) {
      if (err instanceof TokenDecryptionError) {
        // An operator's problem (TOKEN_ENCRYPTION_KEY changed), which a new sign-in works around.
        log.error('stored applicant tokens cannot be decrypted: was TOKEN_ENCRYPTION_KEY changed?', {
          applicationId: app.id,
        });
        throw await reauthorizeFailure(app);
      }
      // A refresh token Discord no longer takes (used, revoked): the applicant signs in again.
      if (err instanceof DiscordOAuthError && err.oauthError === 'invalid_grant') throw await reauthorizeFailure(app);
      throw toActivityFailure(err);
    }
  };

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
      return await checking(() => inspectBotAccess(input.guildId));
    },

    /**
     * "Check again" after the circuit breaker paused a guild: asks Discord whether the bot token
     * works, whether the bot still manages roles there, and whether the Approved role still exists,
     * is safe, and sits below the bot's highest role. `problem` is what an admin must fix, or null.
     */
    async checkBotAccess(input: { guildId: string; roleId: string }): Promise<{ problem: string | null }> {
      return await checking(async () => {
        botUserId = undefined;
        const access = await inspectBotAccess(input.guildId);
        if (!access.canManageRoles) return { problem: MISSING_PERMISSIONS_MESSAGE };
        const roles = await call(() => discord.listRoles(input.guildId));
        rolesCache.set(input.guildId, { at: Date.now(), roles });
        const role = roles.find((r) => r.id === input.roleId);
        if (!role) return { problem: knownFailure(RESTJSONErrorCodes.UnknownRole).message };
        const unsafe = unsafeRoleMessage(role);
        if (unsafe) return { problem: unsafe };
        if (role.position >= access.highestRolePosition) return { problem: MISSING_PERMISSIONS_MESSAGE };
        return { problem: null };
      });
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
      return await checking(() => ensureApprovedRole(input));
    },

    /** The bot leaves the guild; a guild it already left counts as done. */
    async leaveGuild(input: { guildId: string }): Promise<{ alreadyGone: boolean }> {
      return await checking(async () => {
        try {
          await discord.leaveGuild(input.guildId);
          return { alreadyGone: false };
        } catch (err) {
          const failure = classifyDiscordError(err);
          if (failure.type === 'unknown_guild' || failure.type === 'missing_access') return { alreadyGone: true };
          throw toActivityFailure(err);
        }
      });
    },

    /**
     * Grants (or takes back) the organization's Approved role for one application. Reads the
     * application and the connection itself, so a retry after an admin reconnected uses the new
     * setup, and Discord is only called while the stored decision still asks for this change
     * (`skipped` otherwise: a late grant after a reversal never reaches Discord).
     *
     * A grant goes to the application's Discord account only. An applicant who is not in the
     * server yet is added with the role in one call (their sign-in's `guilds.join` token). A member
     * who already held the role keeps it as it was, and a reversal takes back only a role this
     * grant gave, unless another approved application of the member still needs it.
     */
    async changeMemberRole(input: {
      applicationId: string;
      organizationId: string;
      action: RoleAction;
    }): Promise<RoleChange> {
      discord.restoreToken();
      return await guard.forOrganization(input.organizationId, () => changeMemberRole(input));
    },
  };

  async function changeMemberRole(input: {
    applicationId: string;
    organizationId: string;
    action: RoleAction;
  }): Promise<RoleChange> {
    const [config, app] = await Promise.all([
      findDiscordConfig(pool, input.organizationId),
      findApplication(pool, input.applicationId, input.organizationId),
    ]);
    if (!app) throw ApplicationFailure.nonRetryable('This application does not exist.', 'not_found');
    if (!roleActionWanted(lifecycleStateOf(app), input.action)) return { skipped: true };
    const userId = app.discordUser?.id;
    if (!userId) throw permanent(INVALID_DISCORD_ID, INVALID_DISCORD_ID_MESSAGE);
    // The circuit breaker (or a failed connection) put it in `error`: wait for a fix, call nothing.
    if (config?.connectionState === 'error' && config.connectionError) {
      throw permanent('grants_paused', config.connectionError);
    }
    if (config?.connectionState !== 'connected' || !config.guildId || config.addRoleIds.length === 0) {
      throw permanent('discord_not_connected', NOT_CONNECTED_MESSAGE);
    }
    const { guildId, addRoleIds, removeRoleIds } = config;

    if (input.action === 'revoke') {
      const verdict = await rolesToTakeBack(pool, app.id);
      if (verdict.takeBack.length === 0) return { skipped: false, kept: verdict.kept ?? 'never_granted' };
      for (const roleId of verdict.takeBack) {
        try {
          await discord.removeMemberRole(guildId, userId, roleId, `Application ${app.id} rejected`);
        } catch (err) {
          const type = classifyDiscordError(err).type;
          // A member who left the server holds no role; a deleted role is held by no one.
          if (type === 'unknown_member') break;
          if (type !== 'unknown_role') throw toActivityFailure(err);
        }
      }
      return { skipped: false, rolesRemoved: verdict.takeBack };
    }

    for (const roleId of addRoleIds) await grantableRole(app.organizationId, guildId, roleId);
    let member = await discord.getMember(guildId, userId).catch((err: unknown) => {
      if (classifyDiscordError(err).type === 'unknown_member') return null;
      throw toActivityFailure(err);
    });
    /** Roles this attempt observed for the first time as not held (the member was not in the server). */
    let observedAbsent: string[] = [];
    if (!member) {
      const accessToken = await applicantAccessToken(app);
      if (!accessToken) {
        // A signed-in applicant whose tokens are gone (kept 30 days at most) can give new ones.
        if (app.discordUser?.verified) throw await reauthorizeFailure(app);
        throw knownFailure(RESTJSONErrorCodes.UnknownMember);
      }
      // Before the add (whose answer may be lost): a role found later on them came from this grant.
      ({ firstObserved: observedAbsent } = await observeRolesHeldBefore(pool, app.id, {
        roleIds: addRoleIds,
        heldNow: [],
      }));
      let added;
      try {
        added = await discord.addGuildMember(guildId, userId, { access_token: accessToken, roles: addRoleIds });
      } catch (err) {
        const failure = classifyDiscordError(err);
        if (failure.type === 'applicant_authorization_expired') throw await reauthorizeFailure(app);
        if (failure.type === 'missing_permissions')
          throw permanent('missing_permissions', MISSING_CREATE_INVITE_MESSAGE);
        throw toActivityFailure(err);
      }
      if (added.added) {
        return {
          skipped: false,
          heldBefore: false,
          addedToServer: true,
          memberPending: added.pending,
          rolesAdded: addRoleIds,
        };
      }
      // A member after all (they joined meanwhile): the roles as for any member, and what they
      // hold now is their own unless an earlier attempt of this grant may have added them.
      member = await call(() => discord.getMember(guildId, userId));
    }
    const held = new Set(member.roles);
    // Held before: the member's own roles (not ones another application of theirs here gave).
    const { heldBefore } = await observeRolesHeldBefore(pool, app.id, {
      roleIds: addRoleIds,
      heldNow: addRoleIds.filter((r) => held.has(r)),
      replace: observedAbsent,
    });
    const rolesAdded = addRoleIds.filter((r) => !held.has(r));
    const rolesRemoved = removeRoleIds.filter((r) => held.has(r) && !addRoleIds.includes(r));
    const addedNow: string[] = [];
    try {
      for (const roleId of rolesAdded) {
        await discord.addMemberRole(guildId, userId, roleId, `Application ${app.id} approved`);
        addedNow.push(roleId);
      }
      for (const roleId of rolesRemoved) {
        try {
          await discord.removeMemberRole(guildId, userId, roleId, `Application ${app.id} approved`);
        } catch (err) {
          // A role to remove that was deleted is held by no one.
          if (classifyDiscordError(err).type !== 'unknown_role') throw err;
        }
      }
    } catch (err) {
      // A permanent failure after some roles were added: take those back, so that a failure the
      // state machine takes for "nothing was given" (missing permissions, a role deleted) is true.
      if (addedNow.length > 0 && !classifyDiscordError(err).retryable) {
        for (const roleId of addedNow) {
          await discord
            .removeMemberRole(guildId, userId, roleId, `Application ${app.id}: grant failed`)
            .catch(() => undefined);
        }
      }
      throw toActivityFailure(err);
    }
    return {
      skipped: false,
      heldBefore: addRoleIds.every((r) => heldBefore.includes(r)),
      addedToServer: false,
      memberPending: member.pending === true,
      rolesAdded,
      rolesRemoved,
    };
  }
}

export type DiscordActivities = ReturnType<typeof createDiscordActivities>;
