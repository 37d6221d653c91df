/**
 * The bot-facing REST routes under `/api/v10`, as data: method, template, rate-limit bucket,
 * and a handler that either returns a reply or throws a {@link DiscordHttpError}.
 */
import { PermissionFlagsBits, RESTJSONErrorCodes, type APIRole, type RESTErrorData } from 'discord-api-types/v10';
import { DiscordHttpError, discordError, invalidFormBody } from './discord-errors.js';
import type { OAuthService, UserGrant } from './oauth.js';
import type { BucketName } from './rate-limit.js';
import { isSnowflake } from './snowflake.js';
import { MAX_GUILDS_PER_USER, MAX_ROLES, type GuildState, type SandboxState } from './state.js';
import type { StatsRecorder } from './stats.js';

export interface RouteContext {
  params: Record<string, string>;
  query: Record<string, unknown>;
  body: unknown;
  headers: Record<string, string | string[] | undefined>;
  contentTypeIsForm: boolean;
  /** Decoded `X-Audit-Log-Reason`, when sent. */
  auditLogReason: string | undefined;
  /** The user behind `Authorization: Bearer <access token>` on routes with `bearerScope`. */
  bearer?: UserGrant;
}

export interface Reply {
  status: number;
  /** Absent for 204. */
  body?: unknown;
  headers?: Record<string, string>;
}

export interface ApiRoute {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Without the `/api/v10` prefix, `:name` for parameters. */
  template: string;
  bucket: BucketName;
  /** Needs `Authorization: Bot <token>`; also counts against the global limit. */
  botAuth: boolean;
  /**
   * Also accepts `Authorization: Bearer <user access token>` whose grant carries this scope;
   * such requests do not count against the bot's global limit. Any other token: 401.
   */
  bearerScope?: string;
  /** Path parameters that must be snowflakes. */
  snowflakes: string[];
  /** Records `X-Audit-Log-Reason`. */
  audited?: boolean;
  handle(ctx: RouteContext): Reply;
}

export interface RouteDeps {
  state: SandboxState;
  stats: StatsRecorder;
  oauth: OAuthService;
}

const {
  UnknownGuild,
  UnknownMember,
  UnknownRole,
  MissingAccess,
  MissingPermissions,
  InvalidRole,
  InvalidOAuth2AccessToken,
  MissingRequiredOAuth2Scope,
  MaximumNumberOfGuildsReached,
} = RESTJSONErrorCodes;

