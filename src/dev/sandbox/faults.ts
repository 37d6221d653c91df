/** Injected faults: forced errors, latency, hanging requests and 429 storms. */

export interface Fault {
  /** HTTP method; default any. May also be given as the first word of `route`. */
  method?: string;
  /**
   * Route template like `'PUT /guilds/:guildId/members/:userId/roles/:roleId'` (with or without
   * the `/api/v10` prefix; `:name` segments match any value, literal ids match only themselves),
   * or a RegExp tested against `'METHOD /path'` (path without the `/api/v10` prefix).
   */
  route: string | RegExp;
  /** Answer with this status (5xx: Discord's plain error body). */
  status?: number;
  /** Answer with this Discord JSON error code (status from Discord's table unless given). */
  code?: number;
  /** Wait this long before handling (or before the forced answer). */
  latencyMs?: number;
  /** Never answer; the connection is dropped when the sandbox closes. */
  hang?: boolean;
  /** How many requests it affects; default unlimited. */
  times?: number;
  /** Answer 429 with this retry_after. */
  rateLimit?: { retryAfterMs: number; global?: boolean };
}

interface ActiveFault {
  fault: Fault;
  method: string | undefined;
  matches: (method: string, path: string) => boolean;
  remaining: number;
}

/** Strips the API prefix so `/api/v10/guilds/1` and `/guilds/1` name the same route. */
export function normalizeApiPath(path: string): string {
  return path.replace(/^\/api(\/v\d+)?(?=\/)/, '');
}

function compile(fault: Fault): ActiveFault {
  let method = fault.method?.toUpperCase();
  let matches: (method: string, path: string) => boolean;
  if (fault.route instanceof RegExp) {
    const pattern = fault.route;
    matches = (m, p) => {
      pattern.lastIndex = 0;
      return pattern.test(`${m} ${p}`);
    };
  } else {
    let route = fault.route.trim();
    const spaced = /^([A-Za-z]+)\s+(\S+)$/.exec(route);
    if (spaced?.[1] && spaced[2]) {
      method = method ?? spaced[1].toUpperCase();
      route = spaced[2];
    }
    const template = normalizeApiPath(route);
    const regex = new RegExp(
      `^${template
        .split('/')
        .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
        .join('/')}/?$`,
    );
    matches = (_m, p) => regex.test(p);
  }
  return {
    fault,
    method,
    matches: (m, p) => (method === undefined || method === m) && matches(m, p),
    remaining: fault.times ?? Number.POSITIVE_INFINITY,
  };
}

export class FaultRegistry {
  private faults: ActiveFault[] = [];

  add(fault: Fault): void {
    if (fault.times !== undefined && (!Number.isInteger(fault.times) || fault.times < 1)) {
      throw new Error('fault.times must be a positive integer');
    }
    this.faults.push(compile(fault));
  }

  clear(): void {
    this.faults = [];
  }

  /** The first fault matching the request, consuming one of its `times`. */
  take(method: string, path: string): Fault | undefined {
    const normalized = normalizeApiPath(path);
    const active = this.faults.find((f) => f.remaining > 0 && f.matches(method.toUpperCase(), normalized));
    if (!active) return undefined;
    active.remaining -= 1;
    if (active.remaining <= 0) this.faults = this.faults.filter((f) => f !== active);
    return active.fault;
  }
}
