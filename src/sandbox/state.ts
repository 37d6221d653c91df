/**
 * The sandbox's world: guilds, their roles and members, the bot user. Plain data and the
 * operations on it; HTTP concerns (status codes, JSON error bodies) live in rest.ts.
 */
import {
  GuildDefaultMessageNotifications,
  GuildExplicitContentFilter,
  GuildHubType,
  GuildMFALevel,
  GuildNSFWLevel,
  GuildPremiumTier,
  GuildSystemChannelFlags,
  GuildVerificationLevel,
  Locale,
  PermissionFlagsBits,
  type GuildMemberFlags,
  type RoleFlags,
  type UserFlags,
  type APIGuild,
  type APIGuildMember,
  type APIRole,
  type APIUser,
} from 'discord-api-types/v10';
import { generateSnowflake, isSnowflake } from './snowflake';

/** Discord's limit of roles per guild (including @everyone). */
export const MAX_ROLES = 250;

/** Permissions of @everyone in a new guild (Discord's default set, without Manage Roles). */
export const DEFAULT_EVERYONE_PERMISSIONS = 1_071_698_660_929n;

/**
 * The guild payload the sandbox sends: discord-api-types' APIGuild plus the fields Discord's
 * OpenAPI spec (GuildWithCountsResponse) requires that the type leaves optional or omits.
 */
export type SandboxGuildPayload = APIGuild & {
  home_header: string | null;
  region: string;
  widget_enabled: boolean;
  widget_channel_id: string | null;
  max_presences: number | null;
  max_members: number;
  max_video_channel_users: number;
  max_stage_video_channel_users: number;
  premium_subscription_count: number;
  nsfw: boolean;
  stickers: [];
};

/** The user payload of `GET /users/@me` (the spec's UserPIIResponse). */
export type SandboxCurrentUserPayload = APIUser & {
  flags: UserFlags;
  public_flags: UserFlags;
  mfa_enabled: boolean;
  locale: Locale;
  primary_guild: null;
};

export interface MemberState {
  userId: string;
  roles: Set<string>;
  joinedAt: string;
}

export interface GuildState {
  id: string;
  name: string;
  ownerId: string;
  createdAt: number;
  /** Keyed by role id; @everyone has the guild's id. */
  roles: Map<string, APIRole>;
  members: Map<string, MemberState>;
  /** The bot's managed role while the bot is in the guild. */
  botRoleId: string | null;
}

export interface CreateGuildOptions {
  name: string;
  id?: string;
  botInstalled?: boolean;
  /** Permissions of the bot's managed role; default Manage Roles. */
  botPermissions?: bigint;
  /** Position of the bot's managed role; default above every other role. */
  botRolePosition?: number;
  roles?: Array<{ name: string; position?: number }>;
}

export const BOT_DEFAULT_PERMISSIONS = PermissionFlagsBits.ManageRoles;

export function makeRole(fields: Partial<APIRole> & Pick<APIRole, 'id' | 'name' | 'position'>): APIRole {
  const color = fields.color ?? 0;
  return {
    permissions: '0',
    hoist: false,
    managed: false,
    mentionable: false,
    icon: null,
    unicode_emoji: null,
    flags: 0 as RoleFlags,
    ...fields,
    color,
    colors: fields.colors ?? { primary_color: color, secondary_color: null, tertiary_color: null },
  };
}

export class SandboxState {
  readonly guilds = new Map<string, GuildState>();
  readonly users = new Map<string, APIUser>();
  readonly bot: SandboxCurrentUserPayload;

  constructor(
    readonly botUserId: string,
    readonly applicationName = 'Sandbox Bot',
  ) {
    this.bot = {
      id: botUserId,
      username: applicationName.toLowerCase().replace(/[^a-z0-9_.]+/g, '_'),
      discriminator: '0000',
      global_name: null,
      avatar: null,
      bot: true,
      banner: null,
      accent_color: null,
      flags: 0 as UserFlags,
      public_flags: 0 as UserFlags,
      mfa_enabled: false,
      locale: Locale.EnglishUS,
      verified: true,
      email: null,
      primary_guild: null,
    };
    this.users.set(botUserId, this.bot);
  }

  ensureUser(userId: string): APIUser {
    const existing = this.users.get(userId);
    if (existing) return existing;
    const user: APIUser = {
      id: userId,
      username: `user${userId.slice(-6)}`,
      discriminator: '0',
      global_name: `Sandbox User ${userId.slice(-4)}`,
      avatar: null,
      flags: 0 as UserFlags,
      public_flags: 0 as UserFlags,
      primary_guild: null,
    };
    this.users.set(userId, user);
    return user;
  }

