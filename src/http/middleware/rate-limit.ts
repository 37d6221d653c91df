import net from 'node:net';
import type { Request } from 'express';
import { ipKeyGenerator, rateLimit, type Options } from 'express-rate-limit';
import { PostgresRateLimitStore } from '../../db/rate-limits.js';
import type { Pool } from '../../db/pool.js';

/**
 * The client key of an address (an IPv6 client's /56, which it can vary inside at will). What a
 * trusted proxy passed on that is not an address at all shares one key: a made-up value per
 * request must not be a fresh budget per request.
 */
export const clientKey = (req: Request) => (req.ip && net.isIP(req.ip) ? ipKeyGenerator(req.ip) : 'not-an-address');

/**
 * express-rate-limit with its counters in Postgres: every API replica counts against one budget.
 * The client is `clientKey(req)` unless the options say otherwise; `req.ip`, which
 * X-Forwarded-For can only set through a proxy TRUST_PROXY names.
 */
export function sharedRateLimit(pool: Pool, name: string, options: Partial<Options>) {
  return rateLimit({
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    keyGenerator: clientKey,
    ...options,
    store: new PostgresRateLimitStore(pool, name),
  });
}

/**
 * Counts refused attempts per client (an OAuth callback with a forged, replayed or expired state),
 * once each is decided, and says when a client made too many: then every attempt of it is turned
 * away for the rest of the window. Successful attempts do not count, so a busy but honest network
 * (a campus behind one address) is not locked out. (express-rate-limit's middleware counts every
 * request on arrival and takes successes back when they finish: requests still running counted as
 * refusals and got valid ones turned away.) Shared by every replica, like the limiters.
 */
export function refusalLimit(pool: Pool, name: string, options: { max: number; windowMs: number }) {
  const store = new PostgresRateLimitStore(pool, name, options.windowMs);
  return {
    /** The client already made too many refused attempts in this window. */
    exhausted: async (req: Request) => ((await store.get(clientKey(req)))?.totalHits ?? 0) >= options.max,
    /** Counts one refusal; true when it is one too many (a burst arriving together). */
    refuse: async (req: Request) => (await store.increment(clientKey(req))).totalHits > options.max,
  };
}
