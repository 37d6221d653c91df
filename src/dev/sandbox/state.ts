/**
 * The sandbox's world: users, guilds, their roles and members, the bot user. Plain data and the
 * operations on it; HTTP concerns (status codes, JSON error bodies) live in rest.ts.
 */
import {
  GuildDefaultMessageNotifications,
  GuildExplicitContentFilter,
  GuildFeature,
  GuildHubType,
  GuildMFALevel,
  GuildNSFWLevel,
  GuildPremiumTier,
  GuildSystemChannelFlags,
  GuildVerificationLevel,
  Locale,
  PermissionFlagsBits,
  UserPremiumType,
  type GuildMemberFlags,
  type RoleFlags,
  type UserFlags,
  type APIGuild,
  type APIGuildMember,
  type APIRole,
  type APIUser,
} from 'discord-api-types/v10';
import { generateSnowflake, isSnowflake } from './snowflake.js';

/** Discord's limit of roles per guild (including @everyone). */
export const MAX_ROLES = 250;

/**
 * Permissions of @everyone in a new guild: Discord's default set without Create Instant Invite
 * (1 << 0), as in a server whose admins turned invites off for @everyone. The bot's own role then
 * decides whether it may add members (Add Guild Member needs Create Instant Invite), so a test can
 * take the permission away with `setBotPermissions`. Manage Roles is not in the set either.
 */
export const DEFAULT_EVERYONE_PERMISSIONS = 1_071_698_660_928n;

/** Discord's limit of servers a user can be in (error 30001 beyond it). */
export const MAX_GUILDS_PER_USER = 100;

/** A guild, member, role or user the control API was asked about does not exist (404 there; other errors 400). */
export class SandboxNotFoundError extends Error {}

/**
 * The bot application's privileged gateway intents, as switched on in Discord's developer portal.
 * Only the one the REST API looks at: Server Members, which List Guild Members needs.
 */
export interface SandboxIntents {
  /**
   * Server Members Intent. Default ON in the sandbox, so that tests and `npm start` can list a
   * guild's members without set-up; a test of the refusal turns it off (`PUT /_sandbox/intents`
   * or `startSandbox({ intents: { guildMembers: false } })`). Discord's own default for a new
   * application is off.
   */
  guildMembers: boolean;
}

/** What the control API may change of a role, as a server owner would in the Discord client. */
export interface EditRoleOptions {
  name?: string;
  permissions?: bigint;
  /** An integration's role (a bot's or a subscription's): nobody can give it by hand or delete it. */
  managed?: boolean;
  /** Moves the role there, the others shifting as on Discord (see {@link SandboxState.moveRole}). */
  position?: number;
}

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
  /** Has not yet accepted the rules of a guild with Membership Screening. */
  pending: boolean;
  nick: string | null;
  mute: boolean;
  deaf: boolean;
}

/** A sandbox user as the control API shows it. */
export interface SandboxUser {
  id: string;
  username: string;
  globalName: string | null;
  /** An avatar hash (32 hex digits, `a_` first when animated) or null. */
  avatar: string | null;
  /** Servers the user is in: those outside the sandbox (`guildCount` at creation) plus sandbox guilds. */
  guildCount: number;
}

export interface CreateUserOptions {
  /** Discord's rules: 2-32 characters of lowercase letters, digits, `_` and `.`; unique. Default `user<digits>`. */
  username?: string;
  /** Display name, 1-32 characters, or null; default derived from the username. */
  globalName?: string | null;
  avatar?: string | null;
  /** How many servers outside the sandbox the user is already in (for the 100-server limit); default 0. */
  guildCount?: number;
  id?: string;
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
  /** Rules screening on (`MEMBER_VERIFICATION_GATE_ENABLED`): members added through the API start pending. */
  membershipScreening: boolean;
}

export interface CreateGuildOptions {
  name: string;
  id?: string;
  botInstalled?: boolean;
  /** Permissions of the bot's managed role; default Manage Roles + Create Instant Invite (268435457). */
  botPermissions?: bigint;
  /** Position of the bot's managed role; default above every other role. */
  botRolePosition?: number;
  /** Roles created with the guild; `permissions` (default none) and `managed` (an integration's role) as Discord has them. */
  roles?: Array<{ name: string; position?: number; permissions?: bigint; managed?: boolean }>;
}

/** What the product's invite asks for: Manage Roles + Create Instant Invite (268435457). */
export const BOT_DEFAULT_PERMISSIONS = PermissionFlagsBits.ManageRoles | PermissionFlagsBits.CreateInstantInvite;

