import { Router, type Request, type Response } from 'express';
import {
  consumeOAuthStateNonce,
  InvalidStateError,
  signOAuthState,
  verifyOAuthState,
  stateBelongsToSession,
} from '../../auth/oauth-state.js';
import { appendAuditLog } from '../../db/audit-log.js';
import { findDiscordConfig, saveRoleSettings, type DiscordConfig } from '../../db/discord-configs.js';
import { withTransaction } from '../../db/pool.js';
import { latestHealth } from '../../db/reconciliation.js';
import { findUserById } from '../../db/users.js';
import { roleRefusal, rolePicker, type GuildRoles, type RoleUse } from '../../discord/guild-roles.js';
import { buildAuthorizeUrl } from '../../discord/oauth.js';
import {
  connectionWorkflowRunning,
  fetchGuildRoles,
  startConnection,
  startConnectionCheck,
  startDisconnection,
  startRoleReapply,
} from '../../temporal/operations.js';
import type { Config } from '../../config.js';
import type { AppDeps } from '../deps.js';
import { conflict, forbidden, HttpError } from '../errors.js';
import { refusalLimit } from '../middleware/rate-limit.js';
import { requireAdmin, requireUser } from '../middleware/session.js';
import { roleSettingsRequest } from '../schemas.js';
import { parseInput } from '../validation.js';

/** Callback answers that mean someone tried what they may not: these count towards the rate limit. */
const REFUSALS = new Set(['invalid_state', 'unauthorized', 'forbidden', 'user_not_found']);
/** Refused callbacks a client may make per window before every callback of it is turned away. */
const MAX_REFUSALS = 20;
const REFUSAL_WINDOW_MS = 10 * 60_000;

/** Settings, where the bot callback sends the admin back (with `success`, `status` or `error`). */
export const settingsUrlOf = (config: Pick<Config, 'publicBaseUrl'>, params: Record<string, string>) =>
  `${config.publicBaseUrl}/settings?${new URLSearchParams(params)}`;

/** Grants paused by the circuit breaker (or a check), the server and role still known: "Check now" can resume them. */
const isPaused = (config: DiscordConfig) =>
  config.connectionState === 'error' && config.guildId !== null && config.approvedRoleId !== null;

/** Connected, or paused with its server known: the roles can be looked at and chosen. */
const hasGuild = (config: DiscordConfig | null): config is DiscordConfig & { guildId: string } =>
  config !== null && config.guildId !== null && (config.connectionState === 'connected' || isPaused(config));

/**
 * Roles by ID with their names as last seen: from the guild's roles as the last look at Discord
 * saw them, else the Approved role's stored name; null when neither knows the role.
 */
function roleRefs(config: DiscordConfig, ids: readonly string[]): Array<{ id: string; name: string | null }> {
  const names = new Map((config.guildRoles?.roles ?? []).map((r) => [r.id, r.name]));
  return ids.map((id) => ({
    id,
    name: names.get(id) ?? (id === config.approvedRoleId ? config.approvedRoleName : null),
  }));
}

/** `latestHealth` as the API shows it (`BotHealth`). */
async function healthOf(deps: AppDeps, organizationId: string) {
  const health = await latestHealth(deps.pool, organizationId);
  return health
    ? {
        checkedAt: health.checkedAt.toISOString(),
        findings: health.findings.map((f) => ({ kind: f.kind, message: f.message })),
        repaired: health.repaired,
        runId: health.runId,
      }
    : null;
}