export function createRoutes({ state, stats, oauth }: RouteDeps): ApiRoute[] {
  /**
   * The guild the bot acts in: unknown guilds and guilds without the bot (never installed, or
   * removed: kicked, left, `DELETE /_sandbox/guilds/:guildId/bot`) answer 403 50001 Missing Access.
   * Discord does not tell the two apart, and answers so on the routes below a guild; only
   * `GET /guilds/{id}` (since January 2023, discord/discord-api-docs#5840), leaving a guild and Add
   * Guild Member answer 404 10004 Unknown Guild instead, as their handlers here do.
   */
  const botGuild = (guildId: string): GuildState => {
    const guild = state.guilds.get(guildId);
    if (!guild || !state.isBotIn(guild)) throw discordError(MissingAccess);
    return guild;
  };

  const requireManageRoles = (guild: GuildState): void => {
    if (!state.botCanManageRoles(guild)) throw discordError(MissingPermissions);
  };

  /** A role the bot may hand out: known, not @everyone (10011), not managed and below the bot's highest role (50013). */
  const grantableRole = (guild: GuildState, roleId: string): APIRole => {
    const role = guild.roles.get(roleId);
    // @everyone (id == guild id) belongs to every member implicitly; it cannot be granted or removed.
    if (!role || role.id === guild.id) throw discordError(UnknownRole);
    requireManageRoles(guild);
    if (role.managed || role.position >= state.highestPosition(guild, state.botUserId)) {
      throw discordError(MissingPermissions);
    }
    return role;
  };

  /** Manage Roles, and `role` strictly below the bot's highest role (50013), as for any role the bot edits. */
  const requireBelowBot = (guild: GuildState, role: APIRole): void => {
    requireManageRoles(guild);
    if (role.position >= state.highestPosition(guild, state.botUserId)) throw discordError(MissingPermissions);
  };

  /**
   * Shared checks of PUT and DELETE member role, in Discord's order.
   *
   * Members still pending Membership Screening are not refused: Discord documents no refusal (the
   * route's page says nothing about pending members, and its list of JSON error codes has none
   * for it), and bots do add roles to pending members. Since Discord's 2023 change (its docs
   * dropped "a member with a role bypasses membership screening"), a role no longer ends
   * screening either: the member gets the role and stays `pending` until they accept the rules.
   * The sandbox does the same: 204, role added, `pending` unchanged.
   */
  const memberRoleChange = (ctx: RouteContext): { guild: GuildState; role: APIRole; roles: Set<string> } => {
    const { guildId = '', userId = '', roleId = '' } = ctx.params;
    const guild = botGuild(guildId);
    const member = guild.members.get(userId);
    if (!member) throw discordError(UnknownMember);
    return { guild, role: grantableRole(guild, roleId), roles: member.roles };
  };

  /**
   * Add Guild Member, checks in this order:
   * 1. the guild: unknown, or the bot is not in it: 404 10004 Unknown Guild;
   * 2. the access token: unknown, expired, refreshed (a stale copy), revoked, or granted by another
   *    user than `{user}`: 403 50025 "Invalid OAuth2 access token". Discord documents 50025 for
   *    exactly these cases (its staff add: a token of another application too) and answers them
   *    with 403, not 401; a product should look at the JSON code, not only the status;
   * 3. the token's scopes lack `guilds.join`: 403 50026 "Missing required OAuth2 scope" (Discord's
   *    documented code for a missing scope);
   * 4. the bot lacks Create Instant Invite: 403 50013 (Discord's docs require it);
   * 5. already a member: 204, nothing changes (`roles`, `nick`, ... are ignored);
   * 6. `roles` needs Manage Roles, and each role must be known (10011) and below the bot's highest
   *    role, not managed (50013); `nick`, `mute`, `deaf` need Manage Nicknames, Mute Members,
   *    Deafen Members (50013), as the docs' table says;
   * 7. a user already in 100 servers: 400 30001 (after the membership check, as Discord fixed in 2024);
   * 8. 201 with the member, `pending: true` in a guild with Membership Screening (with or without
   *    roles: since 2023 roles no longer skip screening).
   */
  const addGuildMember = (guildId: string, userId: string, body: AddMemberBody): { status: number; body?: unknown } => {
    const guild = state.guilds.get(guildId);
    if (!guild || !state.isBotIn(guild)) throw discordError(UnknownGuild);
    const grant = oauth.accessToken(body.access_token);
    if (!grant || grant.userId !== userId) throw discordError(InvalidOAuth2AccessToken);
    if (!grant.scopes.includes('guilds.join')) throw discordError(MissingRequiredOAuth2Scope);
    if (!state.botHas(guild, PermissionFlagsBits.CreateInstantInvite)) throw discordError(MissingPermissions);
    if (guild.members.has(userId)) return { status: 204 };
    const roles = body.roles ?? [];
    for (const roleId of roles) grantableRole(guild, roleId);
    const needs: Array<[boolean, bigint]> = [
      [body.nick !== undefined && body.nick !== null, PermissionFlagsBits.ManageNicknames],
      [body.mute === true, PermissionFlagsBits.MuteMembers],
      [body.deaf === true, PermissionFlagsBits.DeafenMembers],
    ];
    for (const [needed, permission] of needs) {
      if (needed && !state.botHas(guild, permission)) throw discordError(MissingPermissions);
    }
    if (state.userGuildCount(userId) >= MAX_GUILDS_PER_USER) throw discordError(MaximumNumberOfGuildsReached);
    const member = state.joinMember(guild, userId, {
      roles,
      nick: body.nick ?? null,
      mute: body.mute ?? false,
      deaf: body.deaf ?? false,
    });
    return { status: 201, body: state.memberPayload(member) };
  };

  return [
    {
      method: 'GET',
      template: '/guilds/:guildId',
      bucket: 'guild',
      botAuth: true,
      snowflakes: ['guildId'],
      handle: (ctx) => {
        const guild = state.guilds.get(ctx.params.guildId ?? '');
        if (!guild || !state.isBotIn(guild)) throw discordError(UnknownGuild);
        const withCounts = String(ctx.query.with_counts ?? '').toLowerCase() === 'true';
        return { status: 200, body: state.guildPayload(guild, withCounts) };
      },
    },
    {
      method: 'GET',
      template: '/guilds/:guildId/roles',
      bucket: 'roles',
      botAuth: true,
      snowflakes: ['guildId'],
      handle: (ctx) => ({ status: 200, body: state.sortedRoles(botGuild(ctx.params.guildId ?? '')) }),
    },
    {
      method: 'POST',
      template: '/guilds/:guildId/roles',
      bucket: 'roles',
      botAuth: true,
      snowflakes: ['guildId'],
      audited: true,
      handle: (ctx) => {
        const guild = botGuild(ctx.params.guildId ?? '');
        requireManageRoles(guild);
        const fields = parseRoleBody(ctx.body);
        const botPermissions = state.memberPermissions(guild, state.botUserId);
        const requested = BigInt(fields.permissions ?? '0');
        // Discord refuses to hand out permissions the bot does not have itself (unless Administrator).
        if ((botPermissions & PermissionFlagsBits.Administrator) === 0n && (requested & ~botPermissions) !== 0n) {
          throw discordError(MissingPermissions);
        }
        if (guild.roles.size >= MAX_ROLES) throw discordError(RESTJSONErrorCodes.MaximumNumberOfGuildRolesReached);
        const role = state.createRole(guild, fields);
        stats.roleCreated();
        return { status: 200, body: role };
      },
    },
    {
      method: 'PATCH',
      template: '/guilds/:guildId/roles',
      bucket: 'roles',
      botAuth: true,
      snowflakes: ['guildId'],
      audited: true,
      /**
       * Modify Guild Role Positions: 200 with every role. Needs Manage Roles; each role listed, and
       * the place it goes to, must be below the bot's highest role (50013). Unknown roles: 10011;
       * @everyone cannot move (50028). Each move shifts the roles it passes, as in `moveRole`; the
       * moves apply lowest target first, so a full new order comes out as listed.
       */
      handle: (ctx) => {
        const guild = botGuild(ctx.params.guildId ?? '');
        const moves = parseRolePositionsBody(ctx.body);
        requireManageRoles(guild);
        const botHighest = state.highestPosition(guild, state.botUserId);
        for (const { id, position } of moves) {
          const role = guild.roles.get(id);
          if (!role) throw discordError(UnknownRole);
          if (role.id === guild.id) throw discordError(InvalidRole);
          requireBelowBot(guild, role);
          if (position !== null && position >= botHighest) throw discordError(MissingPermissions);
        }
        const ordered = moves
          .filter((move): move is { id: string; position: number } => move.position !== null)
          .sort((a, b) => a.position - b.position);
        for (const { id, position } of ordered) state.moveRole(guild, id, position);
        return { status: 200, body: state.sortedRoles(guild) };
      },
    },
    {
      method: 'GET',
      template: '/guilds/:guildId/roles/:roleId',
      bucket: 'roles',
      botAuth: true,
      snowflakes: ['guildId', 'roleId'],
      handle: (ctx) => {
        const role = botGuild(ctx.params.guildId ?? '').roles.get(ctx.params.roleId ?? '');
        if (!role) throw discordError(UnknownRole);
        return { status: 200, body: role };
      },
    },
    {
      method: 'DELETE',
      template: '/guilds/:guildId/roles/:roleId',
      bucket: 'roles',
      botAuth: true,
      snowflakes: ['guildId', 'roleId'],
      audited: true,
      /**
       * Delete Guild Role: 204, the role gone from the guild and from every member. Unknown role:
       * 10011; no Manage Roles: 50013; @everyone or a managed role (a bot's, an integration's):
       * 400 50028 Invalid Role, whoever asks; a role at or above the bot's highest: 50013.
       */
      handle: (ctx) => {
        const guild = botGuild(ctx.params.guildId ?? '');
        const role = guild.roles.get(ctx.params.roleId ?? '');
        if (!role) throw discordError(UnknownRole);
        requireManageRoles(guild);
        if (role.id === guild.id || role.managed) throw discordError(InvalidRole);
        requireBelowBot(guild, role);
        state.deleteRole(guild, role.id);
        return { status: 204 };
      },
    },
    {
      method: 'PUT',
      template: '/guilds/:guildId/members/:userId/roles/:roleId',
      bucket: 'memberRoles',
      botAuth: true,
      snowflakes: ['guildId', 'userId', 'roleId'],
      audited: true,
      handle: (ctx) => {
        const { guild, role, roles } = memberRoleChange(ctx);
        roles.add(role.id);
        stats.memberRoleAdded(guild.id, ctx.params.userId ?? '', role.id);
        return { status: 204 };
      },
    },
    {
      method: 'DELETE',
      template: '/guilds/:guildId/members/:userId/roles/:roleId',
      bucket: 'memberRoles',
      botAuth: true,
      snowflakes: ['guildId', 'userId', 'roleId'],
      audited: true,
      handle: (ctx) => {
        const { role, roles } = memberRoleChange(ctx);
        roles.delete(role.id);
        return { status: 204 };
      },
    },
    {
      method: 'PUT',
      template: '/guilds/:guildId/members/:userId',
      bucket: 'memberAdd',
      botAuth: true,
      snowflakes: ['guildId', 'userId'],
      handle: (ctx) => {
        const { guildId = '', userId = '' } = ctx.params;
        let roles: string[] = [];
        try {
          const body = parseAddMemberBody(ctx.body);
          roles = body.roles ?? [];
          const reply = addGuildMember(guildId, userId, body);
          const outcome = reply.status === 201 ? 'added' : 'already_member';
          stats.memberAdd({ guildId, userId, outcome, roles, status: reply.status });
          return reply;
        } catch (error) {
          if (error instanceof DiscordHttpError) {
            stats.memberAdd({
              guildId,
              userId,
              outcome: 'refused',
              roles,
              status: error.status,
              code: error.body.code,
            });
          }
          throw error;
        }
      },
    },
    {
      method: 'GET',
      template: '/guilds/:guildId/members',
      bucket: 'members',
      botAuth: true,
      snowflakes: ['guildId'],
      /**
       * List Guild Members: `limit` 1-1000 (default 1) members whose user id is above `after`
       * (default 0), by user id ascending. Bad query values: 400 50035 first; then the guild (50001
       * as elsewhere); then the application's Server Members intent: off, Discord answers 403
       * 50001 Missing Access (`PUT /_sandbox/intents`).
       */
      handle: (ctx) => {
        const { limit, after } = parseListMembersQuery(ctx.query);
        const guild = botGuild(ctx.params.guildId ?? '');
        if (!state.intents.guildMembers) throw discordError(MissingAccess);
        return {
          status: 200,
          body: state.listMembers(guild, after, limit).map((member) => state.memberPayload(member)),
        };
      },
    },
    {
      method: 'GET',
      template: '/guilds/:guildId/members/:userId',
      bucket: 'members',
      botAuth: true,
      snowflakes: ['guildId', 'userId'],
      handle: (ctx) => {
        const guild = botGuild(ctx.params.guildId ?? '');
        const member = guild.members.get(ctx.params.userId ?? '');
        if (!member) throw discordError(UnknownMember);
        return { status: 200, body: state.memberPayload(member) };
      },
    },
    {
      method: 'GET',
      template: '/users/@me',
      bucket: 'users',
      botAuth: true,
      bearerScope: 'identify',
      snowflakes: [],
      handle: (ctx) => ({
        status: 200,
        body: ctx.bearer ? state.currentUserPayload(ctx.bearer.userId, ctx.bearer.scopes) : state.bot,
      }),
    },
    {
      method: 'DELETE',
      template: '/users/@me/guilds/:guildId',
      bucket: 'users',
      botAuth: true,
      snowflakes: ['guildId'],
      handle: (ctx) => {
        const guild = state.guilds.get(ctx.params.guildId ?? '');
        if (!guild || !state.isBotIn(guild)) throw discordError(UnknownGuild);
        state.removeBot(guild.id);
        return { status: 204 };
      },
    },
    {
      method: 'POST',
      template: '/oauth2/token',
      bucket: 'oauth',
      botAuth: false,
      snowflakes: [],
      handle: (ctx) => {
        const authorization = ctx.headers.authorization;
        return oauth.exchange({
          contentTypeIsForm: ctx.contentTypeIsForm,
          authorization: typeof authorization === 'string' ? authorization : undefined,
          form: ctx.contentTypeIsForm && isRecord(ctx.body) ? ctx.body : {},
        });
      },
    },
    {
      method: 'POST',
      template: '/oauth2/token/revoke',
      bucket: 'oauth',
      botAuth: false,
      snowflakes: [],
      handle: (ctx) => {
        const authorization = ctx.headers.authorization;
        return oauth.revoke({
          contentTypeIsForm: ctx.contentTypeIsForm,
          authorization: typeof authorization === 'string' ? authorization : undefined,
          form: ctx.contentTypeIsForm && isRecord(ctx.body) ? ctx.body : {},
        });
      },
    },
  ];
}

