/** Discord's JSON error answers, as the sandbox sends them: `{ code, message, errors? }`. */
import { RESTJSONErrorCodes, type RESTErrorData } from 'discord-api-types/v10';

export interface DiscordErrorBody {
  code: number;
  message: string;
  errors?: RESTErrorData;
}

/** Status and message Discord uses for the JSON error codes the sandbox produces. */
const KNOWN_CODES: Record<number, { status: number; message: string }> = {
  [RESTJSONErrorCodes.UnknownGuild]: { status: 404, message: 'Unknown Guild' },
  [RESTJSONErrorCodes.UnknownMember]: { status: 404, message: 'Unknown Member' },
  [RESTJSONErrorCodes.UnknownRole]: { status: 404, message: 'Unknown Role' },
  [RESTJSONErrorCodes.UnknownUser]: { status: 404, message: 'Unknown User' },
  [RESTJSONErrorCodes.MaximumNumberOfGuildRolesReached]: {
    status: 400,
    message: 'Maximum number of server roles reached (250)',
  },
  [RESTJSONErrorCodes.MaximumNumberOfGuildsReached]: { status: 400, message: 'Maximum number of guilds reached (100)' },
  [RESTJSONErrorCodes.MissingAccess]: { status: 403, message: 'Missing Access' },
  [RESTJSONErrorCodes.MissingPermissions]: { status: 403, message: 'Missing Permissions' },
  // Delete Guild Role of @everyone or of a managed role (a bot's, a booster's): 400, as Discord answers
  // (see discord/discord-api-docs#2052 for a bot's managed role).
  [RESTJSONErrorCodes.InvalidRole]: { status: 400, message: 'Invalid Role' },
  // Add Guild Member answers these with 403 (and Discord's message), whether the token is unknown,
  // expired, revoked, of another user or of another application.
  [RESTJSONErrorCodes.InvalidOAuth2AccessToken]: { status: 403, message: 'Invalid OAuth2 access token' },
  [RESTJSONErrorCodes.MissingRequiredOAuth2Scope]: { status: 403, message: 'Missing required OAuth2 scope' },
  [RESTJSONErrorCodes.InvalidFormBodyOrContentType]: { status: 400, message: 'Invalid Form Body' },
  [RESTJSONErrorCodes.RequestBodyContainsInvalidJSON]: {
    status: 400,
    message: 'The request body contains invalid JSON.',
  },
};

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export class DiscordHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: DiscordErrorBody,
  ) {
    super(body.message);
  }
}

/** The error Discord answers with for `code` (status from Discord's table unless given). */
export function discordError(
  code: number,
  options: { status?: number; errors?: RESTErrorData } = {},
): DiscordHttpError {
  const known = KNOWN_CODES[code];
  const status = options.status ?? known?.status ?? 400;
  const message = known?.message ?? (code === 0 ? statusMessage(status) : `Error ${code}`);
  return new DiscordHttpError(status, { code, message, ...(options.errors ? { errors: options.errors } : {}) });
}

/** Errors without a JSON code (401, 404 route, 5xx): `{ "message": "401: Unauthorized", "code": 0 }`. */
export function statusError(status: number): DiscordHttpError {
  return new DiscordHttpError(status, { code: 0, message: statusMessage(status) });
}

function statusMessage(status: number): string {
  return `${status}: ${STATUS_TEXT[status] ?? 'Error'}`;
}

/** 50035 with one field error, shaped like Discord's `errors` tree. */
export function invalidFormBody(field: string, errorCode: string, message: string): DiscordHttpError {
  return discordError(RESTJSONErrorCodes.InvalidFormBodyOrContentType, {
    errors: { [field]: { _errors: [{ code: errorCode, message }] } },
  });
}
