/**
 * Every `error.code` the API answers with, its HTTP status and what it means. `HttpError` accepts
 * only these codes, and the OpenAPI description lists them from here: a new code is documented or
 * does not compile.
 */
export const errorCodes = {
  invalid_request: { status: 400, meaning: 'A field is missing or wrong; the message names it. Nothing was stored.' },
  invalid_json: { status: 400, meaning: 'The request body is not valid JSON.' },
  invalid_cursor: { status: 400, meaning: 'The `cursor` query parameter is not one this API gave out.' },
  invalid_idempotency_key: {
    status: 400,
    meaning: 'The `Idempotency-Key` header is not 1 to 100 visible ASCII characters.',
  },
  bad_request: {
    status: 400,
    meaning: 'The request could not be read at all (a malformed URL encoding, for example).',
  },
  unauthorized: { status: 401, meaning: 'Sign in first: no session cookie, or the session ended.' },
  invalid_credentials: { status: 401, meaning: 'The email or the password is wrong (the answer does not say which).' },
  forbidden: {
    status: 403,
    meaning: 'Signed in, but not allowed: an admin-only route, or an account without organization.',
  },
  csrf_rejected: {
    status: 403,
    meaning:
      'A state-changing request with a session cookie came without our own `Origin` (or `Sec-Fetch-Site: same-origin`).',
  },
  discord_sign_in_required: {
    status: 403,
    meaning: 'This organization accepts only applicants signed in with Discord, or the sign-in expired.',
  },
  not_found: { status: 404, meaning: 'No such resource, or not in your organization (the two are not told apart).' },
  already_applied: { status: 409, meaning: 'This Discord account already has a live application here.' },
  cooldown: {
    status: 409,
    meaning:
      'This applicant was rejected on this form recently: they may apply again after its cooldown (`retryAfter` and `Retry-After` say when). Nothing was stored.',
  },
  form_slug_taken: { status: 409, meaning: 'Another form of this organization has this slug. Nothing was stored.' },
  invalid_transition: { status: 409, meaning: 'The application is no longer in a state this review applies to.' },
  not_retryable: { status: 409, meaning: 'The role assignment is not waiting for a manual retry.' },
  connection_in_progress: { status: 409, meaning: 'A Discord connection attempt is running; wait for it to finish.' },
  not_connected: {
    status: 409,
    meaning: 'No Discord server is connected (or paused) for this organization: connect one in Settings first.',
  },
  payload_too_large: { status: 413, meaning: 'The body is over the limit (100 kB; 1 MB for a bulk review).' },
  idempotency_key_reused: {
    status: 422,
    meaning: 'This `Idempotency-Key` was already used for a different request.',
  },
  retry_limit_reached: { status: 422, meaning: 'The 5 manual retries of this role assignment are spent.' },
  duplicate_question_id: {
    status: 422,
    meaning: 'Two questions of the form have the same id; the message names the second. Nothing was stored.',
  },
  role_not_manageable: {
    status: 422,
    meaning:
      'A chosen role is not in the Discord server, or the bot may not add (or remove) it; the message names the role and why. Nothing was stored.',
  },
  too_many_requests: { status: 429, meaning: 'Too many requests from this client; wait (see `Retry-After`).' },
  account_locked: {
    status: 429,
    meaning: 'Too many failed sign-ins for this account from any address; locked until the time in the message.',
  },
  internal_error: { status: 500, meaning: 'A fault on our side; nothing is promised about the request. Try again.' },
  database_unavailable: { status: 503, meaning: 'The database did not answer; nothing was decided. Try again.' },
  discord_unavailable: {
    status: 503,
    meaning:
      'Discord (or the bot) could not answer about the server right now; the message says why. Nothing was changed: try again.',
  },
  temporal_unavailable: {
    status: 503,
    meaning:
      'The workflow service is unavailable for a moment; nothing was changed. Retry with the same Idempotency-Key.',
  },
} as const satisfies Record<string, { status: number; meaning: string }>;

export type ErrorCode = keyof typeof errorCodes;

export const isErrorCode = (code: string): code is ErrorCode => Object.hasOwn(errorCodes, code);
