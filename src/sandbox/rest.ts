/**
 * The bot-facing REST routes under `/api/v10`, as data: method, template, rate-limit bucket,
 * and a handler that either returns a reply or throws a {@link DiscordHttpError}.
 */
import { PermissionFlagsBits, RESTJSONErrorCodes, type APIRole } from 'discord-api-types/v10';
import { discordError, invalidFormBody } from './discord-errors';
import type { OAuthService } from './oauth';
import type { BucketName } from './rate-limit';
import { MAX_ROLES, type GuildState, type SandboxState } from './state';
import type { StatsRecorder } from './stats';

export interface RouteContext {
  params: Record<string, string>;
  query: Record<string, unknown>;
  body: unknown;
  headers: Record<string, string | string[] | undefined>;
  contentTypeIsForm: boolean;
  /** Decoded `X-Audit-Log-Reason`, when sent. */
  auditLogReason: string | undefined;
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

const { UnknownGuild, UnknownMember, UnknownRole, MissingAccess, MissingPermissions } = RESTJSONErrorCodes;

export function createRoutes({ state, stats, oauth }: RouteDeps): ApiRoute[] {
  /** The guild the bot acts in: unknown guilds and guilds without the bot answer 403 Missing Access. */
  const botGuild = (guildId: string): GuildState => {
    const guild = state.guilds.get(guildId);
    if (!guild || !state.isBotIn(guild)) throw discordError(MissingAccess);
    return guild;
  };

  const requireManageRoles = (guild: GuildState): void => {
    if (!state.botCanManageRoles(guild)) throw discordError(MissingPermissions);
  };

  /** Shared checks of PUT and DELETE member role, in Discord's order. */
  const memberRoleChange = (ctx: RouteContext): { guild: GuildState; role: APIRole; roles: Set<string> } => {
    const { guildId = '', userId = '', roleId = '' } = ctx.params;
    const guild = botGuild(guildId);
    const member = guild.members.get(userId);
    if (!member) throw discordError(UnknownMember);
    const role = guild.roles.get(roleId);
    // @everyone (id == guild id) belongs to every member implicitly; it cannot be granted or removed.
    if (!role || role.id === guild.id) throw discordError(UnknownRole);
    requireManageRoles(guild);
    if (role.managed || role.position >= state.highestPosition(guild, state.botUserId)) {
      throw discordError(MissingPermissions);
    }
    return { guild, role, roles: member.roles };
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
      method: 'GET',
      template: '/guilds/:guildId/members/:userId',
      bucket: 'members',
      botAuth: true,
      snowflakes: ['guildId', 'userId'],
      handle: (ctx) => {
        const guild = botGuild(ctx.params.guildId ?? '');
        const member = guild.members.get(ctx.params.userId ?? '');
        if (!member) throw discordError(UnknownMember);
        return { status: 200, body: state.memberPayload(guild, member) };
      },
    },
    {
      method: 'GET',
      template: '/users/@me',
      bucket: 'users',
      botAuth: true,
      snowflakes: [],
      handle: () => ({ status: 200, body: state.bot }),
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
  ];
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
