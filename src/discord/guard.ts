/**
 * What stands between the bot and Discord, shared by every worker through Postgres:
 *
 * - **The rate**: each request with the bot token takes the next free slot of one shared schedule
 *   (`discord_request_slots`), so all workers together send at most `requestsPerSecond`, evenly
 *   spaced: no burst after an idle period, and a worker started without any option obeys it too.
 * - **The circuit breaker**: Discord bans the IP for an hour after 10,000 invalid requests (401,
 *   403, 429) in 10 minutes, for every organization served from it. The first answer that says the
 *   bot lost its access to a guild (Missing Permissions, Missing Access, Unknown Guild) puts the
 *   organizations of that guild in `error` with the reason: their grants wait instead of calling
 *   Discord until an admin reconnects or presses "Check again". A 401 (the bot token itself
 *   refused) pauses every guild. And whatever happens, a guild that had 10 requests answered 401
 *   or 403 within 10 minutes gets no further request until that window has passed.
 *
 * Requests made by a connection check (`asConnectionCheck`) pass a paused guild, since they are
 * how it resumes; they still count against the 10-per-10-minutes budget.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { RESTJSONErrorCodes } from 'discord-api-types/v10';
import type { Pool } from '../db/pool.js';
import {
  discordBlockedTotal,
  discordPausesTotal,
  discordResponsesTotal,
  discordRouteLabel,
  discordStatusClass,
} from '../metrics.js';

/** Discord's own global limit is 50 requests per second per bot. */
export const MAX_REQUESTS_PER_SECOND = 50;
export const DEFAULT_REQUESTS_PER_SECOND = 45;
/** At most this many requests answered 401 or 403 per guild within {@link FAILURE_WINDOW_MS}. */
export const MAX_AUTHORIZATION_FAILURES = 10;
export const FAILURE_WINDOW_MS = 10 * 60_000;

/** Why a request was not sent: the organization's (or every organization's) grants are paused. */
export class DiscordPausedError extends Error {
  override readonly name = 'DiscordPausedError';
  constructor(
    message: string,
    readonly guildId: string | null,
  ) {
    super(message);
  }
}

/**
 * A request held back for a while, not refused: the guild used up its budget of failing requests,
 * or the shared schedule is full further ahead than a request may wait. Retried after `retryAfterMs`.
 */
export class DiscordHeldBackError extends Error {
  override readonly name = 'DiscordHeldBackError';
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(message);
  }
}

/** The guard's own Postgres did not answer: nothing was sent, and the request may be tried again. */
export class DiscordGuardUnavailableError extends Error {
  override readonly name = 'DiscordGuardUnavailableError';
}

/** A request waits at most this long for its slot; beyond it, it is held back (and retried). */
export const MAX_SLOT_WAIT_MS = 5_000;

export const BOT_TOKEN_REJECTED_MESSAGE =
  "Discord refused the bot's token, so every grant is paused: an operator must check DISCORD_BOT_TOKEN and restart the workers (they resume every organization's grants once Discord accepts it), or an admin presses Check again in Settings.";

export const failureBudgetMessage = (retryInSeconds: number) =>
  `Discord refused the bot ${MAX_AUTHORIZATION_FAILURES} times in this server within 10 minutes, so nothing more is sent to it for now (try again in ${Math.max(1, Math.ceil(retryInSeconds / 60))} min): check the bot's role and permissions in Discord.`;

/** The guild a Discord API path is about, if any (`/guilds/{id}/...`, `/users/@me/guilds/{id}`). */
export function guildOfPath(path: string): string | null {
  return /\/guilds\/(\d{15,21})(?:\/|$)/.exec(path)?.[1] ?? null;
}

/** Answers that mean the bot lost its access to a guild (not one member's or one request's problem). */
const GUILD_ACCESS_LOST = new Set<number>([
  RESTJSONErrorCodes.MissingPermissions,
  RESTJSONErrorCodes.MissingAccess,
  RESTJSONErrorCodes.UnknownGuild,
]);

