/**
 * Discord-style rate limits: a global limit per bot, and per-route buckets keyed by the
 * top-level resource (the guild). Fixed windows that start with the first request.
 */
import { createHash } from 'node:crypto';

export type BucketName = 'memberRoles' | 'roles' | 'guild' | 'members' | 'memberAdd' | 'oauth' | 'users';

export interface Limit {
  limit: number;
  windowMs: number;
}

export interface RateLimitOptions {
  /** Global limit of the bot's requests; default 50 per 1000 ms; null turns it off. */
  global?: Limit | null;
  /** Per-bucket limits; absent or null: the bucket is only bounded by {@link UNCONFIGURED_BUCKET}. */
  buckets?: Partial<Record<BucketName, Limit | null>>;
}

export const DEFAULT_GLOBAL_LIMIT: Limit = { limit: 50, windowMs: 1000 };
/** Buckets without a configured limit still answer truthful headers, with this generous limit. */
export const UNCONFIGURED_BUCKET: Limit = { limit: 10_000, windowMs: 1000 };

interface Window {
  startedAt: number;
  count: number;
}

export type RateLimitDecision =
  | { allowed: true; headers: Record<string, string> }
  | {
      allowed: false;
      headers: Record<string, string>;
      retryAfterSeconds: number;
      global: boolean;
      scope: 'user' | 'global' | 'shared';
    };

export class RateLimiter {
  private global: Limit | null = DEFAULT_GLOBAL_LIMIT;
  private buckets: Partial<Record<BucketName, Limit | null>> = {};
  private readonly windows = new Map<string, Window>();

  /** `clock`: the milliseconds the windows are measured in (tests freeze it). */
  constructor(
    options: RateLimitOptions = {},
    private readonly clock: () => number = Date.now,
  ) {
    this.configure(options);
  }

  configure(options: RateLimitOptions): void {
    this.global = options.global === undefined ? DEFAULT_GLOBAL_LIMIT : options.global;
    this.buckets = { ...(options.buckets ?? {}) };
    this.windows.clear();
  }

  /**
   * Counts one request against the global limit (when `countsGlobally`) and its bucket, and says
   * whether it may proceed. A refused request consumes nothing.
   */
  take(bucket: BucketName, majorParameter: string, countsGlobally: boolean, now = this.clock()): RateLimitDecision {
    const bucketLimit = this.buckets[bucket] ?? UNCONFIGURED_BUCKET;
    const bucketWindow = this.window(`${bucket}:${majorParameter}`, bucketLimit, now);
    const globalWindow = countsGlobally && this.global ? this.window('global', this.global, now) : null;

    if (globalWindow && this.global && globalWindow.count >= this.global.limit) {
      const retryAfterSeconds = (globalWindow.startedAt + this.global.windowMs - now) / 1000;
      return {
        allowed: false,
        global: true,
        scope: 'global',
        retryAfterSeconds,
        // The global limit answers without bucket headers, like Discord.
        headers: { 'X-RateLimit-Global': 'true', 'X-RateLimit-Scope': 'global' },
      };
    }
    if (bucketWindow.count >= bucketLimit.limit) {
      const retryAfterSeconds = (bucketWindow.startedAt + bucketLimit.windowMs - now) / 1000;
      return {
        allowed: false,
        global: false,
        scope: 'user',
        retryAfterSeconds,
        headers: { ...this.headers(bucket, bucketLimit, bucketWindow, now), 'X-RateLimit-Scope': 'user' },
      };
    }
    bucketWindow.count += 1;
    if (globalWindow) globalWindow.count += 1;
    return { allowed: true, headers: this.headers(bucket, bucketLimit, bucketWindow, now) };
  }

  /** Headers of a bucket without consuming from it (for forced answers). */
  peek(bucket: BucketName, majorParameter: string, now = this.clock()): Record<string, string> {
    const limit = this.buckets[bucket] ?? UNCONFIGURED_BUCKET;
    return this.headers(bucket, limit, this.window(`${bucket}:${majorParameter}`, limit, now), now);
  }

  private window(key: string, limit: Limit, now: number): Window {
    let window = this.windows.get(key);
    if (!window || now >= window.startedAt + limit.windowMs) {
      window = { startedAt: now, count: 0 };
      this.windows.set(key, window);
    }
    return window;
  }

  private headers(bucket: BucketName, limit: Limit, window: Window, now: number): Record<string, string> {
    const resetAt = window.startedAt + limit.windowMs;
    return {
      'X-RateLimit-Limit': String(limit.limit),
      'X-RateLimit-Remaining': String(Math.max(0, limit.limit - window.count)),
      'X-RateLimit-Reset': (resetAt / 1000).toFixed(3),
      'X-RateLimit-Reset-After': (Math.max(0, resetAt - now) / 1000).toFixed(3),
      'X-RateLimit-Bucket': bucketHash(bucket),
    };
  }
}

/** Discord's bucket ids are opaque hashes shared by the routes of a bucket. */
export function bucketHash(bucket: BucketName): string {
  return createHash('sha1').update(`sandbox-bucket:${bucket}`).digest('hex').slice(0, 32);
}

/** The 429 body Discord sends. */
export function rateLimitedBody(retryAfterSeconds: number, global: boolean) {
  return {
    message: 'You are being rate limited.',
    retry_after: Math.round(retryAfterSeconds * 1000) / 1000,
    global,
    code: 0,
  };
}
