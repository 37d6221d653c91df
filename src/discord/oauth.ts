/** Discord's OAuth2 bot flow: the authorize URL, and the code exchange whose answer names the guild. */
import { PermissionFlagsBits, type APIGuild } from 'discord-api-types/v10';
import { DiscordOAuthError } from './errors';

/** Manage Roles (1 << 28): all the bot needs. */
export const BOT_PERMISSIONS = PermissionFlagsBits.ManageRoles.toString();

export interface AuthorizeUrlOptions {
  /** e.g. `https://discord.com/oauth2/authorize` */
  authorizeUrl: string;
  clientId: string;
  redirectUri: string;
  state: string;
}

export function buildAuthorizeUrl({ authorizeUrl, clientId, redirectUri, state }: AuthorizeUrlOptions): string {
  const url = new URL(authorizeUrl);
  url.searchParams.set('client_id', clientId);
  url.searchParams.set('scope', 'bot');
  url.searchParams.set('permissions', BOT_PERMISSIONS);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('redirect_uri', redirectUri);
  url.searchParams.set('state', state);
  return url.toString();
}

export interface ExchangeCodeOptions {
  /** Discord REST base without version, e.g. `https://discord.com/api`. */
  apiBaseUrl: string;
  clientId: string;
  clientSecret: string;
  code: string;
  redirectUri: string;
  timeoutMs?: number;
}

export interface ExchangedCode {
  accessToken: string;
  scope: string;
  /** The guild the bot was added to: authoritative (the redirect's `guild_id` is only a hint). */
  guild: APIGuild | undefined;
}

/**
 * Exchanges the authorization code. Throws {@link DiscordOAuthError}: `retryable: false` for OAuth
 * error answers (400 `invalid_grant`, 401 `invalid_client`, ...), `retryable: true` for 429, 5xx,
 * timeouts and network failures.
 */
export async function exchangeCode({
  apiBaseUrl,
  clientId,
  clientSecret,
  code,
  redirectUri,
  timeoutMs = 10_000,
}: ExchangeCodeOptions): Promise<ExchangedCode> {
  const url = `${apiBaseUrl.replace(/\/+$/, '')}/v10/oauth2/token`;
  const credentials = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString(
    'base64',
  );
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: {
        Authorization: `Basic ${credentials}`,
        'Content-Type': 'application/x-www-form-urlencoded',
        Accept: 'application/json',
      },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri }).toString(),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    // Duck-typed: the DOMException of an aborted fetch may come from another realm.
    const name = typeof error === 'object' && error !== null ? (error as { name?: unknown }).name : undefined;
    const timedOut = name === 'TimeoutError' || name === 'AbortError';
    throw new DiscordOAuthError(
      timedOut ? 'Discord did not answer the token exchange in time' : 'Could not reach Discord for the token exchange',
      { oauthError: timedOut ? 'timeout' : 'network', retryable: true, cause: error },
    );
  }

  const body = await readJson(response);
  if (response.status === 429) {
    const retryAfterSeconds =
      typeof body?.retry_after === 'number' ? body.retry_after : Number(response.headers.get('retry-after'));
    throw new DiscordOAuthError('Discord rate limited the token exchange', {
      oauthError: 'rate_limited',
      status: 429,
      retryable: true,
      retryAfterMs: Number.isFinite(retryAfterSeconds) ? retryAfterSeconds * 1000 : undefined,
    });
  }
  if (response.status >= 500) {
    throw new DiscordOAuthError(`Discord answered the token exchange with HTTP ${response.status}`, {
      oauthError: 'server_error',
      status: response.status,
      retryable: true,
    });
  }
  if (!response.ok) {
    const oauthError = typeof body?.error === 'string' ? body.error : 'invalid_request';
    const description = typeof body?.error_description === 'string' ? body.error_description : undefined;
    throw new DiscordOAuthError(
      `Discord refused the token exchange: ${oauthError}${description ? ` (${description})` : ''}`,
      {
        oauthError,
        description,
        status: response.status,
        retryable: false,
      },
    );
  }
  if (typeof body?.access_token !== 'string' || typeof body.scope !== 'string') {
    throw new DiscordOAuthError('Discord answered the token exchange without an access token', {
      oauthError: 'invalid_response',
      status: response.status,
      retryable: false,
    });
  }
  return { accessToken: body.access_token, scope: body.scope, guild: parseGuild(body.guild) };
}

async function readJson(response: Response): Promise<Record<string, unknown> | undefined> {
  try {
    const value: unknown = await response.json();
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Accepts the guild only when it looks like one: a snowflake id, a name and a roles array. */
function parseGuild(value: unknown): APIGuild | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const guild = value as Partial<Record<keyof APIGuild, unknown>>;
  if (typeof guild.id !== 'string' || !/^[1-9][0-9]{16,19}$/.test(guild.id)) return undefined;
  if (typeof guild.name !== 'string' || !Array.isArray(guild.roles)) return undefined;
  return value as APIGuild;
}
