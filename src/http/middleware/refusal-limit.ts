import type { Request } from 'express';
import { ipKeyGenerator, MemoryStore, type Options as RateLimitOptions } from 'express-rate-limit';

/**
 * Counts refused attempts per client (an OAuth callback with a forged, replayed or expired state),
 * once each is decided, and says when a client made too many: then every attempt of it is turned
 * away for the rest of the window. Successful attempts do not count, so a busy but honest network
 * (a campus behind one address) is not locked out. (express-rate-limit's middleware counts every
 * request on arrival and takes successes back when they finish: requests still running counted as
 * refusals and got valid ones turned away.)
 */
export function refusalLimit(options: { max: number; windowMs: number }) {
  const store = new MemoryStore();
  store.init({ windowMs: options.windowMs } as RateLimitOptions);
  const clientOf = (req: Request) => ipKeyGenerator(req.ip ?? '');
  return {
    /** The client already made too many refused attempts in this window. */
    exhausted: async (req: Request) => ((await store.get(clientOf(req)))?.totalHits ?? 0) >= options.max,
    /** Counts one refusal; true when it is one too many (a burst arriving together). */
    refuse: async (req: Request) => (await store.increment(clientOf(req))).totalHits > options.max,
  };
}
