// Pure code (no I/O): which roles of a guild the project may add or remove on approval, and what a look at
// the bot's access finds wrong (bot health). Used by the activities (to decide), the API (to
// refuse a role setting) and the web UI (to grey out roles in the picker, to show the findings).
import { PermissionFlagsBits } from 'discord-api-types/v10';
import { permissionNames, unsafeRoleMessage } from './role-safety.js';
import {
  BOT_REMOVED_MESSAGE,
  MANAGE_ROLES_MISSING_MESSAGE,
  roleAboveBotMessage,
  roleDeletedMessage,
  type GuildRole,
  type GuildRoles,
  type HealthFinding,
} from '../domain/bot-health.js';

export type { GuildRole, GuildRoles, HealthFinding };

/**
 * The guild's roles and the bot's place among them, from the bot's member (its role IDs) and the
 * guild's roles as Discord lists them. `@everyone` (the role whose ID is the guild's) counts as the
 * bot's too.
 */
export function guildRolesOf(
  guildId: string,
  botRoleIds: readonly string[],
  roles: ReadonlyArray<{ id: string; name: string; position: number; permissions: string; managed: boolean }>,
): GuildRoles {
  const byId = new Map(roles.map((r) => [r.id, r]));
  const mine = [guildId, ...botRoleIds].flatMap((id) => byId.get(id) ?? []);
  const permissions = mine.reduce((acc, r) => acc | BigInt(r.permissions), 0n);
  return {
    guildId,
    canManageRoles: (permissions & (PermissionFlagsBits.ManageRoles | PermissionFlagsBits.Administrator)) !== 0n,
    botHighestPosition: Math.max(0, ...mine.map((r) => r.position)),
    roles: roles.map(({ id, name, position, permissions: p, managed }) => ({
      id,
      name,
      position,
      permissions: p,
      managed,
    })),
  };
}

/** Roles an approval adds: at least one, at most five. */
export const MAX_ADD_ROLES = 5;
/** Roles an approval removes (a "Pending" or "Unverified" role): at most ten. */
export const MAX_REMOVE_ROLES = 10;

export type RoleUse = 'add' | 'remove';

/**
 * Why the project cannot add (or remove) `role` on approval, or null when it can. Discord lets a
 * bot manage only roles below its highest one, never `@everyone` (the role whose ID is the
 * guild's) or a role managed by an integration; a role added to whoever is approved must carry no
 * permission either (it would hand out moderation or administration).
 */
export function roleRefusal(role: GuildRole, guild: Omit<GuildRoles, 'roles'>, use: RoleUse): string | null {
  if (role.id === guild.guildId) return '@everyone belongs to every member: it cannot be added or removed.';
  if (role.managed) return 'Managed by an integration or a bot: Discord lets no one else give or take it.';
  if (!guild.canManageRoles) return 'The bot lacks Manage Roles: give it that permission in Server Settings → Roles.';
  if (role.position >= guild.botHighestPosition) {
    return "At or above the bot's highest role: drag the bot's role above it in Server Settings → Roles.";
  }
  if (use === 'add') {
    const names = permissionNames(role.permissions);
    if (names.length > 0) {
      return `Carries permissions (${names.join(', ')}): a role given to every approved applicant must carry none.`;
    }
  }
  return null;
}

/** The guild's roles for the picker, highest first, each with whether it can be added or removed. */
export function rolePicker(guild: GuildRoles) {
  return [...guild.roles]
    .sort((a, b) => b.position - a.position || (BigInt(a.id) < BigInt(b.id) ? -1 : 1))
    .map((role) => {
      const addRefusal = roleRefusal(role, guild, 'add');
      const removeRefusal = roleRefusal(role, guild, 'remove');
      return {
        id: role.id,
        name: role.name,
        position: role.position,
        manageable: addRefusal === null,
        reason: addRefusal,
        removable: removeRefusal === null,
        removeReason: removeRefusal,
      };
    });
}

/**
 * What is wrong with the bot's access to the guild for the organization's role settings, given
 * what Discord answers now (`guild` null: the bot is not in the guild, or cannot see it).
 * `knownNames` names a role that no longer exists (from the last look).
 */
export function healthFindings(input: {
  guild: GuildRoles | null;
  addRoleIds: readonly string[];
  removeRoleIds: readonly string[];
  knownNames?: ReadonlyMap<string, string>;
}): HealthFinding[] {
  const { guild } = input;
  if (!guild) return [{ kind: 'bot_removed', message: BOT_REMOVED_MESSAGE }];
  const findings: HealthFinding[] = [];
  if (!guild.canManageRoles) findings.push({ kind: 'manage_roles_missing', message: MANAGE_ROLES_MISSING_MESSAGE });
  const byId = new Map(guild.roles.map((r) => [r.id, r]));
  const wanted = [
    ...input.addRoleIds.map((id) => ({ id, use: 'add' as const })),
    ...input.removeRoleIds.map((id) => ({ id, use: 'remove' as const })),
  ];
  for (const { id, use } of wanted) {
    const role = byId.get(id);
    if (!role) {
      // A role to remove that is gone is held by no one: nothing to fix.
      if (use === 'add') {
        findings.push({ kind: 'role_deleted', message: roleDeletedMessage(input.knownNames?.get(id) ?? null) });
      }
      continue;
    }
    if (use === 'add') {
      const unsafe = unsafeRoleMessage(role);
      if (unsafe) {
        findings.push({ kind: 'role_unsafe', message: `Grants are paused: ${unsafe}` });
        continue;
      }
    }
    if (guild.canManageRoles && role.position >= guild.botHighestPosition) {
      findings.push({ kind: 'role_above_bot', message: roleAboveBotMessage(role.name) });
    }
  }
  return findings;
}

/** The names of roles as last seen (for a message about a role that is gone). */
export const roleNamesOf = (guild: GuildRoles | null): Map<string, string> =>
  new Map((guild?.roles ?? []).map((r) => [r.id, r.name]));
