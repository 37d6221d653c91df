/**
 * The express app: `/oauth2/authorize` pages (bot and user flows), the API under `/api` (auth,
 * faults, rate limits, routes), and the `/_sandbox` control API.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { RESTJSONErrorCodes } from 'discord-api-types/v10';
import { DiscordHttpError, discordError, invalidFormBody, statusError } from './discord-errors.js';
import { type Fault, type FaultRegistry, normalizeApiPath } from './faults.js';
import { AuthorizePageError, isBotFlow, type OAuthService, type UserGrant } from './oauth.js';
import { type RateLimiter, type RateLimitOptions, rateLimitedBody } from './rate-limit.js';
import { createRoutes, type ApiRoute, type Reply, type RouteContext } from './rest.js';
import { isSnowflake } from './snowflake.js';
import { BOT_DEFAULT_PERMISSIONS, SandboxNotFoundError, type EditRoleOptions, type SandboxState } from './state.js';
import type { StatsRecorder } from './stats.js';
import { mountMailPage, type MailboxSlot } from './mail-page.js';

export interface AppDeps {
  state: SandboxState;
  stats: StatsRecorder;
  oauth: OAuthService;
  faults: FaultRegistry;
  rateLimiter: RateLimiter;
  botToken: string;
  /** Requests held open by `hang` faults; ended when the sandbox closes. */
  hanging: Set<Response>;
  /** Resolves when the sandbox closes (ends latency waits early). */
  closed: Promise<void>;
  /** The SMTP sink whose messages the sandbox's page shows, once attached. */
  mailbox?: MailboxSlot;
}

interface CompiledRoute {
  route: ApiRoute;
  regex: RegExp;
  names: string[];
}

function compileRoute(route: ApiRoute): CompiledRoute {
  const names: string[] = [];
  const pattern = route.template
    .split('/')
    .map((segment) => {
      if (!segment.startsWith(':')) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(segment.slice(1));
      return '([^/]+)';
    })
    .join('/');
  return { route, regex: new RegExp(`^${pattern}/?$`), names };
}

