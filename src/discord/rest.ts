/**
 * The one `REST` instance a process uses to talk to Discord (or the sandbox). No retries of its
 * own and rate limits rejected instead of waited out: Temporal decides when to try again.
 */
import { REST } from '@discordjs/rest';

export interface DiscordRestOptions {
  /** Discord REST base without version, e.g. `https://discord.com/api` or `http://127.0.0.1:1234/api`. */
  apiBaseUrl: string;
  botToken: string;
  timeoutMs?: number;
}

export function createDiscordRest({ apiBaseUrl, botToken, timeoutMs = 10_000 }: DiscordRestOptions): REST {
  return new REST({
    api: apiBaseUrl.replace(/\/+$/, ''),
    version: '10',
    retries: 0,
    timeout: timeoutMs,
    // Every rate limit (pre-emptive or a real 429) throws RateLimitError instead of sleeping.
    rejectOnRateLimit: () => true,
  }).setToken(botToken);
}
