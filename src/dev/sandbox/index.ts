/**
 * A Discord-compatible server for local use and tests: the OAuth2 bot flow, the user sign-in flow
 * (`identify guilds.join`) with its tokens, the REST routes the product uses (Add Guild Member
 * included) and a few a guild's tests need (List Guild Members behind the Server Members intent,
 * Delete Guild Role, Modify Guild Role Positions), Membership Screening, Discord's JSON errors,
 * rate-limit headers and 429s, and injectable faults. The control API (`/_sandbox`, server.ts)
 * plays the people: the owner deleting, moving and editing roles, moderators editing members'
 * roles, thousands of members at once, the bot kicked.
 *
 *   const sandbox = await startSandbox();
 *   const rest = createDiscordRest({ apiBaseUrl: sandbox.apiBaseUrl, botToken: sandbox.botToken });
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Response } from 'express';
import type { APIRole } from 'discord-api-types/v10';
import { FaultRegistry, type Fault } from './faults.js';
import { OAuthService, type AuthorizeRequest, type UserAuthorizeRequest } from './oauth.js';
import { RateLimiter, type RateLimitOptions } from './rate-limit.js';
import { createApp } from './server.js';
import { generateSnowflake } from './snowflake.js';
import {
  SandboxState,
  type CreateGuildOptions,
  type CreateUserOptions,
  type EditRoleOptions,
  type SandboxIntents,
  type SandboxUser,
} from './state.js';
import { StatsRecorder, type SandboxStats } from './stats.js';
import type { MailboxSlot } from './mail-page.js';

export type { Fault } from './faults.js';
export type { RateLimitOptions, Limit, BucketName } from './rate-limit.js';
export type { SandboxStats, MemberAddOutcome, MemberAddRecord } from './stats.js';
export type { AuthorizeRequest, UserAuthorizeRequest } from './oauth.js';
export type { CreateGuildOptions, CreateUserOptions, EditRoleOptions, SandboxIntents, SandboxUser } from './state.js';
export { isSnowflake, generateSnowflake } from './snowflake.js';

export interface SandboxOptions {
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** The application's id, which is also the bot user's id; generated when absent. */
  clientId?: string;
  clientSecret?: string;
  botToken?: string;
  rateLimits?: RateLimitOptions;
  /** The rate limiter's clock in milliseconds (default Date.now): a test freezes it to count requests into one window. */
  rateLimitClock?: () => number;
  /** Creates "Demo Server" with the bot installed and a few members, and demo users who are not members yet. */
  seedDemoGuild?: boolean;
  /** Lifetime of OAuth codes; default 10 minutes. */
  codeTtlMs?: number;
  /** The application's privileged intents; `guildMembers` (List Guild Members needs it) defaults to ON. */
  intents?: Partial<SandboxIntents>;
}

export interface SandboxGuild {
  id: string;
  name: string;
  /** The @everyone role's id (equals the guild id). */
  everyoneRoleId: string;
  /** The bot's managed role, when installed. */
  botRoleId: string | null;
  ownerId: string;
  /** Ids of the roles created with the guild, in the order given. */
  roleIds: string[];
}