export function createApp(deps: AppDeps): express.Express {
  const { state, stats, oauth, faults, rateLimiter, botToken, hanging, closed } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  // OAuth2 authorize pages (the browser side of both flows).
  app.get('/oauth2/authorize', (req, res) => {
    const query = stringRecord(req.query);
    try {
      oauth.validate(query.client_id, query.redirect_uri);
      if (!isBotFlow(query.scope)) oauth.validateUserScopes(query.scope, query.response_type ?? '');
      res.type('html').send(oauth.renderAuthorizePage(query));
    } catch (error) {
      if (!(error instanceof AuthorizePageError)) throw error;
      res.status(error.status).type('html').send(oauth.renderErrorPage(error));
    }
  });
  app.post('/oauth2/authorize', express.urlencoded({ extended: false }), (req, res) => {
    const form = stringRecord(req.body);
    try {
      if (!isBotFlow(form.scope)) {
        res.redirect(302, authorizeUserFromForm(form));
        return;
      }
      const redirect = oauth.authorize({
        clientId: form.client_id ?? '',
        redirectUri: form.redirect_uri ?? '',
        state: form.state ?? '',
        guildId: form.guild_id,
        permissions: form.permissions || undefined,
        deny: form.action === 'cancel',
      });
      res.redirect(302, redirect);
    } catch (error) {
      if (!(error instanceof AuthorizePageError)) throw error;
      res.status(error.status).type('html').send(oauth.renderErrorPage(error));
    }
  });

  /** The user flow's form: an existing user, or `user_id=new` with `new_username` and `new_global_name`. */
  function authorizeUserFromForm(form: Record<string, string | undefined>): string {
    const request = {
      clientId: form.client_id ?? '',
      redirectUri: form.redirect_uri ?? '',
      state: form.state ?? '',
      scope: form.scope ?? '',
    };
    if (form.action === 'cancel') return oauth.authorizeUser({ ...request, userId: '', deny: true });
    let userId = form.user_id ?? '';
    if (userId === 'new') {
      // Checked first, so that a bad request creates nobody.
      oauth.validate(request.clientId, request.redirectUri);
      oauth.validateUserScopes(request.scope, undefined);
      try {
        userId = state.createUser({
          username: form.new_username?.trim() || undefined,
          globalName: form.new_global_name?.trim() || null,
        }).id;
      } catch (error) {
        throw new AuthorizePageError(400, error instanceof Error ? error.message : String(error));
      }
    }
    return oauth.authorizeUser({ ...request, userId });
  }

  // The sandbox's page, with the mail the local SMTP sink received.
  mountMailPage(app, deps.mailbox ?? { current: null });

  // Bulk member adds carry thousands of ids: a larger body than express's default 100 kB.
  app.use('/_sandbox', express.json({ limit: '20mb' }), createControlRouter(deps));

  // The API.
  const routes = createRoutes({ state, stats, oauth }).map(compileRoute);
  app.use(
    '/api',
    express.json({ limit: '1mb' }),
    express.urlencoded({ extended: false, limit: '1mb' }),
    (req: Request, res: Response, next: NextFunction) => {
      handleApiRequest(req, res).catch(next);
    },
  );

  async function handleApiRequest(req: Request, res: Response): Promise<void> {
    const fullPath = `${req.baseUrl}${req.path}`;
    const path = normalizeApiPath(fullPath);
    const versioned = /^\/api\/v\d+\//.test(fullPath);
    // The OAuth2 token endpoints also answer without a version (`/api/oauth2/token`), as Discord's do.
    const candidates = routes.filter(
      (c) => c.regex.test(path) && (versioned || c.route.template.startsWith('/oauth2/')),
    );
    if (versioned && !/^\/api\/v10\//.test(fullPath)) return send(res, errorReply(statusError(404)));
    const compiled = candidates.find((c) => c.route.method === req.method);
    if (!compiled) return send(res, errorReply(statusError(candidates.length ? 405 : 404)));
    const { route } = compiled;
    const routeKey = `${route.method} ${route.template}`;
    const params: Record<string, string> = {};
    compiled.regex
      .exec(path)
      ?.slice(1)
      .forEach((value, index) => {
        params[compiled.names[index] ?? String(index)] = decodeURIComponent(value);
      });
    stats.request(routeKey);

    let bearer: UserGrant | undefined;
    if (route.botAuth && req.get('authorization') !== `Bot ${botToken}`) {
      // A user's access token where the route takes one: it must be live and carry the route's scope.
      const token = route.bearerScope ? /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '')?.[1] : undefined;
      bearer = token ? oauth.accessToken(token) : undefined;
      if (!bearer || !route.bearerScope || !bearer.scopes.includes(route.bearerScope)) {
        return send(res, errorReply(statusError(401)));
      }
    }
    for (const name of route.snowflakes) {
      const value = params[name] ?? '';
      if (!isSnowflake(value)) {
        return send(
          res,
          errorReply(invalidFormBody(snakeCase(name), 'NUMBER_TYPE_COERCE', `Value "${value}" is not snowflake.`)),
        );
      }
    }

    const fault = faults.take(req.method, path);
    if (fault?.latencyMs) await Promise.race([sleep(fault.latencyMs), closed]);
    if (fault?.hang) {
      hanging.add(res);
      res.on('close', () => hanging.delete(res));
      return;
    }
    if (res.destroyed) return;

    // Per-route buckets keyed by the guild; a user's requests have buckets of their own and do not
    // count against the bot's global limit.
    const major = bearer
      ? `user:${bearer.userId}`
      : route.template.startsWith('/guilds/:guildId')
        ? (params.guildId ?? '')
        : route.bucket;
    const decision = rateLimiter.take(route.bucket, major, route.botAuth && !bearer);
    res.set(decision.headers);
    if (!decision.allowed) {
      stats.rateLimited(routeKey);
      return send(res, rateLimitReply(decision.retryAfterSeconds, decision.global, decision.scope));
    }
    if (fault) {
      const forced = forcedReply(fault);
      if (forced) {
        if (forced.status === 429) stats.rateLimited(routeKey);
        return send(res, forced);
      }
    }

    const rawReason = req.get('x-audit-log-reason');
    const auditLogReason = rawReason === undefined ? undefined : safeDecode(rawReason);
    const ctx: RouteContext = {
      params,
      query: req.query as Record<string, unknown>,
      body: req.body,
      headers: req.headers,
      contentTypeIsForm: req.is('application/x-www-form-urlencoded') === 'application/x-www-form-urlencoded',
      auditLogReason,
      bearer,
    };
    let reply: Reply;
    try {
      reply = route.handle(ctx);
    } catch (error) {
      if (!(error instanceof DiscordHttpError)) throw error;
      reply = errorReply(error);
    }
    if (route.audited && auditLogReason !== undefined && reply.status < 300) stats.auditLogReason(auditLogReason);
    send(res, reply);
  }

  // Body parser failures and anything unexpected, answered the Discord way.
  app.use((error: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(error);
    if (isBodyParseError(error)) {
      return send(res, errorReply(discordError(RESTJSONErrorCodes.RequestBodyContainsInvalidJSON)));
    }
    console.error('sandbox: unexpected error', error);
    send(res, errorReply(statusError(500)));
  });

  return app;
}

