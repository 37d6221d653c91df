import { isGrpcServiceError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import type { ErrorRequestHandler, Response } from 'express';
import { errorCodes, type ErrorCode } from './error-codes.js';

/** An error the API answers as `{"error":{"code","message"}}`, with its code's status. */
export class HttpError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
    this.status = errorCodes[code].status;
  }
}

export const badRequest = (message: string, code: ErrorCode = 'invalid_request') => new HttpError(code, message);
export const unauthorized = (message = 'Sign in first.') => new HttpError('unauthorized', message);
export const forbidden = (message = 'You are not allowed to do this.') => new HttpError('forbidden', message);
export const notFound = (message = 'Not found.') => new HttpError('not_found', message);
export const conflict = (code: ErrorCode, message: string) => new HttpError(code, message);

/** gRPC codes of a Temporal server that is down, restarting or overloaded: try again shortly. */
const UNAVAILABLE_CODES = new Set([
  14, // UNAVAILABLE
  4, // DEADLINE_EXCEEDED
  8, // RESOURCE_EXHAUSTED
]);

/**
 * A 503 when `err` (or one of its causes) says that Temporal cannot be reached right now: the
 * request changed nothing (a review is stored by its workflow), and the same request with the same
 * Idempotency-Key may be sent again.
 */
export function temporalUnavailable(err: unknown): HttpError | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth += 1) {
    if (
      e instanceof WorkflowUpdateRPCTimeoutOrCancelledError ||
      (isGrpcServiceError(e) && UNAVAILABLE_CODES.has(e.code))
    ) {
      return new HttpError(
        'temporal_unavailable',
        'The workflow service is unavailable for a moment; nothing was changed. Try again in a few seconds.',
      );
    }
  }
  return undefined;
}

/**
 * An OAuth callback is a browser's redirect from Discord: whatever fails in it (in its route or in
 * the session lookup before it), the browser is sent back to the app with an error it can show,
 * never a JSON error page: `temporarily_unavailable` when Temporal cannot be reached (try again in
 * a moment), else `unexpected_error`.
 */
export function oauthCallbackFailures(
  failureUrl: (code: 'temporarily_unavailable' | 'unexpected_error', res: Response) => string,
): ErrorRequestHandler {
  return (err, req, res, next) => {
    // Only the callback itself (a GET that failed); a refusal of ours (HttpError) is answered as usual.
    if (res.headersSent || req.method !== 'GET' || err instanceof HttpError) return next(err);
    const code = temporalUnavailable(err) ? 'temporarily_unavailable' : 'unexpected_error';
    // The error only: the callback's query (its code and state) stays out of the logs.
    req.log?.error({ err, reason: code }, 'OAuth callback failed');
    res.redirect(302, failureUrl(code, res));
  };
}
