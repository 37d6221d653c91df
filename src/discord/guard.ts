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
import type { Pool } from '../db/pool';

/** Discord's own global limit is 50 requests per second per bot. */
export const MAX_REQUESTS_PER_SECOND = 50;
export const DEFAULT_REQUESTS_PER_SECOND = 45;
/** At most this many requests answered 401 or 403 per guild within {@link FAILURE_WINDOW_MS}. */
export const MAX_AUTHORIZATION_FAILURES = 10;
export const FAILURE_WINDOW_MS = 10 * 60_000;

/** Why a request was not sent: the guild's (or every guild's) grants are paused. */
export class DiscordPausedError extends Error {
  override readonly name = 'DiscordPausedError';
  constructor(
    message: string,
    readonly guildId: string | null,
  ) {
    super(message);
  }
}

export const BOT_TOKEN_REJECTED_MESSAGE =
  "Discord refused the bot's token, so every grant is paused: an operator must check DISCORD_BOT_TOKEN, then restart the worker or press Check again in Settings.";

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
  /** Pauses the grants of a guild with a reason an admin can act on (an unsafe role found at grant time). */
  pauseGuild(guildId: string, reason: string): Promise<void>;
  /** Runs `fn` as a connection check: its requests pass a paused guild (they are how it resumes). */
  asConnectionCheck<T>(fn: () => Promise<T>): Promise<T>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Set while a connection check runs (one per process, whichever guard instance asks). */
const connectionCheck = new AsyncLocalStorage<true>();

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
    /** Told when the breaker opens (for the logs): the guild (null: every guild) and why. */
    onPause?: (guildId: string | null, reason: string) => void;
  },
): DiscordGuard {
  const rate = Math.min(Math.max(options.requestsPerSecond, 0.1), MAX_REQUESTS_PER_SECOND);
  const spacingSeconds = 1 / rate;

  const pause = async (guildId: string, reason: string) => {
    options.onPause?.(guildId, reason);
    await pool.query(
      `UPDATE discord_configs
       SET connection_state = 'error', connection_error = $2, connection_state_updated_at = now(), updated_at = now()
       WHERE guild_id = $1 AND connection_state = 'connected'`,
      [guildId, reason],
    );
  };

  return {
    async beforeRequest({ path }) {
      const { rows } = await pool.query<{ wait_ms: number }>(
        `UPDATE discord_request_slots
         SET next_slot_at = greatest(next_slot_at, clock_timestamp()) + make_interval(secs => $1)
         RETURNING extract(epoch FROM next_slot_at - make_interval(secs => $1) - clock_timestamp()) * 1000 AS wait_ms`,
        [spacingSeconds],
      );
      const waitMs = Number(rows[0]?.wait_ms ?? 0);
      if (waitMs > 0) await sleep(waitMs);

      const guildId = guildOfPath(path);
      const checking = connectionCheck.getStore() === true;
      // After the wait: the breaker may have opened meanwhile.
      const { rows: gate } = await pool.query<{
        token_rejected: boolean;
        paused_reason: string | null;
        failures: number;
        oldest_failure_age_ms: number | null;
      }>(
        `SELECT (SELECT rejected_at IS NOT NULL FROM discord_bot_token_status) AS token_rejected,
                (SELECT connection_error FROM discord_configs
                  WHERE $1::text IS NOT NULL AND guild_id = $1 AND connection_state = 'error' LIMIT 1) AS paused_reason,
                count(f.id)::int AS failures,
                extract(epoch FROM clock_timestamp() - min(f.at)) * 1000 AS oldest_failure_age_ms
         FROM (SELECT id, at FROM discord_authorization_failures
               WHERE $1::text IS NOT NULL AND guild_id = $1 AND at > clock_timestamp() - make_interval(secs => $2)
               ORDER BY at DESC LIMIT $3) f`,
        [guildId, FAILURE_WINDOW_MS / 1000, MAX_AUTHORIZATION_FAILURES],
      );
      const g = gate[0]!;
      // A connection check may ask whether the token works again (GET /users/@me): nothing else passes.
      if (g.token_rejected && !(checking && path.endsWith('/users/@me'))) {
        throw new DiscordPausedError(BOT_TOKEN_REJECTED_MESSAGE, guildId);
      }
      if (!guildId) return;
      if (g.failures >= MAX_AUTHORIZATION_FAILURES) {
        const retryInMs = FAILURE_WINDOW_MS - Number(g.oldest_failure_age_ms ?? 0);
        throw new DiscordPausedError(failureBudgetMessage(retryInMs / 1000), guildId);
      }
      if (g.paused_reason !== null && !checking) throw new DiscordPausedError(g.paused_reason, guildId);
    },

    async afterResponse({ method, path }, { status, code }) {
      if (status !== 401 && status !== 403 && !(status === 404 && code === RESTJSONErrorCodes.UnknownGuild)) {
        if (status < 400 && path.endsWith('/users/@me') && method === 'GET') {
          await pool.query(
            `UPDATE discord_bot_token_status SET rejected_at = NULL, message = NULL WHERE rejected_at IS NOT NULL`,
          );
        }
        return;
      }
      const guildId = guildOfPath(path);
      if (status === 401 || status === 403) {
        await pool.query(
          `INSERT INTO discord_authorization_failures (guild_id, status, code, route) VALUES ($1, $2, $3, $4)`,
          [guildId, status, code, `${method} ${path.replace(/\d{15,21}/g, ':id')}`],
        );
      }
      // 401 with code 0 is the bot token itself; 401 with a JSON code is an applicant's token.
      if (status === 401 && !code) {
        await pool.query(
          `UPDATE discord_bot_token_status SET rejected_at = coalesce(rejected_at, now()), message = $1`,
          [BOT_TOKEN_REJECTED_MESSAGE],
        );
        options.onPause?.(null, BOT_TOKEN_REJECTED_MESSAGE);
        return;
      }
      if (guildId && code !== null && GUILD_ACCESS_LOST.has(code) && connectionCheck.getStore() !== true) {
        await pause(guildId, pausedReason(code));
      }
    },

    pauseGuild: pause,

    asConnectionCheck: (fn) => connectionCheck.run(true, fn),
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