function createControlRouter({ state, stats, oauth, faults, rateLimiter }: AppDeps): express.Router {
  const router = express.Router();
  const guard =
    (handler: (req: Request, res: Response) => void) =>
    (req: Request, res: Response): void => {
      try {
        handler(req, res);
      } catch (error) {
        // Unknown guild, member, role or user: 404; anything else the request asked for: 400.
        const status = error instanceof SandboxNotFoundError ? 404 : 400;
        res.status(status).json({ error: error instanceof Error ? error.message : String(error) });
      }
    };
  const bodyOf = (req: Request): Record<string, unknown> => {
    const body: unknown = req.body ?? {};
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new Error('The body must be a JSON object');
    return body as Record<string, unknown>;
  };
  const stringArray = (value: unknown, name: string): string[] => {
    if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) {
      throw new Error(`${name} must be an array of id strings`);
    }
    return value as string[];
  };
  router.get('/state', (_req, res) => {
    res.json(state.snapshot());
  });
  router.get('/intents', (_req, res) => {
    res.json({ ...state.intents });
  });
  router.put(
    '/intents',
    guard((req, res) => {
      const { guildMembers } = bodyOf(req);
      if (typeof guildMembers !== 'boolean') throw new Error('guildMembers (a boolean) is required');
      state.setIntents({ guildMembers });
      res.status(204).end();
    }),
  );
  router.get('/users', (_req, res) => {
    res.json(state.humanUsers().map((user) => state.describeUser(user)));
  });
  router.post(
    '/users',
    guard((req, res) => {
      const body = (req.body ?? {}) as Record<string, unknown>;
      const user = state.createUser({
        username: typeof body.username === 'string' ? body.username : undefined,
        globalName: typeof body.globalName === 'string' || body.globalName === null ? body.globalName : undefined,
        avatar: typeof body.avatar === 'string' || body.avatar === null ? body.avatar : undefined,
        guildCount: typeof body.guildCount === 'number' ? body.guildCount : undefined,
      });
      res.status(201).json(state.describeUser(user));
    }),
  );
  router.get('/users/:userId', (req, res) => {
    const user = state.users.get(req.params.userId);
    if (!user || user.id === state.botUserId) {
      res.status(404).json({ error: 'Unknown user' });
      return;
    }
    res.json(state.describeUser(user));
  });
  router.post('/users/:userId/revoke-tokens', (req, res) => {
    oauth.revokeUser(req.params.userId);
    res.status(204).end();
  });
  router.post('/users/:userId/expire-tokens', (req, res) => {
    oauth.expireUser(req.params.userId);
    res.status(204).end();
  });
  router.put(
    '/guilds/:guildId/membership-screening',
    guard((req, res) => {
      const on = (req.body as Record<string, unknown> | undefined)?.on;
      if (typeof on !== 'boolean') throw new Error('on (a boolean) is required');
      state.setMembershipScreening(req.params.guildId as string, on);
      res.status(204).end();
    }),
  );
  router.get(
    '/guilds/:guildId/members/:userId',
    guard((req, res) => {
      const member = state.getGuild(req.params.guildId as string).members.get(req.params.userId as string);
      if (!member) {
        res.status(404).json({ error: 'Not a member' });
        return;
      }
      res.json({ roles: [...member.roles], pending: member.pending });
    }),
  );
  router.post(
    '/guilds/:guildId/members/:userId/accept-rules',
    guard((req, res) => {
      state.acceptRules(req.params.guildId as string, req.params.userId as string);
      res.status(204).end();
    }),
  );
  router.post(
    '/guilds',
    guard((req, res) => {
      const body = (req.body ?? {}) as Record<string, unknown>;
      const guild = state.createGuild({
        name: typeof body.name === 'string' ? body.name : 'Sandbox Server',
        id: typeof body.id === 'string' ? body.id : undefined,
        botInstalled: typeof body.botInstalled === 'boolean' ? body.botInstalled : undefined,
        botPermissions: typeof body.botPermissions === 'string' ? BigInt(body.botPermissions) : undefined,
        botRolePosition: typeof body.botRolePosition === 'number' ? body.botRolePosition : undefined,
        roles: Array.isArray(body.roles) ? (body.roles as Array<{ name: string; position?: number }>) : undefined,
      });
      res.status(201).json({ id: guild.id, name: guild.name });
    }),
  );
  router.post(
    '/guilds/:guildId/members',
    guard((req, res) => {
      const userId = (req.body as Record<string, unknown> | undefined)?.userId;
      if (typeof userId !== 'string') throw new Error('userId (a snowflake string) is required');
      state.addMember(req.params.guildId as string, userId);
      res.status(204).end();
    }),
  );
  router.post(
    '/guilds/:guildId/members/bulk',
    guard((req, res) => {
      const body = bodyOf(req);
      const userIds = stringArray(body.userIds, 'userIds');
      const roles = body.roles === undefined ? [] : stringArray(body.roles, 'roles');
      res.json(state.addMembers(req.params.guildId as string, userIds, roles));
    }),
  );
  router.put(
    '/guilds/:guildId/members/:userId',
    guard((req, res) => {
      const roles = stringArray(bodyOf(req).roles, 'roles');
      const guildId = req.params.guildId as string;
      const userId = req.params.userId as string;
      state.setMemberRoles(guildId, userId, roles);
      const member = state.member(state.getGuild(guildId), userId);
      res.json({ roles: [...member.roles], pending: member.pending });
    }),
  );
  router.delete(
    '/guilds/:guildId/members/:userId',
    guard((req, res) => {
      state.removeMember(req.params.guildId as string, req.params.userId as string);
      res.status(204).end();
    }),
  );
  router.put(
    '/guilds/:guildId/members/:userId/roles/:roleId',
    guard((req, res) => {
      state.giveRoleByHand(req.params.guildId as string, req.params.userId as string, req.params.roleId as string);
      res.status(204).end();
    }),
  );
  router.delete(
    '/guilds/:guildId/members/:userId/roles/:roleId',
    guard((req, res) => {
      state.removeRoleByHand(req.params.guildId as string, req.params.userId as string, req.params.roleId as string);
      res.status(204).end();
    }),
  );
  router.patch(
    '/guilds/:guildId/roles/:roleId',
    guard((req, res) => {
      const role = state.editRole(
        req.params.guildId as string,
        req.params.roleId as string,
        parseEditRole(bodyOf(req)),
      );
      res.json(role);
    }),
  );
  router.delete(
    '/guilds/:guildId/roles/:roleId',
    guard((req, res) => {
      state.deleteRoleByHand(req.params.guildId as string, req.params.roleId as string);
      res.status(204).end();
    }),
  );
  router.post(
    '/guilds/:guildId/bot',
    guard((req, res) => {
      const body = (req.body ?? {}) as Record<string, unknown>;
      const guildId = req.params.guildId as string;
      const guild = state.getGuild(guildId);
      if (!state.isBotIn(guild)) {
        state.installBot(
          guildId,
          typeof body.permissions === 'string' ? BigInt(body.permissions) : BOT_DEFAULT_PERMISSIONS,
        );
      } else if (typeof body.permissions === 'string') {
        state.setBotPermissions(guildId, BigInt(body.permissions));
      }
      if (typeof body.rolePosition === 'number') state.setBotRolePosition(guildId, body.rolePosition);
      res.status(204).end();
    }),
  );
  router.delete(
    '/guilds/:guildId/bot',
    guard((req, res) => {
      state.removeBot(req.params.guildId as string);
      res.status(204).end();
    }),
  );
  router.post(
    '/faults',
    guard((req, res) => {
      const fault = req.body as Fault;
      if (!fault || typeof fault.route !== 'string') throw new Error('route (a string) is required');
      faults.add(fault);
      res.status(204).end();
    }),
  );
  router.delete('/faults', (_req, res) => {
    faults.clear();
    res.status(204).end();
  });
  router.put(
    '/rate-limits',
    guard((req, res) => {
      rateLimiter.configure((req.body ?? {}) as RateLimitOptions);
      res.status(204).end();
    }),
  );
  router.get('/stats', (_req, res) => {
    res.json(stats.snapshot());
  });
  router.delete('/stats', (_req, res) => {
    stats.reset();
    res.status(204).end();
  });
  return router;
}

