/**
 * The one `REST` instance a process uses to talk to Discord (or the sandbox). No retries of its
 * own and rate limits rejected instead of waited out: Temporal decides when to try again. With a
 * guard, every request first waits for its slot of the shared rate and passes the circuit breaker
 * (src/discord/guard.ts), and every answer is shown to the breaker.
 */
import { REST, type ResponseLike } from '@discordjs/rest';
import type { DiscordGuard } from './guard.js';

export interface DiscordRestOptions {
  /** Discord REST base without version, e.g. `https://discord.com/api` or `http://127.0.0.1:1234/api`. */
  apiBaseUrl: string;
  botToken: string;
  timeoutMs?: number;
  guard?: DiscordGuard;
}

/** Discord's JSON error code of an error answer, read from a copy of the body. */
async function errorCodeOf(response: Response): Promise<number | null> {
  try {
    const body = (await response.clone().json()) as { code?: unknown };
    return typeof body.code === 'number' ? body.code : null;
  } catch {
    return null;
  }
}

const botTokens = new WeakMap<REST, string>();

/**
 * Gives the instance its bot token again: @discordjs/rest forgets it after a 401 and refuses every
 * later call locally (which sends Discord nothing). A connection check restores it to ask again.
 */
export function restoreBotToken(rest: REST): void {
  const token = botTokens.get(rest);
  if (token) rest.setToken(token);
}

export function createDiscordRest({ apiBaseUrl, botToken, timeoutMs = 15_000, guard }: DiscordRestOptions): REST {
  const makeRequest = async (url: string, init: RequestInit): Promise<ResponseLike> => {
    const request = { method: init.method ?? 'GET', path: new URL(url).pathname };
    await guard?.beforeRequest(request);
    const response = await fetch(url, init);
    const code = response.status >= 400 ? await errorCodeOf(response) : null;
    await guard?.afterResponse(request, { status: response.status, code });
    return response as unknown as ResponseLike;
  };
  const rest = new REST({
    api: apiBaseUrl.replace(/\/+$/, ''),
    version: '10',
    retries: 0,
    // Includes the wait for the request's slot of the shared rate (at most 5 s).
    timeout: timeoutMs,
    // Every rate limit (pre-emptive or a real 429) throws RateLimitError instead of sleeping.
    rejectOnRateLimit: () => true,
    makeRequest: makeRequest as unknown as (url: string, init: never) => Promise<ResponseLike>,
  }).setToken(botToken);
  botTokens.set(rest, botToken);
  return rest;
}