/** `GET /api/discord/connection`'s answer (`DiscordConnection`). */
async function connectionView(deps: AppDeps, organizationId: string | null) {
  const config = organizationId ? await findDiscordConfig(deps.pool, organizationId) : null;
  if (!config) {
    return {
      state: 'disconnected' as const,
      guild: null,
      role: null,
      addRoles: [],
      removeRoles: [],
      error: null,
      canCheckAgain: false,
      health: null,
      updatedAt: null,
    };
  }
  let { connectionState: state, connectionError: error } = config;
  // A `connecting` row without a running workflow is an attempt that died (execution timeout).
  if (state === 'connecting' && !(await connectionWorkflowRunning(deps.temporal, config.organizationId))) {
    state = 'error';
    error = 'The last connection attempt did not finish. Please connect again.';
  }
  const connected = state === 'connected';
  // Paused by the circuit breaker (or a failed attempt that kept the server and role it had):
  // "Check now" can resume it without a new authorization.
  const paused = state === 'error' && config.guildId !== null && config.approvedRoleId !== null;
  return {
    state,
    guild: connected && config.guildId ? { id: config.guildId, name: config.guildName } : null,
    role: connected && config.approvedRoleId ? { id: config.approvedRoleId, name: config.approvedRoleName } : null,
    addRoles: connected || paused ? roleRefs(config, config.addRoleIds) : [],
    removeRoles: connected || paused ? roleRefs(config, config.removeRoleIds) : [],
    error: state === 'error' ? error : null,
    canCheckAgain: paused,
    health: await healthOf(deps, config.organizationId),
    updatedAt: config.connectionStateUpdatedAt.toISOString(),
  };
}

const notConnected = (message = 'No Discord server is connected: connect one in Settings first.') =>
  new HttpError('not_connected', message);

/** The guild's roles as Discord shows them now, or 503 `discord_unavailable` saying why not. */
async function guildRolesNow(deps: AppDeps, organizationId: string): Promise<GuildRoles> {
  const answer = await fetchGuildRoles(deps, organizationId);
  if (!answer.ok) throw new HttpError('discord_unavailable', answer.message);
  return answer.guild;
}

/**
 * Why the chosen roles cannot be saved, naming each refused role: one not in the server, or one
 * the bot may not add (or remove). Null when every one can be used.
 */
function roleSettingsRefusal(guild: GuildRoles, choice: { addRoleIds: string[]; removeRoleIds: string[] }) {
  const byId = new Map(guild.roles.map((r) => [r.id, r]));
  const refusals: string[] = [];
  const check = (ids: string[], use: RoleUse) => {
    for (const id of ids) {
      const role = byId.get(id);
      const what = use === 'add' ? 'added' : 'removed';
      if (!role) {
        refusals.push(`Role ${id} cannot be ${what}: it is not a role of the Discord server (deleted?).`);
        continue;
      }
      const refusal = roleRefusal(role, guild, use);
      if (refusal) refusals.push(`The role "${role.name}" (${id}) cannot be ${what}: ${refusal}`);
    }
  };
  check(choice.addRoleIds, 'add');
  check(choice.removeRoleIds, 'remove');
  // A valid body in each field, a contradiction between them: refused like an unusable role.
  for (const id of choice.removeRoleIds.filter((r) => choice.addRoleIds.includes(r))) {
    refusals.push(
      `${byId.has(id) ? `The role "${byId.get(id)!.name}" (${id})` : `Role ${id}`} cannot be both added and removed on approval.`,
    );
  }
  return refusals.length > 0 ? refusals.join(' ') : null;
}