/** `PATCH /_sandbox/guilds/:guildId/roles/:roleId`: `{ name?, permissions? (a string or a safe integer), managed?, position? }`. */
function parseEditRole(body: Record<string, unknown>): EditRoleOptions {
  const fields: EditRoleOptions = {};
  for (const key of Object.keys(body)) {
    if (!['name', 'permissions', 'managed', 'position'].includes(key)) throw new Error(`Unknown field ${key}`);
  }
  if (body.name !== undefined) {
    if (typeof body.name !== 'string') throw new Error('name must be a string');
    fields.name = body.name;
  }
  if (body.permissions !== undefined) {
    const value = body.permissions;
    const text = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
    if (typeof text !== 'string' || !/^\d{1,20}$/.test(text)) throw new Error('permissions must be a decimal string');
    fields.permissions = BigInt(text);
  }
  if (body.managed !== undefined) {
    if (typeof body.managed !== 'boolean') throw new Error('managed must be a boolean');
    fields.managed = body.managed;
  }
  if (body.position !== undefined) {
    if (typeof body.position !== 'number') throw new Error('position must be an integer');
    fields.position = body.position;
  }
  return fields;
}

function errorReply(error: DiscordHttpError): Reply {
  return { status: error.status, body: error.body };
}

function rateLimitReply(retryAfterSeconds: number, global: boolean, scope: string): Reply {
  const headers: Record<string, string> = {
    // Discord's Retry-After header is whole seconds, rounded up; the body has the precise value.
    'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))),
    'X-RateLimit-Scope': scope,
  };
  if (global) headers['X-RateLimit-Global'] = 'true';
  return { status: 429, headers, body: rateLimitedBody(retryAfterSeconds, global) };
}

function forcedReply(fault: Fault): Reply | undefined {
  if (fault.rateLimit) {
    const global = fault.rateLimit.global ?? false;
    return rateLimitReply(fault.rateLimit.retryAfterMs / 1000, global, global ? 'global' : 'user');
  }
  if (fault.code !== undefined) return errorReply(discordError(fault.code, { status: fault.status }));
  if (fault.status !== undefined) return errorReply(statusError(fault.status));
  return undefined;
}

function send(res: Response, reply: Reply): void {
  if (reply.headers) res.set(reply.headers);
  if (reply.body === undefined || reply.status === 204) {
    res.status(reply.status).end();
    return;
  }
  res.status(reply.status).json(reply.body);
}

function stringRecord(value: unknown): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  if (typeof value !== 'object' || value === null) return out;
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry === 'string') out[key] = entry;
  }
  return out;
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function isBodyParseError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { type?: unknown }).type === 'entity.parse.failed';
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
