/**
 * Discord's OAuth2 flows: the bot's (an admin adds the bot; the code's answer names the guild) and
 * the applicant's (`identify guilds.join`: who they are, and the right to add them to the server).
 */
import { PermissionFlagsBits, type APIGuild, type APIUser } from 'discord-api-types/v10';
import { DiscordOAuthError } from './errors.js';

/**
 * Manage Roles (1 << 28) to grant the role, Create Instant Invite (1 << 0) to add an applicant who
 * is not a member yet (Add Guild Member with their `guilds.join` token).
 */
export const BOT_PERMISSIONS = (PermissionFlagsBits.ManageRoles | PermissionFlagsBits.CreateInstantInvite).toString();

/** What an applicant's sign-in asks for: who they are, and leave to add them to the server. */
export const APPLICANT_SCOPES = 'identify guilds.join';

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

/** The authorize URL of an applicant signing in: `identify guilds.join`, no bot, no guild picker. */
export function buildApplicantAuthorizeUrl({
  authorizeUrl,
  clientId,
  redirectUri,
  state,
}: AuthorizeUrlOptions): string {
  const url = new URL(authorizeUrl);
  url.searchParams.set('client_id', clientId);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('scope', APPLICANT_SCOPES);
  url.searchParams.set('redirect_uri', redirectUri);
  url.searchParams.set('state', state);
  url.searchParams.set('prompt', 'consent');
  return url.toString();
}

export interface OAuthClient {
  /** Discord REST base without version, e.g. `https://discord.com/api`. */
  apiBaseUrl: string;
  clientId: string;
  clientSecret: string;
  timeoutMs?: number;
}

export interface ExchangeCodeOptions extends OAuthClient {
  code: string;
  redirectUri: string;
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
export async function exchangeCode(options: ExchangeCodeOptions): Promise<ExchangedCode> {
  const body = await tokenRequest(options, {
    grant_type: 'authorization_code',
    code: options.code,
    redirect_uri: options.redirectUri,
  });
  return { accessToken: body.access_token as string, scope: body.scope as string, guild: parseGuild(body.guild) };
}

/** An applicant's tokens: never logged, never put in a workflow's input or history, encrypted at rest. */
export interface UserTokens {
  accessToken: string;
  refreshToken: string;
  expiresAt: Date;
  scope: string;
}

function userTokensOf(body: Record<string, unknown>, now: number): UserTokens {
  if (typeof body.refresh_token !== 'string') {
    throw new DiscordOAuthError('Discord answered without a refresh token', {
      oauthError: 'invalid_response',
      retryable: false,
    });
  }
  const expiresIn = typeof body.expires_in === 'number' ? body.expires_in : 0;
  return {
    accessToken: body.access_token as string,
    refreshToken: body.refresh_token,
    expiresAt: new Date(now + expiresIn * 1000),
    scope: body.scope as string,
  };
}

/** Exchanges an applicant's authorization code for their tokens. */
export async function exchangeUserCode(options: ExchangeCodeOptions): Promise<UserTokens> {
  const now = Date.now();
  const body = await tokenRequest(options, {
    grant_type: 'authorization_code',
    code: options.code,
    redirect_uri: options.redirectUri,
  });
  return userTokensOf(body, now);
}

/** A new pair for an expired access token. A used or revoked refresh token: `DiscordOAuthError('invalid_grant')`. */
export async function refreshUserToken(options: OAuthClient & { refreshToken: string }): Promise<UserTokens> {
  const now = Date.now();
  const body = await tokenRequest(options, { grant_type: 'refresh_token', refresh_token: options.refreshToken });
  return userTokensOf(body, now);
}

/**
 * `GET /users/@me` with an applicant's access token: who signed in. A token Discord refuses is a
 * `DiscordOAuthError('invalid_token')`.
 */
export async function fetchCurrentUser(options: {
  apiBaseUrl: string;
  accessToken: string;
  timeoutMs?: number;
}): Promise<APIUser> {
  let response: Response;
  try {
    response = await fetch(`${options.apiBaseUrl.replace(/\/+$/, '')}/v10/users/@me`, {
      headers: { Authorization: `Bearer ${options.accessToken}`, Accept: 'application/json' },
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
  } catch (error) {
    throw new DiscordOAuthError('Could not reach Discord for the signed-in user', {
      oauthError: 'network',
      retryable: true,
      cause: error,
    });
  }
  const body = await readJson(response);
  if (!response.ok) {
    throw new DiscordOAuthError(`Discord refused the access token (HTTP ${response.status})`, {
      oauthError:
        response.status === 401 ? 'invalid_token' : response.status >= 500 ? 'server_error' : 'invalid_request',
      status: response.status,
      retryable: response.status >= 500 || response.status === 429,
    });
  }
  if (typeof body?.id !== 'string' || !/^[1-9][0-9]{16,19}$/.test(body.id) || typeof body.username !== 'string') {
    throw new DiscordOAuthError('Discord answered /users/@me without a user', {
      oauthError: 'invalid_response',
      status: response.status,
      retryable: false,
    });
  }
  return body as unknown as APIUser;
}

/**
 * `POST /oauth2/token` with the client's credentials (HTTP Basic) and a form body. Throws
 * {@link DiscordOAuthError}: `retryable: false` for OAuth error answers, `retryable: true` for 429,
 * 5xx, timeouts and network failures.
 */
async function tokenRequest(
  { apiBaseUrl, clientId, clientSecret, timeoutMs = 10_000 }: OAuthClient,
  params: Record<string, string>,
): Promise<Record<string, unknown>> {
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
      body: new URLSearchParams(params).toString(),
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
  return body;
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