export interface DiscordGuard {
  /** Waits for this request's slot, then refuses it (DiscordPausedError) if its guild may not be called now. */
  beforeRequest(request: { method: string; path: string }): Promise<void>;
  /** Records what an answer says about the bot's access (401, 403, Unknown Guild). */
  afterResponse(
    request: { method: string; path: string },
    response: { status: number; code: number | null },
  ): Promise<void>;
  /** Pauses one organization's grants with a reason an admin can act on (an unsafe role found at grant time). */
  pauseOrganization(organizationId: string, reason: string): Promise<void>;
  /** Runs `fn` as a connection check: its requests pass a paused organization (they are how it resumes). */
  asConnectionCheck<T>(fn: () => Promise<T>): Promise<T>;
  /** Runs `fn` for one organization's grant: its requests stop as soon as that organization is paused. */
  forOrganization<T>(organizationId: string, fn: () => Promise<T>): Promise<T>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What the running activity is doing (one per process, whichever guard instance asks). */
const context = new AsyncLocalStorage<{ connectionCheck: true } | { organizationId: string }>();
const isConnectionCheck = () => {
  const store = context.getStore();
  return store !== undefined && 'connectionCheck' in store;
};
const organizationOfRequest = () => {
  const store = context.getStore();
  return store !== undefined && 'organizationId' in store ? store.organizationId : null;
};

/** Runs a query of the guard; a failure to answer becomes a retryable DiscordGuardUnavailableError. */
async function query<R extends Record<string, unknown>>(pool: Pool, text: string, values: unknown[] = []) {
  try {
    return await pool.query<R>(text, values);
  } catch (err) {
    throw new DiscordGuardUnavailableError(
      `The database did not answer before a Discord request (${err instanceof Error ? err.message : String(err)}); nothing was sent.`,
      { cause: err },
    );
  }
}

/** Reason shown in Settings when an answer of Discord paused a guild. */
export function pausedReason(code: number | null): string {
  const what =
    code === RESTJSONErrorCodes.UnknownGuild
      ? 'the bot is no longer in this Discord server'
      : code === RESTJSONErrorCodes.MissingAccess
        ? 'the bot can no longer see this Discord server'
        : "the bot lacks a permission it needs (Manage Roles, Create Instant Invite), or the Approved role sits above the bot's highest role";
  return `Grants are paused: ${what} (Discord error ${code ?? 'unknown'}). Fix it in Discord, then press Check again in Settings (or connect again).`;
}

export function createDiscordGuard(
  pool: Pool,
  options: {
    requestsPerSecond: number;
    /** Told when the breaker opens (for the logs): the guild (null: every guild, or one organization) and why. */
    onPause?: (guildId: string | null, reason: string) => void;
  },
): DiscordGuard {
  const rate = Math.min(Math.max(options.requestsPerSecond, 0.1), MAX_REQUESTS_PER_SECOND);
  const spacingSeconds = 1 / rate;

  /** Puts connected organizations in `error` with the reason: their grants wait for a fix. */
  const pause = async (which: { guildId: string } | { organizationId: string }, reason: string) => {
    options.onPause?.('guildId' in which ? which.guildId : null, reason);
    const { rowCount } = await query(
      pool,
      `UPDATE discord_configs
       SET connection_state = 'error', connection_error = $3, connection_state_updated_at = now(), updated_at = now()
       WHERE connection_state = 'connected' AND (guild_id = $1 OR organization_id = $2::uuid)`,
      ['guildId' in which ? which.guildId : null, 'organizationId' in which ? which.organizationId : null, reason],
    );
    if (rowCount) discordPausesTotal.inc({ scope: 'guildId' in which ? 'guild' : 'organization' });
  };

  return {
    async beforeRequest({ path }) {
      // The next free slot, unless it is further ahead than a request may wait (many workers busy).
      const { rows } = await query<{ wait_ms: number; reserved: boolean }>(
        pool,
        `WITH slot AS (
           SELECT greatest(next_slot_at, clock_timestamp()) AS at FROM discord_request_slots FOR UPDATE
         ), taken AS (
           UPDATE discord_request_slots SET next_slot_at = slot.at + make_interval(secs => $1)
           FROM slot WHERE slot.at <= clock_timestamp() + make_interval(secs => $2)
           RETURNING 1
         )
         SELECT extract(epoch FROM slot.at - clock_timestamp()) * 1000 AS wait_ms, EXISTS (SELECT 1 FROM taken) AS reserved
         FROM slot`,
        [spacingSeconds, MAX_SLOT_WAIT_MS / 1000],
      );
      const waitMs = Number(rows[0]?.wait_ms ?? 0);
      if (!rows[0]?.reserved) {
        discordBlockedTotal.inc({ reason: 'schedule_full' });
        throw new DiscordHeldBackError(
          'Every request slot of the next few seconds is taken: trying again shortly.',
          waitMs,
        );
      }
      if (waitMs > 0) await sleep(waitMs);

      const guildId = guildOfPath(path);
      const checking = isConnectionCheck();
      const organizationId = organizationOfRequest();
      // After the wait: the breaker may have opened meanwhile.
      const { rows: gate } = await query<{
        token_rejected: boolean;
        paused_reason: string | null;
        failures: number;
        oldest_failure_age_ms: number | null;
      }>(
        pool,
        `SELECT (SELECT rejected_at IS NOT NULL FROM discord_bot_token_status) AS token_rejected,
                (SELECT connection_error FROM discord_configs
                  WHERE organization_id = $4::uuid AND connection_state = 'error') AS paused_reason,
                count(f.id)::int AS failures,
                extract(epoch FROM clock_timestamp() - min(f.at)) * 1000 AS oldest_failure_age_ms
         FROM (SELECT id, at FROM discord_authorization_failures
               WHERE $1::text IS NOT NULL AND guild_id = $1 AND at > clock_timestamp() - make_interval(secs => $2)
               ORDER BY at DESC LIMIT $3) f`,
        [guildId, FAILURE_WINDOW_MS / 1000, MAX_AUTHORIZATION_FAILURES, organizationId],
      );
      const g = gate[0]!;
      // A connection check may ask whether the token works again (GET /users/@me): nothing else passes.
      if (g.token_rejected && !(checking && path.endsWith('/users/@me'))) {
        discordBlockedTotal.inc({ reason: 'token_rejected' });
        throw new DiscordPausedError(BOT_TOKEN_REJECTED_MESSAGE, guildId);
      }
      if (g.paused_reason !== null && !checking) {
        discordBlockedTotal.inc({ reason: 'organization_paused' });
        throw new DiscordPausedError(g.paused_reason, guildId);
      }
      if (guildId && g.failures >= MAX_AUTHORIZATION_FAILURES) {
        discordBlockedTotal.inc({ reason: 'failure_budget' });
        const retryInMs = FAILURE_WINDOW_MS - Number(g.oldest_failure_age_ms ?? 0);
        throw new DiscordHeldBackError(failureBudgetMessage(retryInMs / 1000), Math.max(1_000, retryInMs));
      }
    },

    async afterResponse({ method, path }, { status, code }) {
      discordResponsesTotal.inc({ status_class: discordStatusClass(status), route: discordRouteLabel(method, path) });
      if (status !== 401 && status !== 403 && !(status === 404 && code === RESTJSONErrorCodes.UnknownGuild)) {
        if (status < 400 && path.endsWith('/users/@me') && method === 'GET') {
          await query(
            pool,
            `UPDATE discord_bot_token_status SET rejected_at = NULL, message = NULL WHERE rejected_at IS NOT NULL`,
          );
        }
        return;
      }
      const guildId = guildOfPath(path);
      if (status === 401 || status === 403) {
        await query(
          pool,
          `INSERT INTO discord_authorization_failures (guild_id, status, code, route) VALUES ($1, $2, $3, $4)`,
          [guildId, status, code, `${method} ${path.replace(/\d{15,21}/g, ':id')}`],
        );
      }
      // 401 with code 0 is the bot token itself; 401 with a JSON code is an applicant's token.
      if (status === 401 && !code) {
        await query(
          pool,
          `UPDATE discord_bot_token_status SET rejected_at = coalesce(rejected_at, now()), message = $1`,
          [BOT_TOKEN_REJECTED_MESSAGE],
        );
        options.onPause?.(null, BOT_TOKEN_REJECTED_MESSAGE);
        return;
      }
      if (guildId && code !== null && GUILD_ACCESS_LOST.has(code) && !isConnectionCheck()) {
        // The bot lost its access to the guild: every organization connected to it pauses.
        await pause({ guildId }, pausedReason(code));
      }
    },

    pauseOrganization: (organizationId, reason) => pause({ organizationId }, reason),

    asConnectionCheck: (fn) => context.run({ connectionCheck: true }, fn),

    forOrganization: (organizationId, fn) => context.run({ organizationId }, fn),
  };
}

/** Deletes authorization failures older than the window (housekeeping). */
export async function deleteOldAuthorizationFailures(pool: Pool): Promise<number> {
  const { rowCount } = await pool.query(
    `DELETE FROM discord_authorization_failures WHERE at < now() - make_interval(secs => $1)`,
    [(2 * FAILURE_WINDOW_MS) / 1000],
  );
  return rowCount ?? 0;
}

/** Whether Discord refused the bot token (every grant waits), and since when. */
export async function botTokenStatus(pool: Pool): Promise<{ rejectedAt: Date | null }> {
  const { rows } = await pool.query<{ rejected_at: Date | null }>(`SELECT rejected_at FROM discord_bot_token_status`);
  return { rejectedAt: rows[0]?.rejected_at ?? null };
}
