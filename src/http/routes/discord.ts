import { Router, type Request, type Response } from 'express';
import {
  consumeOAuthStateNonce,
  InvalidStateError,
  signOAuthState,
  verifyOAuthState,
  stateBelongsToSession,
} from '../../auth/oauth-state.js';
import { findDiscordConfig } from '../../db/discord-configs.js';
import { findUserById } from '../../db/users.js';
import { buildAuthorizeUrl } from '../../discord/oauth.js';
import {
  connectionWorkflowRunning,
  startConnection,
  startConnectionCheck,
  startDisconnection,
} from '../../temporal/operations.js';
import type { Config } from '../../config.js';
import type { AppDeps } from '../deps.js';
import { conflict, forbidden } from '../errors.js';
import { refusalLimit } from '../middleware/rate-limit.js';
import { requireAdmin, requireUser } from '../middleware/session.js';

/** Callback answers that mean someone tried what they may not: these count towards the rate limit. */
const REFUSALS = new Set(['invalid_state', 'unauthorized', 'forbidden', 'user_not_found']);
/** Refused callbacks a client may make per window before every callback of it is turned away. */
const MAX_REFUSALS = 20;
const REFUSAL_WINDOW_MS = 10 * 60_000;

/** Settings, where the bot callback sends the admin back (with `success`, `status` or `error`). */
export const settingsUrlOf = (config: Pick<Config, 'publicBaseUrl'>, params: Record<string, string>) =>
  `${config.publicBaseUrl}/settings?${new URLSearchParams(params)}`;

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
    const organizationId = req.auth!.user.organizationId;
    const config = organizationId ? await findDiscordConfig(pool, organizationId) : null;
    if (!config) {
      res.json({ state: 'disconnected', guild: null, role: null, error: null, canCheckAgain: false, updatedAt: null });
      return;
    }
    let { connectionState: state, connectionError: error } = config;
    // A `connecting` row without a running workflow is an attempt that died (execution timeout).
    if (state === 'connecting' && !(await connectionWorkflowRunning(deps.temporal, config.organizationId))) {
      state = 'error';
      error = 'The last connection attempt did not finish. Please connect again.';
    }
    const connected = state === 'connected';
    res.json({
      state,
      guild: connected && config.guildId ? { id: config.guildId, name: config.guildName } : null,
      role: connected && config.approvedRoleId ? { id: config.approvedRoleId, name: config.approvedRoleName } : null,
      error: state === 'error' ? error : null,
      // Paused by the circuit breaker (or a failed attempt that kept the server and role it had):
      // "Check again" can resume it without a new authorization.
      canCheckAgain: state === 'error' && config.guildId !== null && config.approvedRoleId !== null,
      updatedAt: config.connectionStateUpdatedAt.toISOString(),
    });
  });

  // "Check again": the circuit breaker paused the grants; see whether the admin's fix works.
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
    });
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