  createGuild(options: CreateGuildOptions): GuildState {
    const id = options.id ?? generateSnowflake();
    if (!isSnowflake(id)) throw new Error(`Guild id ${id} is not a snowflake`);
    if (this.guilds.has(id)) throw new Error(`Guild ${id} already exists`);
    const ownerId = generateSnowflake();
    this.ensureUser(ownerId);
    const guild: GuildState = {
      id,
      name: options.name,
      ownerId,
      createdAt: Date.now(),
      roles: new Map(),
      members: new Map(),
      botRoleId: null,
    };
    guild.roles.set(
      id,
      makeRole({ id, name: '@everyone', position: 0, permissions: DEFAULT_EVERYONE_PERMISSIONS.toString() }),
    );
    (options.roles ?? []).forEach((role, index) => {
      const roleId = generateSnowflake();
      guild.roles.set(roleId, makeRole({ id: roleId, name: role.name, position: role.position ?? index + 1 }));
    });
    guild.members.set(ownerId, { userId: ownerId, roles: new Set(), joinedAt: new Date().toISOString() });
    this.guilds.set(id, guild);
    if (options.botInstalled ?? true) {
      this.installBot(id, options.botPermissions ?? BOT_DEFAULT_PERMISSIONS, options.botRolePosition);
    }
    return guild;
  }

  getGuild(guildId: string): GuildState {
    const guild = this.guilds.get(guildId);
    if (!guild) throw new Error(`Unknown sandbox guild ${guildId}`);
    return guild;
  }

  /** Adds the bot with a managed role on top (or at `position`); re-installing updates the permissions. */
  installBot(guildId: string, permissions: bigint, position?: number): APIRole {
    const guild = this.getGuild(guildId);
    const existing = guild.botRoleId ? guild.roles.get(guild.botRoleId) : undefined;
    if (existing) {
      existing.permissions = permissions.toString();
      if (position !== undefined) existing.position = position;
      return existing;
    }
    const roleId = generateSnowflake();
    const role = makeRole({
      id: roleId,
      name: this.applicationName,
      position: position ?? this.topPosition(guild) + 1,
      permissions: permissions.toString(),
      managed: true,
      tags: { bot_id: this.botUserId },
    });
    guild.roles.set(roleId, role);
    guild.botRoleId = roleId;
    guild.members.set(this.botUserId, {
      userId: this.botUserId,
      roles: new Set([roleId]),
      joinedAt: new Date().toISOString(),
    });
    return role;
  }

  /** The bot leaves (or is kicked): its member and its managed role disappear, as on Discord. */
  removeBot(guildId: string): void {
    const guild = this.getGuild(guildId);
    if (guild.botRoleId) guild.roles.delete(guild.botRoleId);
    guild.botRoleId = null;
    guild.members.delete(this.botUserId);
  }

  isBotIn(guild: GuildState): boolean {
    return guild.botRoleId !== null && guild.members.has(this.botUserId);
  }

  botRole(guild: GuildState): APIRole {
    const role = guild.botRoleId ? guild.roles.get(guild.botRoleId) : undefined;
    if (!role) throw new Error(`The bot is not in guild ${guild.id}`);
    return role;
  }

  setBotPermissions(guildId: string, permissions: bigint): void {
    this.botRole(this.getGuild(guildId)).permissions = permissions.toString();
  }

  setBotRolePosition(guildId: string, position: number): void {
    this.botRole(this.getGuild(guildId)).position = position;
  }

  /** Union of the permissions of @everyone and the member's roles. */
  memberPermissions(guild: GuildState, userId: string): bigint {
    const member = guild.members.get(userId);
    let permissions = BigInt(guild.roles.get(guild.id)?.permissions ?? '0');
    for (const roleId of member?.roles ?? []) {
      permissions |= BigInt(guild.roles.get(roleId)?.permissions ?? '0');
    }
    return permissions;
  }

  /** Position of the member's highest role (0 = only @everyone). */
  highestPosition(guild: GuildState, userId: string): number {
    const member = guild.members.get(userId);
    let highest = 0;
    for (const roleId of member?.roles ?? []) {
      highest = Math.max(highest, guild.roles.get(roleId)?.position ?? 0);
    }
    return highest;
  }

  botCanManageRoles(guild: GuildState): boolean {
    const permissions = this.memberPermissions(guild, this.botUserId);
    return (
      (permissions & PermissionFlagsBits.Administrator) !== 0n || (permissions & PermissionFlagsBits.ManageRoles) !== 0n
    );
  }