export interface Sandbox {
  url: string;
  /** What DISCORD_API_BASE_URL gets: `${url}/api`. */
  apiBaseUrl: string;
  /** What DISCORD_AUTHORIZE_URL gets. */
  authorizeUrl: string;
  clientId: string;
  clientSecret: string;
  botToken: string;
  botUserId: string;
  createGuild(opts: CreateGuildOptions): SandboxGuild;
  /** Makes the user a member directly (never pending), as if they had joined long ago. */
  addMember(guildId: string, userId: string): void;
  removeMember(guildId: string, userId: string): void;
  memberRoles(guildId: string, userId: string): string[];
  roles(guildId: string): APIRole[];
  /**
   * The permissions of the bot's managed role. @everyone has neither Manage Roles nor Create
   * Instant Invite in sandbox guilds, so this decides both (default 268435457: both).
   */
  setBotPermissions(guildId: string, permissions: bigint): void;
  setBotRolePosition(guildId: string, position: number): void;
  /** An admin edits a role's permissions in the Discord client. */
  setRolePermissions(guildId: string, roleId: string, permissions: bigint): void;
  /** An admin gives a member a role by hand in the Discord client (not @everyone, not a managed role). */
  giveRoleByHand(guildId: string, userId: string, roleId: string): void;
  /** An admin takes a role from a member by hand. */
  removeRoleByHand(guildId: string, userId: string, roleId: string): void;
  /** An admin sets a member's roles by hand (managed roles they hold stay); answers the roles now held. */
  setMemberRoles(guildId: string, userId: string, roleIds: readonly string[]): string[];
  /** Makes many users members at once (creating unknown users), each with `roleIds`. */
  addMembers(
    guildId: string,
    userIds: readonly string[],
    roleIds?: readonly string[],
  ): { added: number; alreadyMembers: number };
  /** The server owner deletes a role (not @everyone, not managed): gone from every member too. */
  deleteRole(guildId: string, roleId: string): void;
  /** The server owner edits a role: name, permissions, managed flag, position (the others shift). */
  editRole(guildId: string, roleId: string, fields: EditRoleOptions): APIRole;
  /** Privileged intents of the bot's application (Server Members: on unless turned off). */
  intents(): SandboxIntents;
  setIntents(intents: Partial<SandboxIntents>): void;
  /** The bot is kicked: its member and managed role go; its requests then get 10004 or 50001 (see rest.ts). */
  removeBot(guildId: string): void;
  /** Simulated authorize: the redirect URL Discord would send the browser to. */
  authorize(opts: AuthorizeRequest): string;
  /** A sandbox user (id a snowflake); `guildCount`: servers outside the sandbox they are in already. */
  createUser(opts?: CreateUserOptions): SandboxUser;
  /** Every user but the bot (guild owners and members included), in creation order. */
  users(): SandboxUser[];
  user(id: string): SandboxUser | null;
  /**
   * Simulated sign-in (user flow, default scope `identify guilds.join`): the redirect URL Discord
   * would send the browser to, with `code` and `state`, or `error=access_denied` when `deny`.
   */
  authorizeUser(opts: UserAuthorizeRequest): string;
  /** As if the user deauthorized the app in Discord: every access and refresh token of theirs stops working. */
  revokeUserTokens(userId: string): void;
  /** The user's access tokens expire now; their refresh tokens still work. */
  expireUserTokens(userId: string): void;
  /** Rules screening (`MEMBER_VERIFICATION_GATE_ENABLED`): members added through the API start pending. */
  setMembershipScreening(guildId: string, on: boolean): void;
  /** The member accepts the rules: `pending` becomes false. */
  acceptRules(guildId: string, userId: string): void;
  member(guildId: string, userId: string): { roles: string[]; pending: boolean } | null;
  faults: { add(fault: Fault): void; clear(): void };
  /** Shows the messages of an SMTP sink (src/dev/smtp-sink.ts) on the sandbox's page and at `GET /_sandbox/mail`. */
  attachMailbox(mailbox: MailboxSlot['current']): void;
  setRateLimits(options: RateLimitOptions): void;
  stats(): SandboxStats;
  resetStats(): void;
  close(): Promise<void>;
}