export interface AddMemberBody {
  access_token: string;
  roles?: string[];
  nick?: string | null;
  mute?: boolean;
  deaf?: boolean;
}

/** Validates an Add Guild Member body (the spec's BotAddGuildMemberRequest) like Discord: 50035 with `errors`. */
export function parseAddMemberBody(body: unknown): AddMemberBody {
  const source = body === undefined || body === null ? {} : body;
  if (!isRecord(source)) {
    throw invalidFormBody('_root', 'DICT_TYPE_CONVERT', 'Only dictionaries may be used in a DictType');
  }
  const accessToken = source.access_token;
  if (accessToken === undefined || accessToken === null) {
    throw invalidFormBody('access_token', 'BASE_TYPE_REQUIRED', 'This field is required');
  }
  if (typeof accessToken !== 'string') throw invalidFormBody('access_token', 'BASE_TYPE_STRING', 'Must be a string.');
  if (accessToken.length > 10_240) {
    throw invalidFormBody('access_token', 'BASE_TYPE_MAX_LENGTH', 'Must be 10240 or fewer in length.');
  }
  const parsed: AddMemberBody = { access_token: accessToken };
  if (source.roles !== undefined && source.roles !== null) {
    if (!Array.isArray(source.roles)) {
      throw invalidFormBody('roles', 'LIST_TYPE_CONVERT', 'Only iterables may be used in a ListType');
    }
    if (source.roles.length > MAX_ROLES) {
      throw invalidFormBody('roles', 'BASE_TYPE_MAX_LENGTH', `Must be ${MAX_ROLES} or fewer in length.`);
    }
    const errors: RESTErrorData = {};
    source.roles.forEach((value: unknown, index) => {
      if (!isSnowflake(value)) {
        errors[String(index)] = {
          _errors: [{ code: 'NUMBER_TYPE_COERCE', message: `Value "${String(value)}" is not snowflake.` }],
        };
      }
    });
    if (Object.keys(errors).length > 0) {
      throw discordError(RESTJSONErrorCodes.InvalidFormBodyOrContentType, { errors: { roles: errors } });
    }
    parsed.roles = [...new Set(source.roles as string[])];
  }
  if (source.nick !== undefined && source.nick !== null) {
    if (typeof source.nick !== 'string') throw invalidFormBody('nick', 'BASE_TYPE_STRING', 'Must be a string.');
    if (source.nick.length < 1 || source.nick.length > 32) {
      throw invalidFormBody('nick', 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 32 in length.');
    }
    parsed.nick = source.nick;
  }
  for (const key of ['mute', 'deaf'] as const) {
    const value = source[key];
    if (value !== undefined && value !== null) {
      if (typeof value !== 'boolean') throw invalidFormBody(key, 'BASE_TYPE_BOOLEAN', 'Must be either true or false.');
      parsed[key] = value;
    }
  }
  return parsed;
}

const MAX_SNOWFLAKE = 18_446_744_073_709_551_615n;

/**
 * List Guild Members' query, validated like Discord: 50035 with an `errors` entry for each bad
 * parameter (`limit` not an integer or outside 1-1000, `after` not a snowflake).
 */
export function parseListMembersQuery(query: Record<string, unknown>): { limit: number; after: bigint } {
  const errors: RESTErrorData = {};
  const fail = (field: string, code: string, message: string) => {
    errors[field] = { _errors: [{ code, message }] };
  };
  let limit = 1;
  if (query.limit !== undefined) {
    const text = typeof query.limit === 'string' ? query.limit.trim() : undefined;
    if (text === undefined || !/^[-+]?\d{1,16}$/.test(text)) {
      fail('limit', 'NUMBER_TYPE_COERCE', `Value "${String(query.limit)}" is not int.`);
    } else {
      limit = Number(text);
      if (limit < 1) fail('limit', 'NUMBER_TYPE_MIN', 'int value should be greater than or equal to 1.');
      else if (limit > 1000) fail('limit', 'NUMBER_TYPE_MAX', 'int value should be less than or equal to 1000.');
    }
  }
  let after = 0n;
  if (query.after !== undefined) {
    const text = typeof query.after === 'string' ? query.after.trim() : undefined;
    if (text === undefined || !/^\d{1,20}$/.test(text) || BigInt(text) > MAX_SNOWFLAKE) {
      fail('after', 'NUMBER_TYPE_COERCE', `Value "${String(query.after)}" is not snowflake.`);
    } else {
      after = BigInt(text);
    }
  }
  if (Object.keys(errors).length > 0) {
    throw discordError(RESTJSONErrorCodes.InvalidFormBodyOrContentType, { errors });
  }
  return { limit, after };
}

/** Modify Guild Role Positions' body (the spec's array of UpdateRolePositionsRequest), validated like Discord. */
export function parseRolePositionsBody(body: unknown): Array<{ id: string; position: number | null }> {
  if (!Array.isArray(body))
    throw invalidFormBody('_root', 'LIST_TYPE_CONVERT', 'Only iterables may be used in a ListType');
  const errors: RESTErrorData = {};
  const moves: Array<{ id: string; position: number | null }> = [];
  body.forEach((item: unknown, index) => {
    const fieldErrors: RESTErrorData = {};
    if (!isRecord(item)) {
      errors[String(index)] = {
        _errors: [{ code: 'DICT_TYPE_CONVERT', message: 'Only dictionaries may be used in a DictType' }],
      };
      return;
    }
    if (item.id === undefined || item.id === null) {
      fieldErrors.id = { _errors: [{ code: 'BASE_TYPE_REQUIRED', message: 'This field is required' }] };
    } else if (!isSnowflake(item.id)) {
      fieldErrors.id = {
        _errors: [{ code: 'NUMBER_TYPE_COERCE', message: `Value "${String(item.id)}" is not snowflake.` }],
      };
    }
    const position = item.position ?? null;
    if (
      position !== null &&
      (typeof position !== 'number' || !Number.isInteger(position) || Math.abs(position) >= 2 ** 31)
    ) {
      fieldErrors.position = {
        _errors: [{ code: 'NUMBER_TYPE_COERCE', message: `Value "${String(position)}" is not int.` }],
      };
    }
    if (Object.keys(fieldErrors).length > 0) errors[String(index)] = fieldErrors;
    else moves.push({ id: item.id as string, position: position as number | null });
  });
  if (Object.keys(errors).length > 0) {
    throw discordError(RESTJSONErrorCodes.InvalidFormBodyOrContentType, { errors });
  }
  return moves;
}

interface RoleFields {
  name?: string;
  permissions?: string;
  color?: number;
  colors?: APIRole['colors'];
  hoist?: boolean;
  mentionable?: boolean;
}

/** Validates a create-role body like Discord: wrong types and lengths answer 50035 with `errors`. */
export function parseRoleBody(body: unknown): RoleFields {
  if (body === undefined || body === null) return {};
  if (!isRecord(body))
    throw invalidFormBody('_root', 'DICT_TYPE_CONVERT', 'Only dictionaries may be used in a DictType');
  const fields: RoleFields = {};
  if (body.name !== undefined && body.name !== null) {
    if (typeof body.name !== 'string') throw invalidFormBody('name', 'BASE_TYPE_STRING', 'Must be a string.');
    if (body.name.length < 1 || body.name.length > 100) {
      throw invalidFormBody('name', 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 100 in length.');
    }
    fields.name = body.name;
  }
  if (body.permissions !== undefined && body.permissions !== null) {
    const value = body.permissions;
    const text = typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? String(value) : value;
    if (typeof text !== 'string' || !/^\d{1,20}$/.test(text)) {
      throw invalidFormBody('permissions', 'NUMBER_TYPE_COERCE', `Value "${String(value)}" is not int.`);
    }
    fields.permissions = BigInt(text).toString();
  }
  if (body.color !== undefined && body.color !== null) {
    if (typeof body.color !== 'number' || !Number.isInteger(body.color) || body.color < 0 || body.color > 0xffffff) {
      throw invalidFormBody('color', 'NUMBER_TYPE_MAX', 'int value should be <= 16777215 and >= 0.');
    }
    fields.color = body.color;
  }
  for (const key of ['hoist', 'mentionable'] as const) {
    const value = body[key];
    if (value !== undefined && value !== null) {
      if (typeof value !== 'boolean') throw invalidFormBody(key, 'BASE_TYPE_BOOLEAN', 'Must be either true or false.');
      fields[key] = value;
    }
  }
  return fields;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
