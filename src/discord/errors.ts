/**
 * One place that turns whatever a Discord call threw into a decision (retry or not) and a
 * sentence an organization admin can act on; and into the Temporal failure activities throw.
 */
import { DiscordAPIError, HTTPError, RateLimitError } from '@discordjs/rest';
import { ApplicationFailure } from '@temporalio/common';
import { RESTJSONErrorCodes } from 'discord-api-types/v10';
import { DiscordGuardUnavailableError, DiscordHeldBackError, DiscordPausedError } from './guard.js';
import { MISSING_PERMISSIONS_MESSAGE } from '../domain/discord-messages.js';

export interface DiscordFailure {
  retryable: boolean;
  /** Stable snake_case, e.g. 'unknown_member', 'missing_permissions', 'rate_limited'. */
  type: string;
  /** One sentence an organization admin can act on. */
  message: string;
  status?: number;
  /** Discord's JSON error code, when there was one. */
  code?: number;
  /** For 'rate_limited': how long Discord asked us to wait. */
  retryAfterMs?: number;
}

export interface DiscordOAuthErrorDetails {
  /** The OAuth `error` of Discord's answer ('invalid_grant', 'invalid_client', ...), or 'server_error', 'rate_limited', 'timeout', 'network', 'invalid_response'. */
  oauthError: string;
  description?: string;
  status?: number;
  retryable: boolean;
  retryAfterMs?: number;
  cause?: unknown;
}

/** The token exchange failed. `retryable` says whether trying the same code again can help. */
export class DiscordOAuthError extends Error {
  override readonly name = 'DiscordOAuthError';
  readonly oauthError: string;
  readonly description: string | undefined;
  readonly status: number | undefined;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;

  constructor(message: string, details: DiscordOAuthErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.oauthError = details.oauthError;
    this.description = details.description;
    this.status = details.status;
    this.retryable = details.retryable;
    this.retryAfterMs = details.retryAfterMs;
  }
}

export { MISSING_PERMISSIONS_MESSAGE };

/** Permanent Discord JSON error codes and what an admin should do about them. */
const PERMANENT_CODES: Record<number, { type: string; message: string }> = {
  [RESTJSONErrorCodes.UnknownGuild]: {
    type: 'unknown_guild',
    message:
      'The bot is no longer in the Discord server (or the server was deleted): connect Discord again in Settings.',
  },
  [RESTJSONErrorCodes.UnknownMember]: {
    type: 'unknown_member',
    message:
      'The applicant has not joined the Discord server yet: ask them to join it, then retry the role assignment.',
  },
  [RESTJSONErrorCodes.UnknownRole]: {
    type: 'unknown_role',
    message:
      'The Approved role no longer exists in the Discord server: connect Discord again in Settings to recreate it.',
  },
  [RESTJSONErrorCodes.UnknownUser]: {
    type: 'unknown_user',
    message: "No Discord account has this user ID: check the applicant's Discord user ID.",
  },
  [RESTJSONErrorCodes.MissingAccess]: {
    type: 'missing_access',
    message:
      'The bot can no longer access the Discord server (it was probably removed): connect Discord again in Settings.',
  },
  [RESTJSONErrorCodes.MissingPermissions]: { type: 'missing_permissions', message: MISSING_PERMISSIONS_MESSAGE },
  [RESTJSONErrorCodes.InvalidFormBodyOrContentType]: {
    type: 'invalid_form_body',
    message: 'Discord rejected the request as invalid: check the Discord user ID and the role settings.',
  },
  [RESTJSONErrorCodes.MaximumNumberOfGuildsReached]: {
    type: 'max_guilds',
    message:
      "The applicant is already in 100 Discord servers, Discord's limit: ask them to leave one, then retry the role assignment.",
  },
  [RESTJSONErrorCodes.InvalidOAuth2AccessToken]: {
    type: 'applicant_authorization_expired',
    message:
      "The applicant's Discord authorization has expired or was revoked: ask them to sign in with Discord again.",
  },
  [RESTJSONErrorCodes.MissingRequiredOAuth2Scope]: {
    type: 'applicant_authorization_expired',
    message:
      "The applicant's Discord authorization does not allow adding them to the server: ask them to sign in with Discord again.",
  },
  [RESTJSONErrorCodes.MaximumNumberOfGuildRolesReached]: {
    type: 'max_roles',
    message: 'The Discord server already has the maximum of 250 roles: delete an unused role, then retry.',
  },
};

const INVALID_BOT_TOKEN: Omit<DiscordFailure, 'status' | 'code'> = {
  retryable: false,
  type: 'invalid_bot_token',
  message: "Discord rejected the bot's token: an operator must check DISCORD_BOT_TOKEN (it may have been reset).",
};

const TIMEOUT: DiscordFailure = {
  retryable: true,
  type: 'timeout',
  message: 'Discord did not answer in time: it will be retried automatically.',
};

const NETWORK: DiscordFailure = {
  retryable: true,
  type: 'network',
  message: 'Could not reach Discord (connection failed or reset): it will be retried automatically.',
};

const TIMEOUT_CODES = new Set([
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_ABORTED',
]);
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