export const DEMO_GUILD_NAME = 'Demo Server';
/** Members of the seeded demo guild. */
export const DEMO_MEMBER_IDS = ['200000000000000001', '200000000000000002', '200000000000000003'] as const;
/** Demo users who are not members of the demo guild: a newcomer signs in as one and is added on approval. */
export const DEMO_NEWCOMERS = [
  { id: '200000000000000101', username: 'ada.newcomer', globalName: 'Ada Newcomer' },
  { id: '200000000000000102', username: 'grace.applicant', globalName: 'Grace Applicant' },
  { id: '200000000000000103', username: 'linus_visitor', globalName: null },
] as const;

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const clientId = options.clientId ?? generateSnowflake();
  const clientSecret = options.clientSecret ?? randomBytes(24).toString('base64url');
  const botToken =
    options.botToken ??
    `${Buffer.from(clientId).toString('base64url')}.${randomBytes(4).toString('base64url')}.${randomBytes(27).toString('base64url')}`;

  const state = new SandboxState(clientId, undefined, options.intents);
  const stats = new StatsRecorder();
  const faults = new FaultRegistry();
  const rateLimiter = new RateLimiter(options.rateLimits, options.rateLimitClock);
  const oauth = new OAuthService(state, clientId, clientSecret, options.codeTtlMs ?? 10 * 60_000);
  const hanging = new Set<Response>();
  let markClosed: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => (markClosed = resolve));

  if (options.seedDemoGuild) {
    const demo = state.createGuild({ name: DEMO_GUILD_NAME, roles: [{ name: 'Member' }, { name: 'Moderator' }] });
    for (const userId of DEMO_MEMBER_IDS) state.addMember(demo.id, userId);
    for (const newcomer of DEMO_NEWCOMERS) state.createUser(newcomer);
  }

  const mailbox: MailboxSlot = { current: null };
  const app = createApp({ state, stats, oauth, faults, rateLimiter, botToken, hanging, closed, mailbox });
  const host = options.host ?? '127.0.0.1';
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(options.port ?? 0, host, (error?: Error) => (error ? reject(error) : resolve(s)));
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  const describe = (guildId: string, roleIds: string[] = []): SandboxGuild => {
    const guild = state.getGuild(guildId);
    return {
      id: guild.id,
      name: guild.name,
      everyoneRoleId: guild.id,
      botRoleId: guild.botRoleId,
      ownerId: guild.ownerId,
      roleIds,
    };
  };

  return {
    url,
    apiBaseUrl: `${url}/api`,
    authorizeUrl: `${url}/oauth2/authorize`,
    clientId,
    clientSecret,
    botToken,
    botUserId: clientId,
    createGuild(opts) {
      const guild = state.createGuild(opts);
      // Map order is insertion order: the roles of `opts.roles`, in the order given.
      const roleIds = [...guild.roles.keys()].filter((id) => id !== guild.id && id !== guild.botRoleId);
      return describe(guild.id, roleIds);
    },
    addMember: (guildId, userId) => state.addMember(guildId, userId),
    removeMember: (guildId, userId) => state.removeMember(guildId, userId),
    memberRoles: (guildId, userId) => state.memberRoles(guildId, userId),
    roles: (guildId) => state.sortedRoles(state.getGuild(guildId)).map((role) => structuredClone(role)),
    setBotPermissions: (guildId, permissions) => state.setBotPermissions(guildId, permissions),
    setBotRolePosition: (guildId, position) => state.setBotRolePosition(guildId, position),
    setRolePermissions: (guildId, roleId, permissions) => state.setRolePermissions(guildId, roleId, permissions),
    giveRoleByHand: (guildId, userId, roleId) => state.giveRoleByHand(guildId, userId, roleId),
    removeRoleByHand: (guildId, userId, roleId) => state.removeRoleByHand(guildId, userId, roleId),
    setMemberRoles: (guildId, userId, roleIds) => state.setMemberRoles(guildId, userId, roleIds),
    addMembers: (guildId, userIds, roleIds) => state.addMembers(guildId, userIds, roleIds),
    deleteRole: (guildId, roleId) => state.deleteRoleByHand(guildId, roleId),
    editRole: (guildId, roleId, fields) => structuredClone(state.editRole(guildId, roleId, fields)),
    intents: () => ({ ...state.intents }),
    setIntents: (intents) => state.setIntents(intents),
    removeBot: (guildId) => state.removeBot(guildId),
    authorize: (opts) => oauth.authorize(opts),
    createUser: (opts) => state.describeUser(state.createUser(opts)),
    users: () => state.humanUsers().map((user) => state.describeUser(user)),
    user: (id) => {
      const user = state.users.get(id);
      return user && user.id !== state.botUserId ? state.describeUser(user) : null;
    },
    authorizeUser: (opts) => oauth.authorizeUser(opts),
    revokeUserTokens: (userId) => oauth.revokeUser(userId),
    expireUserTokens: (userId) => oauth.expireUser(userId),
    setMembershipScreening: (guildId, on) => state.setMembershipScreening(guildId, on),
    acceptRules: (guildId, userId) => state.acceptRules(guildId, userId),
    member: (guildId, userId) => {
      const member = state.getGuild(guildId).members.get(userId);
      return member ? { roles: [...member.roles], pending: member.pending } : null;
    },
    faults: { add: (fault) => faults.add(fault), clear: () => faults.clear() },
    attachMailbox: (sink) => {
      mailbox.current = sink;
    },
    setRateLimits: (rateLimits) => rateLimiter.configure(rateLimits),
    stats: () => stats.snapshot(),
    resetStats: () => stats.reset(),
    close: async () => {
      markClosed();
      for (const res of hanging) res.destroy();
      hanging.clear();
      await new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}
