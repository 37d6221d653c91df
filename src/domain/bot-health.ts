// Pure code: what the project knows of a guild's roles, and what a health check can find wrong
// with the bot's access (shared by the database layer, the activities, the API and the web UI).

export interface GuildRole {
  id: string;
  name: string;
  position: number;
  /** A decimal permission bit set, as Discord sends it. */
  permissions: string;
  managed: boolean;
}

/** The guild's roles and the bot's place among them (`discord_configs.guild_roles`). */
export interface GuildRoles {
  guildId: string;
  /** Whether the bot's roles carry Manage Roles (or Administrator). */
  canManageRoles: boolean;
  /** The position of the bot's highest role: it can only manage roles below it. */
  botHighestPosition: number;
  roles: GuildRole[];
}

/** What a health check can find wrong; each pauses grants until an admin fixes it. */
export const healthFindingKinds = [
  'bot_removed',
  'token_rejected',
  'manage_roles_missing',
  'role_deleted',
  'role_above_bot',
  'role_unsafe',
] as const;
export type HealthFindingKind = (typeof healthFindingKinds)[number];

export interface HealthFinding {
  kind: HealthFindingKind;
  message: string;
}

const THEN_CHECK = 'then press Check now in Settings.';

export const BOT_REMOVED_MESSAGE = `Grants are paused: the bot was removed from the Discord server (or can no longer see it). Connect Discord again in Settings to add it back, or re-invite it, ${THEN_CHECK}`;
export const MANAGE_ROLES_MISSING_MESSAGE = `Grants are paused: the bot lost the Manage Roles permission. Give its role Manage Roles in Server Settings → Roles, ${THEN_CHECK}`;
export const roleDeletedMessage = (name: string | null) =>
  `Grants are paused: the role ${name ? `"${name}" ` : ''}was deleted in Discord. Pick the roles again in Settings → Roles (or create the role again and pick it), ${THEN_CHECK}`;
export const roleAboveBotMessage = (name: string) =>
  `Grants are paused: the role "${name}" is now at or above the bot's highest role, so the bot cannot give or take it. Drag the bot's role above "${name}" in Server Settings → Roles, ${THEN_CHECK}`;