  topPosition(guild: GuildState): number {
    let top = 0;
    for (const role of guild.roles.values()) top = Math.max(top, role.position);
    return top;
  }

  /** Creates a role the way Discord does: at position 1, every other non-@everyone role moves up one. */
  createRole(guild: GuildState, fields: Omit<Partial<APIRole>, 'id' | 'position'>): APIRole {
    for (const role of guild.roles.values()) {
      if (role.id !== guild.id && role.position >= 1) role.position += 1;
    }
    const id = generateSnowflake();
    const role = makeRole({ name: 'new role', ...fields, id, position: 1 });
    guild.roles.set(id, role);
    return role;
  }

  addMember(guildId: string, userId: string): void {
    if (!isSnowflake(userId)) throw new Error(`User id ${userId} is not a snowflake`);
    const guild = this.getGuild(guildId);
    this.ensureUser(userId);
    if (!guild.members.has(userId)) {
      guild.members.set(userId, { userId, roles: new Set(), joinedAt: new Date().toISOString() });
    }
  }

  removeMember(guildId: string, userId: string): void {
    this.getGuild(guildId).members.delete(userId);
  }

  memberRoles(guildId: string, userId: string): string[] {
    return [...(this.getGuild(guildId).members.get(userId)?.roles ?? [])];
  }

  /** Roles ordered like Discord's client shows them: by position, then id. */
  sortedRoles(guild: GuildState): APIRole[] {
    return [...guild.roles.values()].sort((a, b) => a.position - b.position || (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
  }

  guildPayload(guild: GuildState, withCounts = false): SandboxGuildPayload {
    const payload: SandboxGuildPayload = {
      id: guild.id,
      name: guild.name,
      icon: null,
      description: null,
      home_header: null,
      splash: null,
      discovery_splash: null,
      features: [],
      banner: null,
      owner_id: guild.ownerId,
      application_id: null,
      region: 'deprecated',
      afk_channel_id: null,
      afk_timeout: 300,
      system_channel_id: null,
      system_channel_flags: 0 as GuildSystemChannelFlags,
      widget_enabled: false,
      widget_channel_id: null,
      verification_level: GuildVerificationLevel.None,
      roles: this.sortedRoles(guild).map((role) => structuredClone(role)),
      default_message_notifications: GuildDefaultMessageNotifications.OnlyMentions,
      mfa_level: GuildMFALevel.None,
      explicit_content_filter: GuildExplicitContentFilter.Disabled,
      max_presences: null,
      max_members: 500_000,
      max_stage_video_channel_users: 50,
      max_video_channel_users: 25,
      vanity_url_code: null,
      premium_tier: GuildPremiumTier.None,
      premium_subscription_count: 0,
      preferred_locale: Locale.EnglishUS,
      rules_channel_id: null,
      safety_alerts_channel_id: null,
      public_updates_channel_id: null,
      premium_progress_bar_enabled: false,
      nsfw: false,
      nsfw_level: GuildNSFWLevel.Default,
      emojis: [],
      stickers: [],
      incidents_data: null,
      hub_type: null as GuildHubType | null,
    };
    if (withCounts) {
      payload.approximate_member_count = guild.members.size;
      payload.approximate_presence_count = 0;
    }
    return payload;
  }

  memberPayload(guild: GuildState, member: MemberState): APIGuildMember & { pending: boolean } {
    return {
      user: structuredClone(this.ensureUser(member.userId)),
      nick: null,
      avatar: null,
      banner: null,
      roles: [...member.roles],
      joined_at: member.joinedAt,
      premium_since: null,
      deaf: false,
      mute: false,
      flags: 0 as GuildMemberFlags,
      pending: false,
      communication_disabled_until: null,
    };
  }

  /** A JSON snapshot for the control API and for debugging. */
  snapshot(): {
    botUserId: string;
    guilds: Array<{
      id: string;
      name: string;
      botInstalled: boolean;
      botRoleId: string | null;
      roles: APIRole[];
      members: Array<{ userId: string; roles: string[] }>;
    }>;
  } {
    return {
      botUserId: this.botUserId,
      guilds: [...this.guilds.values()].map((guild) => ({
        id: guild.id,
        name: guild.name,
        botInstalled: this.isBotIn(guild),
        botRoleId: guild.botRoleId,
        roles: this.sortedRoles(guild).map((role) => structuredClone(role)),
        members: [...guild.members.values()].map((member) => ({ userId: member.userId, roles: [...member.roles] })),
      })),
    };
  }
}