const USERNAME_PATTERN = /^(?!.*\.\.)[a-z0-9_.]{2,32}$/;
const AVATAR_HASH_PATTERN = /^(a_)?[0-9a-f]{32}$/;

function newMember(userId: string, roles: Iterable<string> = [], pending = false): MemberState {
  return {
    userId,
    roles: new Set(roles),
    joinedAt: new Date().toISOString(),
    pending,
    nick: null,
    mute: false,
    deaf: false,
  };
}

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
  /** Servers outside the sandbox each user is in (absent: 0). */
  private readonly externalGuilds = new Map<string, number>();
  /** Every username taken, so that a new user's is checked in constant time (thousands of members). */
  private readonly usernames = new Set<string>();
  readonly bot: SandboxCurrentUserPayload;
  readonly intents: SandboxIntents;

  constructor(
    readonly botUserId: string,
    readonly applicationName = 'Sandbox Bot',
    intents: Partial<SandboxIntents> = {},
  ) {
    this.intents = { guildMembers: intents.guildMembers ?? true };
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
    this.usernames.add(this.bot.username);
  }

  setIntents(intents: Partial<SandboxIntents>): void {
    if (intents.guildMembers !== undefined) this.intents.guildMembers = intents.guildMembers;
  }

  /** `user<last 6 digits of the id>`, with `_2`, `_3`... when taken. */
  private defaultUsername(id: string): string {
    let username = `user${id.slice(-6)}`;
    for (let n = 2; this.usernames.has(username); n += 1) username = `user${id.slice(-6)}_${n}`;
    return username;
  }

  ensureUser(userId: string): APIUser {
    const existing = this.users.get(userId);
    if (existing) return existing;
    const user: APIUser = {
      id: userId,
      username: this.defaultUsername(userId),
      discriminator: '0',
      global_name: `Sandbox User ${userId.slice(-4)}`,
      avatar: null,
      flags: 0 as UserFlags,
      public_flags: 0 as UserFlags,
      primary_guild: null,
    };
    this.users.set(userId, user);
    this.usernames.add(user.username);
    return user;
  }

  /** A new user, validated like Discord validates usernames, display names and avatar hashes. */
  createUser(options: CreateUserOptions = {}): APIUser {
    const id = options.id ?? generateSnowflake();
    if (!isSnowflake(id)) throw new Error(`User id ${id} is not a snowflake`);
    if (this.users.has(id)) throw new Error(`User ${id} already exists`);
    let username = options.username;
    if (username === undefined) {
      username = this.defaultUsername(id);
    } else if (!USERNAME_PATTERN.test(username)) {
      throw new Error('Username must be 2-32 characters: lowercase letters, digits, "_" and "." (no "..")');
    } else if (this.usernames.has(username)) {
      throw new Error(`Username ${username} is taken`);
    }
    const globalName = options.globalName === undefined ? username : options.globalName;
    if (globalName !== null && (globalName.trim().length < 1 || globalName.length > 32)) {
      throw new Error('Display name must be 1-32 characters');
    }
    const avatar = options.avatar ?? null;
    if (avatar !== null && !AVATAR_HASH_PATTERN.test(avatar)) {
      throw new Error('Avatar must be an avatar hash: 32 hex digits, "a_" first when animated');
    }
    const guildCount = options.guildCount ?? 0;
    if (!Number.isInteger(guildCount) || guildCount < 0 || guildCount > 1000) {
      throw new Error('guildCount must be an integer from 0 to 1000');
    }
    const user: APIUser = {
      id,
      username,
      discriminator: '0',
      global_name: globalName,
      avatar,
      flags: 0 as UserFlags,
      public_flags: 0 as UserFlags,
      primary_guild: null,
    };
    this.users.set(id, user);
    this.usernames.add(username);
    if (guildCount > 0) this.externalGuilds.set(id, guildCount);
    return user;
  }

  /** Every user but the bot, in creation order. */
  humanUsers(): APIUser[] {
    return [...this.users.values()].filter((user) => user.id !== this.botUserId);
  }

  describeUser(user: APIUser): SandboxUser {
    return {
      id: user.id,
      username: user.username,
      globalName: user.global_name,
      avatar: user.avatar,
      guildCount: this.userGuildCount(user.id),
    };
  }

  /** Servers the user is in: outside the sandbox plus the sandbox guilds that have them as a member. */
  userGuildCount(userId: string): number {
    let count = this.externalGuilds.get(userId) ?? 0;
    for (const guild of this.guilds.values()) if (guild.members.has(userId)) count += 1;
    return count;
  }

  /** `GET /users/@me` with a user's access token; `email` and `verified` only with the `email` scope. */
  currentUserPayload(userId: string, scopes: readonly string[]): SandboxCurrentUserPayload {
    const user = this.ensureUser(userId);
    const payload: SandboxCurrentUserPayload = {
      id: user.id,
      username: user.username,
      avatar: user.avatar,
      discriminator: '0',
      public_flags: 0 as UserFlags,
      flags: 0 as UserFlags,
      banner: null,
      accent_color: null,
      global_name: user.global_name,
      avatar_decoration_data: null,
      collectibles: null,
      primary_guild: null,
      mfa_enabled: false,
      locale: Locale.EnglishUS,
      premium_type: UserPremiumType.None,
    };
    if (scopes.includes('email')) {
      payload.email = `${user.username}@users.sandbox.invalid`;
      payload.verified = true;
    }
    return payload;
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
      membershipScreening: false,
    };
    guild.roles.set(
      id,
      makeRole({ id, name: '@everyone', position: 0, permissions: DEFAULT_EVERYONE_PERMISSIONS.toString() }),
    );
    (options.roles ?? []).forEach((role, index) => {
      const roleId = generateSnowflake();
      guild.roles.set(
        roleId,
        makeRole({
          id: roleId,
          name: role.name,
          position: role.position ?? index + 1,
          permissions: (role.permissions ?? 0n).toString(),
          managed: role.managed ?? false,
        }),
      );
    });
    guild.members.set(ownerId, newMember(ownerId));
    this.guilds.set(id, guild);
    if (options.botInstalled ?? true) {
      this.installBot(id, options.botPermissions ?? BOT_DEFAULT_PERMISSIONS, options.botRolePosition);
    }
    return guild;
  }

  getGuild(guildId: string): GuildState {
    const guild = this.guilds.get(guildId);
    if (!guild) throw new SandboxNotFoundError(`Unknown sandbox guild ${guildId}`);
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
    guild.members.set(this.botUserId, newMember(this.botUserId, [roleId]));
    return role;
  }

  /**
   * The bot leaves (or is kicked): its member and its managed role disappear, as on Discord. Its
   * requests to the guild then answer as Discord's do for a guild the bot is not in (see rest.ts).
   */
  removeBot(guildId: string): void {
    const guild = this.getGuild(guildId);
    if (guild.botRoleId) this.deleteRole(guild, guild.botRoleId);
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

  /** An admin edits a role's permissions in the Discord client. */
  setRolePermissions(guildId: string, roleId: string, permissions: bigint): void {
    this.role(this.getGuild(guildId), roleId).permissions = permissions.toString();
  }

  role(guild: GuildState, roleId: string): APIRole {
    const role = guild.roles.get(roleId);
    if (!role) throw new SandboxNotFoundError(`Unknown sandbox role ${roleId} in guild ${guild.id}`);
    return role;
  }

  member(guild: GuildState, userId: string): MemberState {
    const member = guild.members.get(userId);
    if (!member) throw new SandboxNotFoundError(`${userId} is not a member of guild ${guild.id}`);
    return member;
  }

  /** A role a person may give or take by hand: not @everyone (everyone has it), not an integration's (managed). */
  private handRole(guild: GuildState, roleId: string): APIRole {
    const role = this.role(guild, roleId);
    if (role.id === guild.id) throw new Error('@everyone belongs to every member: it cannot be given or taken');
    if (role.managed)
      throw new Error(`Role ${roleId} is managed by an integration: it cannot be given or taken by hand`);
    return role;
  }

  /** An admin gives a member a role by hand in the Discord client. */
  giveRoleByHand(guildId: string, userId: string, roleId: string): void {
    const guild = this.getGuild(guildId);
    const member = this.member(guild, userId);
    member.roles.add(this.handRole(guild, roleId).id);
  }

  /** An admin takes a role from a member by hand in the Discord client (nothing changes when they lack it). */
  removeRoleByHand(guildId: string, userId: string, roleId: string): void {
    const guild = this.getGuild(guildId);
    const member = this.member(guild, userId);
    member.roles.delete(this.handRole(guild, roleId).id);
  }

  /**
   * An admin sets a member's roles by hand: exactly `roleIds` afterwards. Managed roles the member
   * holds (a bot's own role) stay, since nobody can take them; they may also be listed.
   */
  setMemberRoles(guildId: string, userId: string, roleIds: readonly string[]): string[] {
    const guild = this.getGuild(guildId);
    const member = this.member(guild, userId);
    const wanted = new Set<string>();
    for (const roleId of roleIds) {
      const role = this.role(guild, roleId);
      if (!(role.managed && member.roles.has(role.id))) this.handRole(guild, roleId);
      wanted.add(role.id);
    }
    for (const roleId of member.roles) if (guild.roles.get(roleId)?.managed) wanted.add(roleId);
    member.roles = wanted;
    return [...wanted];
  }

  /**
   * Makes many users members in one go (never pending, as `addMember`), creating the users that
   * do not exist yet, and gives each the `roles` (added to the roles existing members hold).
   * Everything is checked before anything changes. Linear in the number of users.
   */
  addMembers(
    guildId: string,
    userIds: readonly string[],
    roleIds: readonly string[] = [],
  ): { added: number; alreadyMembers: number } {
    const guild = this.getGuild(guildId);
    for (const userId of userIds) {
      if (!isSnowflake(userId)) throw new Error(`User id ${String(userId)} is not a snowflake`);
    }
    for (const roleId of roleIds) this.handRole(guild, roleId);
    let added = 0;
    let alreadyMembers = 0;
    for (const userId of new Set(userIds)) {
      this.ensureUser(userId);
      const member = guild.members.get(userId);
      if (member) {
        alreadyMembers += 1;
        for (const roleId of roleIds) member.roles.add(roleId);
      } else {
        guild.members.set(userId, newMember(userId, roleIds));
        added += 1;
      }
    }
    return { added, alreadyMembers };
  }

  /** Removes a role from the guild and from every member holding it; no checks (see `deleteRoleByHand`). */
  deleteRole(guild: GuildState, roleId: string): void {
    if (!guild.roles.delete(roleId)) return;
    for (const member of guild.members.values()) member.roles.delete(roleId);
  }

  /**
   * The server owner deletes a role in the Discord client: no permission or hierarchy checks, but
   * @everyone and managed roles cannot be deleted by anyone (Discord answers 50028 Invalid Role).
   */
  deleteRoleByHand(guildId: string, roleId: string): void {
    const guild = this.getGuild(guildId);
    const role = this.role(guild, roleId);
    if (role.id === guild.id) throw new Error('@everyone cannot be deleted');
    if (role.managed)
      throw new Error(`Role ${roleId} is managed by an integration: remove the integration (or the bot) instead`);
    this.deleteRole(guild, roleId);
  }

  /**
   * Moves a role as dragging it in Discord's role list does: it ends at `position` (at least 1,
   * at most the highest position in the guild) and the roles between its old and new place shift
   * by one, keeping their order. @everyone stays at 0 and cannot be moved.
   */
  moveRole(guild: GuildState, roleId: string, position: number): void {
    const role = this.role(guild, roleId);
    if (role.id === guild.id) throw new Error('@everyone stays at position 0');
    if (!Number.isInteger(position)) throw new Error('position must be an integer');
    const target = Math.max(1, Math.min(position, this.topPosition(guild)));
    const from = role.position;
    for (const other of guild.roles.values()) {
      if (other === role || other.id === guild.id) continue;
      if (from < 1) {
        // Not in the list yet (a role put at 0 by setBotRolePosition): inserted, the ones above move up.
        if (other.position >= target) other.position += 1;
      } else if (target > from && other.position > from && other.position <= target) {
        other.position -= 1;
      } else if (target < from && other.position >= target && other.position < from) {
        other.position += 1;
      }
    }
    role.position = target;
  }

  /** The server owner edits a role in the Discord client: all fields checked before any changes. */
  editRole(guildId: string, roleId: string, fields: EditRoleOptions): APIRole {
    const guild = this.getGuild(guildId);
    const role = this.role(guild, roleId);
    if (fields.name !== undefined && (fields.name.length < 1 || fields.name.length > 100)) {
      throw new Error('name must be 1-100 characters');
    }
    if (fields.permissions !== undefined && (fields.permissions < 0n || fields.permissions >= 1n << 64n)) {
      throw new Error('permissions must be an unsigned 64-bit integer');
    }
    if (fields.managed !== undefined && fields.managed !== role.managed && role.id === guild.botRoleId) {
      throw new Error("The bot's own role is always managed");
    }
    if (fields.managed !== undefined && role.id === guild.id && fields.managed) {
      throw new Error('@everyone cannot be managed');
    }
    if (fields.position !== undefined) {
      if (role.id === guild.id) throw new Error('@everyone stays at position 0');
      if (!Number.isInteger(fields.position) || fields.position < 1) {
        throw new Error('position must be an integer of at least 1');
      }
    }
    if (fields.name !== undefined) role.name = fields.name;
    if (fields.permissions !== undefined) role.permissions = fields.permissions.toString();
    if (fields.managed !== undefined) role.managed = fields.managed;
    if (fields.position !== undefined) this.moveRole(guild, roleId, fields.position);
    return role;
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
    return this.botHas(guild, PermissionFlagsBits.ManageRoles);
  }

  /** Whether the bot has `permission` in the guild (Administrator implies every permission). */
  botHas(guild: GuildState, permission: bigint): boolean {
    const permissions = this.memberPermissions(guild, this.botUserId);
    return (permissions & PermissionFlagsBits.Administrator) !== 0n || (permissions & permission) === permission;
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

  /** Control API: makes the user a member (not pending: as if they joined long ago). */
  addMember(guildId: string, userId: string): void {
    if (!isSnowflake(userId)) throw new Error(`User id ${userId} is not a snowflake`);
    const guild = this.getGuild(guildId);
    this.ensureUser(userId);
    if (!guild.members.has(userId)) guild.members.set(userId, newMember(userId));
  }

  /** Add Guild Member: a new member, pending when the guild screens members. */
  joinMember(
    guild: GuildState,
    userId: string,
    fields: { roles?: string[]; nick?: string | null; mute?: boolean; deaf?: boolean } = {},
  ): MemberState {
    const member = newMember(userId, fields.roles ?? [], guild.membershipScreening);
    member.nick = fields.nick ?? null;
    member.mute = fields.mute ?? false;
    member.deaf = fields.deaf ?? false;
    guild.members.set(userId, member);
    return member;
  }

  /**
   * Turns rules screening on or off. Off: nobody is pending any more (there are no rules left to
   * accept). On: members already in the guild stay full members, as on Discord.
   */
  setMembershipScreening(guildId: string, on: boolean): void {
    const guild = this.getGuild(guildId);
    guild.membershipScreening = on;
    if (!on) for (const member of guild.members.values()) member.pending = false;
  }

  /** The member accepts the rules: no longer pending. */
  acceptRules(guildId: string, userId: string): void {
    const member = this.getGuild(guildId).members.get(userId);
    if (!member) throw new Error(`User ${userId} is not a member of guild ${guildId}`);
    member.pending = false;
  }

  removeMember(guildId: string, userId: string): void {
    this.getGuild(guildId).members.delete(userId);
  }

  /**
   * List Guild Members' page: members whose user id is above `after`, by user id ascending, at most
   * `limit`. Sorts the guild's members by id on each call (n log n; thousands of members are fine).
   */
  listMembers(guild: GuildState, after: bigint, limit: number): MemberState[] {
    const page: Array<{ id: bigint; member: MemberState }> = [];
    for (const member of guild.members.values()) {
      const id = BigInt(member.userId);
      if (id > after) page.push({ id, member });
    }
    page.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return page.slice(0, limit).map(({ member }) => member);
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
      features: guild.membershipScreening ? [GuildFeature.MemberVerificationGateEnabled] : [],
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

  memberPayload(member: MemberState): APIGuildMember & { pending: boolean } {
    return {
      user: structuredClone(this.ensureUser(member.userId)),
      nick: member.nick,
      avatar: null,
      banner: null,
      roles: [...member.roles],
      joined_at: member.joinedAt,
      premium_since: null,
      deaf: member.deaf,
      mute: member.mute,
      flags: 0 as GuildMemberFlags,
      pending: member.pending,
      communication_disabled_until: null,
    };
  }

  /** A JSON snapshot for the control API and for debugging. */
  snapshot(): {
    botUserId: string;
    intents: SandboxIntents;
    users: SandboxUser[];
    guilds: Array<{
      id: string;
      name: string;
      botInstalled: boolean;
      botRoleId: string | null;
      membershipScreening: boolean;
      roles: APIRole[];
      members: Array<{ userId: string; roles: string[]; pending: boolean }>;
    }>;
  } {
    return {
      botUserId: this.botUserId,
      intents: { ...this.intents },
      users: this.humanUsers().map((user) => this.describeUser(user)),
      guilds: [...this.guilds.values()].map((guild) => ({
        id: guild.id,
        name: guild.name,
        botInstalled: this.isBotIn(guild),
        botRoleId: guild.botRoleId,
        membershipScreening: guild.membershipScreening,
        roles: this.sortedRoles(guild).map((role) => structuredClone(role)),
        members: [...guild.members.values()].map((member) => ({
          userId: member.userId,
          roles: [...member.roles],
          pending: member.pending,
        })),
      })),
    };
  }
}