export function classifyDiscordError(err: unknown): DiscordFailure {
  if (err instanceof DiscordPausedError) return { retryable: false, type: 'grants_paused', message: err.message };
  if (err instanceof DiscordHeldBackError) {
    return { retryable: true, type: 'held_back', message: err.message, retryAfterMs: err.retryAfterMs };
  }
  if (err instanceof DiscordGuardUnavailableError) {
    return { retryable: true, type: 'database_unavailable', message: err.message };
  }
  if (err instanceof RateLimitError) return rateLimited(err.retryAfter, 429);
  if (err instanceof DiscordOAuthError) return classifyOAuth(err);
  if (err instanceof DiscordAPIError) return classifyApiError(err.status, err.code, err.message, err.rawError);
  if (err instanceof HTTPError) return serverError(err.status);

  // @discordjs/rest forgets the token after a 401 and refuses every later call locally.
  const message = typeof err === 'object' && err !== null ? (err as ErrorLike).message : undefined;
  if (typeof message === 'string' && message.includes('Expected token to be set')) return { ...INVALID_BOT_TOKEN };

  for (const cause of causeChain(err)) {
    const name = typeof cause.name === 'string' ? cause.name : '';
    const code = typeof cause.code === 'string' ? cause.code : '';
    if (name === 'AbortError' || name === 'TimeoutError' || TIMEOUT_CODES.has(code)) return { ...TIMEOUT };
    if (
      NETWORK_CODES.has(code) ||
      /ECONNRESET|ECONNREFUSED|socket hang up|other side closed/.test(String(cause.message))
    ) {
      return { ...NETWORK };
    }
  }
  return {
    retryable: false,
    type: 'unexpected',
    message: `Unexpected error while calling Discord (${describe(err)}): an operator should look at the logs.`,
  };
}

function classifyApiError(status: number, code: number | string, text: string, raw: unknown): DiscordFailure {
  const numericCode = typeof code === 'number' ? code : undefined;
  if (status === 429) {
    const retryAfter = (raw as { retry_after?: unknown } | undefined)?.retry_after;
    return rateLimited(typeof retryAfter === 'number' ? retryAfter * 1000 : undefined, status, numericCode);
  }
  if (status >= 500) return serverError(status, numericCode);
  if (status === 401) return { ...INVALID_BOT_TOKEN, status, code: numericCode };
  const known = numericCode === undefined ? undefined : PERMANENT_CODES[numericCode];
  if (known) return { retryable: false, type: known.type, message: known.message, status, code: numericCode };
  return {
    retryable: false,
    type: 'unexpected',
    message: `Discord refused the request (HTTP ${status}, code ${String(code)}: ${text}): an operator should look at the logs.`,
    status,
    code: numericCode,
  };
}

function classifyOAuth(err: DiscordOAuthError): DiscordFailure {
  const base = { status: err.status };
  switch (err.oauthError) {
    case 'invalid_grant':
      return {
        ...base,
        retryable: false,
        type: 'oauth_invalid_grant',
        message: 'The Discord authorization was already used or has expired: connect Discord again.',
      };
    case 'invalid_client':
      return {
        ...base,
        retryable: false,
        type: 'oauth_invalid_client',
        message:
          "Discord rejected the application's credentials: an operator must check DISCORD_CLIENT_ID and DISCORD_CLIENT_SECRET.",
      };
    case 'rate_limited':
      return rateLimited(err.retryAfterMs, err.status ?? 429);
    case 'timeout':
      return { ...TIMEOUT, ...base };
    case 'network':
      return { ...NETWORK, ...base };
    default:
      if (err.status !== undefined && err.status >= 500) return serverError(err.status);
      if (err.retryable) {
        return { ...base, retryable: true, type: 'server_error', message: serverError(err.status ?? 500).message };
      }
      return {
        ...base,
        retryable: false,
        type: 'oauth_error',
        message: `Discord refused the authorization (${err.oauthError}${err.description ? `: ${err.description}` : ''}): connect Discord again.`,
      };
  }
}

function rateLimited(retryAfterMs: number | undefined, status: number, code?: number): DiscordFailure {
  return {
    retryable: true,
    type: 'rate_limited',
    message: 'Discord is rate limiting our requests: it will be retried automatically.',
    status,
    ...(code !== undefined ? { code } : {}),
    ...(retryAfterMs !== undefined && Number.isFinite(retryAfterMs)
      ? { retryAfterMs: Math.max(0, Math.ceil(retryAfterMs)) }
      : {}),
  };
}

function serverError(status: number, code?: number): DiscordFailure {
  return {
    retryable: true,
    type: 'server_error',
    message: `Discord had a server error (HTTP ${status}): it will be retried automatically.`,
    status,
    ...(code !== undefined ? { code } : {}),
  };
}

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  cause?: unknown;
}

function* causeChain(err: unknown): Generator<ErrorLike> {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth += 1) {
    yield current as ErrorLike;
    current = (current as ErrorLike).cause;
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

/**
 * The failure an activity throws: permanent problems are non-retryable, 429s carry Discord's
 * wait as `nextRetryDelay`, and `details[0]` is the {@link DiscordFailure} for workflows to read.
 */
export function toActivityFailure(err: unknown): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  return failureOf(classifyDiscordError(err), err instanceof Error ? err : undefined);
}

/** The failure Discord's JSON error `code` means (for an answer already known, such as a role missing from the list). */
export function knownFailure(code: number): ApplicationFailure {
  const known = PERMANENT_CODES[code];
  if (!known) throw new Error(`no permanent Discord error has the code ${code}`);
  return failureOf({ retryable: false, type: known.type, message: known.message, code });
}

function failureOf(failure: DiscordFailure, cause?: Error): ApplicationFailure {
  if (!failure.retryable) {
    return ApplicationFailure.create({
      message: failure.message,
      type: failure.type,
      nonRetryable: true,
      details: [failure],
      cause,
    });
  }
  if (failure.retryAfterMs !== undefined) {
    return ApplicationFailure.create({
      message: failure.message,
      type: failure.type,
      nextRetryDelay: Math.max(1, failure.retryAfterMs),
      nonRetryable: false,
      details: [failure],
      cause,
    });
  }
  return ApplicationFailure.create({
    message: failure.message,
    type: failure.type,
    nonRetryable: false,
    details: [failure],
    cause,
  });
}
