import type { ClientRateLimitInfo, Options, Store } from 'express-rate-limit';
import type { Pool } from './pool.js';

/**
 * An `express-rate-limit` store that keeps its counters in Postgres (`rate_limit_hits`), so that
 * every API replica counts against one budget: a fixed window per limiter and client key, one
 * statement per hit. (The published Postgres store was not used: it runs its own migrations from
 * its constructor without awaiting them, opens a pool of its own for each limiter, and has no
 * `get`, which the refusal counters need.)
 */
export class PostgresRateLimitStore implements Store {
  /** Counters are shared by every process: express-rate-limit must not assume they are local. */
  readonly localKeys = false;

  constructor(
    private readonly pool: Pool,
    /** Names the limiter: each limiter counts apart (`login`, `login-account`, `public-form`, …). */
    readonly prefix: string,
    /** The window's length; express-rate-limit sets it through `init` for its middleware. */
    private windowMs = 60_000,
  ) {}

  init(options: Options): void {
    this.windowMs = options.windowMs;
  }

  async get(key: string): Promise<ClientRateLimitInfo | undefined> {
    const { rows } = await this.pool.query<{ hits: number; reset_at: Date }>(
      'SELECT hits, reset_at FROM rate_limit_hits WHERE limiter = $1 AND key = $2 AND reset_at > now()',
      [this.prefix, key],
    );
    const row = rows[0];
    return row ? { totalHits: row.hits, resetTime: row.reset_at } : undefined;
  }

  async increment(key: string): Promise<ClientRateLimitInfo> {
    const { rows } = await this.pool.query<{ hits: number; reset_at: Date }>(
      `INSERT INTO rate_limit_hits (limiter, key, hits, reset_at)
       VALUES ($1, $2, 1, now() + make_interval(secs => $3::double precision / 1000))
       ON CONFLICT (limiter, key) DO UPDATE SET
         hits = CASE WHEN rate_limit_hits.reset_at <= now() THEN 1 ELSE rate_limit_hits.hits + 1 END,
         reset_at = CASE WHEN rate_limit_hits.reset_at <= now() THEN EXCLUDED.reset_at ELSE rate_limit_hits.reset_at END
       RETURNING hits, reset_at`,
      [this.prefix, key, this.windowMs],
    );
    return { totalHits: rows[0]!.hits, resetTime: rows[0]!.reset_at };
  }

  async decrement(key: string): Promise<void> {
    await this.pool.query(
      'UPDATE rate_limit_hits SET hits = greatest(hits - 1, 0) WHERE limiter = $1 AND key = $2 AND reset_at > now()',
      [this.prefix, key],
    );
  }

  async resetKey(key: string): Promise<void> {
    await this.pool.query('DELETE FROM rate_limit_hits WHERE limiter = $1 AND key = $2', [this.prefix, key]);
  }
}

/** The sign-in limiters' names: per address and email (`<address>|<email>`), per account, per address. */
export const LOGIN_LIMITERS = { addressAndEmail: 'login', account: 'login-account', address: 'login-address' } as const;

/**
 * Forgets the failed sign-ins of one account (`npm run cli -- unlock-account`): its lock, and the
 * per-address counts for its email. Answers how many counters it deleted.
 */
export async function deleteLoginFailures(pool: Pool, email: string): Promise<number> {
  const { rowCount } = await pool.query(
    `DELETE FROM rate_limit_hits
      WHERE (limiter = $1 AND key = $3) OR (limiter = $2 AND right(key, length($3) + 1) = '|' || $3)`,
    [LOGIN_LIMITERS.account, LOGIN_LIMITERS.addressAndEmail, email],
  );
  return rowCount ?? 0;
}

/** Deletes the windows that are over (the hourly housekeeping). */
export async function deleteExpiredRateLimitHits(pool: Pool): Promise<number> {
  const { rowCount } = await pool.query('DELETE FROM rate_limit_hits WHERE reset_at <= now()');
  return rowCount ?? 0;
}
