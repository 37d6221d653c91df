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
 *   Discord until an admin reconnects or presses "Check now". A 401 (the bot token itself
 *   refused) pauses every guild. And whatever happens, a guild that had 10 requests answered 401
 *   or 403 within 10 minutes gets no further request until that window has passed.
 *
 * Requests made by a connection check (`asConnectionCheck`) pass a paused guild, since they are
 * how it resumes; they still count against the 10-per-10-minutes budget.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { RESTJSONErrorCodes } from 'discord-api-types/v10';
import {
  clearBotTokenRejection,
  deleteAuthorizationFailuresOlderThan,
  findBotTokenRejection,
  markBotTokenRejected,
  pauseConnectedOrganizations,
  readRequestGate,
  recordAuthorizationFailure,
  reserveRequestSlot,
} from '../db/discord-guard.js';
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
/**
 * A background request takes a slot only when the schedule's next free one is at most this many
 * slots ahead (the schedule is idle): a grant arriving meanwhile waits at most that many slots more.
 */
export const BACKGROUND_SLOTS_AHEAD = 1;
/** A background request waits this long at most for an idle slot; beyond it, it is held back. */
export const MAX_BACKGROUND_WAIT_MS = 30_000;

export const BOT_TOKEN_REJECTED_MESSAGE =
  "Discord refused the bot's token, so every grant is paused: an operator must check DISCORD_BOT_TOKEN and restart the workers (they resume every organization's grants once Discord accepts it), or an admin presses Check now in Settings.";

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
  /**
   * As `forOrganization`, at low priority (a reconciliation): each request takes a slot only when
   * the shared schedule is idle, so grants never queue behind it.
   */
  inBackground<T>(organizationId: string, fn: () => Promise<T>): Promise<T>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What the running activity is doing (one per process, whichever guard instance asks). */
const context = new AsyncLocalStorage<{ connectionCheck: true } | { organizationId: string; background?: true }>();
const isConnectionCheck = () => {
  const store = context.getStore();
  return store !== undefined && 'connectionCheck' in store;
};
const isBackground = () => {
  const store = context.getStore();
  return store !== undefined && 'background' in store && store.background === true;
};
const organizationOfRequest = () => {
  const store = context.getStore();
  return store !== undefined && 'organizationId' in store ? store.organizationId : null;
};

/** Runs a query of the guard; a failure to answer becomes a retryable DiscordGuardUnavailableError. */
async function guarded<T>(query: () => Promise<T>): Promise<T> {
  try {
    return await query();
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
  return `Grants are paused: ${what} (Discord error ${code ?? 'unknown'}). Fix it in Discord, then press Check now in Settings (or connect again).`;
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
    const paused = await guarded(() => pauseConnectedOrganizations(pool, which, reason));
    if (paused) discordPausesTotal.inc({ scope: 'guildId' in which ? 'guild' : 'organization' });
  };

  return {
    async beforeRequest({ path }) {
      // The next free slot, unless it is further ahead than a request may wait (many workers busy).
      // A background request only takes an idle one, and otherwise waits for the schedule to empty.
      const background = isBackground();
      let { waitMs, reserved } = await guarded(() =>
        reserveRequestSlot(pool, {
          spacingSeconds,
          maxWaitSeconds: background ? spacingSeconds * BACKGROUND_SLOTS_AHEAD : MAX_SLOT_WAIT_MS / 1000,
        }),
      );
      for (const started = Date.now(); background && !reserved && Date.now() - started < MAX_BACKGROUND_WAIT_MS;) {
        discordBlockedTotal.inc({ reason: 'background_yield' });
        await sleep(Math.max(waitMs, spacingSeconds * 1000) + Math.random() * 50);
        ({ waitMs, reserved } = await guarded(() =>
          reserveRequestSlot(pool, { spacingSeconds, maxWaitSeconds: spacingSeconds * BACKGROUND_SLOTS_AHEAD }),
        ));
      }
      if (!reserved) {
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
      const g = await guarded(() =>
        readRequestGate(pool, {
          guildId,
          organizationId,
          windowSeconds: FAILURE_WINDOW_MS / 1000,
          maxFailures: MAX_AUTHORIZATION_FAILURES,
        }),
      );
      // A connection check may ask whether the token works again (GET /users/@me): nothing else passes.
      if (g.tokenRejected && !(checking && path.endsWith('/users/@me'))) {
        discordBlockedTotal.inc({ reason: 'token_rejected' });
        throw new DiscordPausedError(BOT_TOKEN_REJECTED_MESSAGE, guildId);
      }
      if (g.pausedReason !== null && !checking) {
        discordBlockedTotal.inc({ reason: 'organization_paused' });
        throw new DiscordPausedError(g.pausedReason, guildId);
      }
      if (guildId && g.failures >= MAX_AUTHORIZATION_FAILURES) {
        discordBlockedTotal.inc({ reason: 'failure_budget' });
        const retryInMs = FAILURE_WINDOW_MS - (g.oldestFailureAgeMs ?? 0);
        throw new DiscordHeldBackError(failureBudgetMessage(retryInMs / 1000), Math.max(1_000, retryInMs));
      }
    },

    async afterResponse({ method, path }, { status, code }) {
      discordResponsesTotal.inc({ status_class: discordStatusClass(status), route: discordRouteLabel(method, path) });
      if (status !== 401 && status !== 403 && !(status === 404 && code === RESTJSONErrorCodes.UnknownGuild)) {
        if (status < 400 && path.endsWith('/users/@me') && method === 'GET') {
          await guarded(() => clearBotTokenRejection(pool));
        }
        return;
      }
      const guildId = guildOfPath(path);
      // Listing members without the Server Members intent answers Missing Access: not a lost guild,
      // and not the bot's fault in this guild (reconciliations then stop trying for a day).
      const listingMembers = method === 'GET' && /\/guilds\/\d+\/members$/.test(path.split('?')[0]!);
      if ((status === 401 || status === 403) && !listingMembers) {
        await guarded(() =>
          recordAuthorizationFailure(pool, {
            guildId,
            status,
            code,
            route: `${method} ${path.replace(/\d{15,21}/g, ':id')}`,
          }),
        );
      }
      // 401 with code 0 is the bot token itself; 401 with a JSON code is an applicant's token.
      if (status === 401 && !code) {
        await guarded(() => markBotTokenRejected(pool, BOT_TOKEN_REJECTED_MESSAGE));
        options.onPause?.(null, BOT_TOKEN_REJECTED_MESSAGE);
        return;
      }
      if (guildId && code !== null && GUILD_ACCESS_LOST.has(code) && !isConnectionCheck() && !listingMembers) {
        // The bot lost its access to the guild: every organization connected to it pauses.
        await pause({ guildId }, pausedReason(code));
      }
    },

    pauseOrganization: (organizationId, reason) => pause({ organizationId }, reason),

    asConnectionCheck: (fn) => context.run({ connectionCheck: true }, fn),

    forOrganization: (organizationId, fn) => context.run({ organizationId }, fn),

    inBackground: (organizationId, fn) => context.run({ organizationId, background: true }, fn),
  };
}

/** Deletes authorization failures older than the window (housekeeping). */
export async function deleteOldAuthorizationFailures(pool: Pool): Promise<number> {
  return await deleteAuthorizationFailuresOlderThan(pool, (2 * FAILURE_WINDOW_MS) / 1000);
}

/** Whether Discord refused the bot token (every grant waits), and since when. */
export async function botTokenStatus(pool: Pool): Promise<{ rejectedAt: Date | null }> {
  return await findBotTokenRejection(pool);
}