export function discordRouter(deps: AppDeps): Router {
  const { config, pool } = deps;
  const router = Router();
  // Read per request: PUBLIC_BASE_URL is only known once a test server has its port.
  const redirectUriOf = () => `${config.publicBaseUrl}/api/discord/bot-callback`;
  const settingsUrl = (params: Record<string, string>) => settingsUrlOf(config, params);

  router.get('/connect', requireAdmin, async (req, res) => {
    const auth = req.auth!;
    if (!auth.user.organizationId) {
      res.redirect(302, settingsUrl({ error: 'forbidden' }));
      return;
    }
    const state = await signOAuthState(
      { organizationId: auth.user.organizationId, userId: auth.user.id, sessionId: auth.sessionId },
      config.stateSigningSecret,
    );
    res.redirect(
      302,
      buildAuthorizeUrl({
        authorizeUrl: config.discord.authorizeUrl,
        clientId: config.discord.clientId ?? '',
        redirectUri: redirectUriOf(),
        state,
      }),
    );
  });

  const refusals = refusalLimit(pool, 'bot-callback-refusals', { max: MAX_REFUSALS, windowMs: REFUSAL_WINDOW_MS });
  const tooManyAttempts = (req: Request, res: Response) => {
    req.log.warn({ reason: 'too_many_attempts' }, 'discord bot callback refused');
    res.redirect(302, settingsUrl({ error: 'too_many_attempts' }));
  };

  router.get('/bot-callback', async (req: Request, res: Response) => {
    if (await refusals.exhausted(req)) return tooManyAttempts(req, res);
    const q = req.query as Record<string, unknown>;
    const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
    const fail = async (code: string, context: Record<string, unknown> = {}) => {
      // Refusals beyond the limit (a burst arriving together) get the rate-limit answer too.
      if (REFUSALS.has(code) && (await refusals.refuse(req))) {
        return tooManyAttempts(req, res);
      }
      // Never log the state, the code, or the token: only why the attempt was refused.
      req.log.warn({ reason: code, ...context }, 'discord bot callback refused');
      res.redirect(302, settingsUrl({ error: code }));
    };

    // 1. Discord's own answer: the admin cancelled.
    if (str(q.error)) return fail(q.error === 'access_denied' ? 'access_denied' : 'unexpected_error');
    // 2. The state: signed by us, not expired.
    let claims;
    try {
      claims = await verifyOAuthState(str(q.state) ?? '', { secret: config.stateSigningSecret });
    } catch (err) {
      if (err instanceof InvalidStateError) return fail('invalid_state', { why: err.reason });
      throw err;
    }
    // 3. A session, and the one the state was issued to.
    const auth = req.auth;
    if (!auth) return fail('unauthorized');
    if (!stateBelongsToSession(claims, auth.sessionId) || claims.userId !== auth.user.id) {
      return fail('invalid_state', { why: 'wrong_session' });
    }
    // 4. Single use.
    try {
      await consumeOAuthStateNonce(pool, claims.nonce, claims.expiresAt);
    } catch (err) {
      if (err instanceof InvalidStateError) return fail('invalid_state', { why: err.reason });
      throw err;
    }
    // 5. The user exists, belongs to the state's organization, and is its admin.
    const user = await findUserById(pool, auth.user.id);
    if (!user) return fail('user_not_found');
    if (!user.organizationId || user.organizationId !== claims.organizationId) {
      return fail('forbidden', { userId: user.id, organizationId: claims.organizationId });
    }
    if (user.role !== 'admin') return fail('forbidden', { userId: user.id, why: 'not_admin' });

    const code = str(q.code);
    if (!code) return fail('token_exchange_failed', { why: 'no_code' });
    const existing = await findDiscordConfig(pool, claims.organizationId);
    if (existing?.connectionState === 'connected') return fail('already_connected');

    // Only now does anything reach Discord: inside the workflow.
    const result = await startConnection(deps, {
      organizationId: claims.organizationId,
      userId: user.id,
      code,
      redirectUri: redirectUriOf(),
    });
    switch (result.outcome) {
      case 'connected':
        req.log.info({ organizationId: claims.organizationId, guildId: result.guild.id }, 'discord connected');
        res.redirect(302, settingsUrl({ success: 'bot_connected' }));
        return;
      case 'still_running':
        res.redirect(302, settingsUrl({ status: 'connecting' }));
        return;
      case 'in_progress':
        return fail('connection_in_progress');
      case 'already_connected':
        return fail('already_connected');
      case 'failed':
        return fail(result.errorCode);
    }
  });

  router.get('/connection', requireUser, async (req, res) => {
    res.json(await connectionView(deps, req.auth!.user.organizationId));
  });

  // "Check now": the circuit breaker paused the grants; see whether the admin's fix works.
  router.post('/connection/check', requireAdmin, async (req, res) => {
    const organizationId = req.auth!.user.organizationId;
    if (!organizationId) throw forbidden('Your account belongs to no organization.');
    const result = await startConnectionCheck(deps, { organizationId, userId: req.auth!.user.id });
    if (result.outcome === 'in_progress') {
      throw conflict('connection_in_progress', 'A connection attempt is in progress. Please wait for it to finish.');
    }
    const config = await findDiscordConfig(pool, organizationId);
    res.json({
      state: config?.connectionState ?? 'disconnected',
      error: config?.connectionState === 'error' ? config.connectionError : null,
      outcome: result.outcome,
      // What the check found, when it did not resume the grants.
      message: result.outcome === 'failed' ? result.message : null,
      health: await healthOf(deps, organizationId),
    });
  });

  const organizationOf = (organizationId: string | null) => {
    if (!organizationId) throw forbidden('Your account belongs to no organization.');
    return organizationId;
  };

  // The server's roles for the picker, each with whether approval can add (or remove) it.
  router.get('/roles', requireAdmin, async (req, res) => {
    const organizationId = organizationOf(req.auth!.user.organizationId);
    const config = await findDiscordConfig(pool, organizationId);
    if (!hasGuild(config)) throw notConnected();
    const guild = await guildRolesNow(deps, organizationId);
    res.json({ items: rolePicker(guild), addRoleIds: config.addRoleIds, removeRoleIds: config.removeRoleIds });
  });

  // The roles approval adds and removes. Checked against Discord as it is now; applies to new grants.
  router.put('/role-settings', requireAdmin, async (req, res) => {
    const choice = parseInput(roleSettingsRequest, req.body);
    const organizationId = organizationOf(req.auth!.user.organizationId);
    const config = await findDiscordConfig(pool, organizationId);
    if (!hasGuild(config)) throw notConnected();
    const guild = await guildRolesNow(deps, organizationId);
    const refusal = roleSettingsRefusal(guild, choice);
    if (refusal) throw new HttpError('role_not_manageable', refusal);
    const saved = await withTransaction(pool, async (tx) => {
      const stored = await saveRoleSettings(tx, { organizationId, guildId: config.guildId, ...choice });
      if (!stored) return null;
      await appendAuditLog(tx, {
        organizationId,
        actorUserId: req.auth!.user.id,
        action: 'discord.roles_changed',
        subjectType: 'discord_guild',
        subjectId: config.guildId,
        details: {
          addRoleIds: choice.addRoleIds,
          removeRoleIds: choice.removeRoleIds,
          before: { addRoleIds: config.addRoleIds, removeRoleIds: config.removeRoleIds },
        },
      });
      return stored;
    });
    // Disconnected (or connected to another server) meanwhile: the choice no longer applies.
    if (!saved) throw notConnected('The Discord connection changed meanwhile: nothing was saved. Reload Settings.');
    res.json(await connectionView(deps, organizationId));
  });

  // Gives every approved member the roles as chosen now (and takes the removed ones): a reconciliation.
  router.post('/role-settings/reapply', requireAdmin, async (req, res) => {
    const organizationId = organizationOf(req.auth!.user.organizationId);
    const config = await findDiscordConfig(pool, organizationId);
    if (!hasGuild(config)) throw notConnected();
    if (config.connectionState !== 'connected') {
      throw notConnected('Grants are paused: fix what Settings shows and press Check now, then re-apply the roles.');
    }
    const started = await startRoleReapply(deps, { organizationId, userId: req.auth!.user.id });
    res.status(202).json({ workflowId: started.workflowId, runId: started.runId });
  });

  router.delete('/connection', requireAdmin, async (req, res) => {
    const organizationId = req.auth!.user.organizationId;
    if (!organizationId) throw forbidden('Your account belongs to no organization.');
    const outcome = await startDisconnection(deps, { organizationId, userId: req.auth!.user.id });
    if (outcome === 'in_progress') {
      throw conflict('connection_in_progress', 'A connection attempt is in progress. Please wait for it to finish.');
    }
    const config = await findDiscordConfig(pool, organizationId);
    res.status(202).json({ state: config?.connectionState ?? 'disconnected' });
  });

  return router;
}
