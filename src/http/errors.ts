import { isGrpcServiceError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import type { ErrorCode } from './error-codes.js';

/** An error the API answers as `{"error":{"code","message"}}` with `status`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const badRequest = (message: string, code: ErrorCode = 'invalid_request') => new HttpError(400, code, message);
export const unauthorized = (message = 'Sign in first.') => new HttpError(401, 'unauthorized', message);
export const forbidden = (message = 'You are not allowed to do this.') => new HttpError(403, 'forbidden', message);
export const notFound = (message = 'Not found.') => new HttpError(404, 'not_found', message);
export const conflict = (code: ErrorCode, message: string) => new HttpError(409, code, message);

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
        503,
        'temporal_unavailable',
        'The workflow service is unavailable for a moment; nothing was changed. Try again in a few seconds.',
      );
    }
  }
  return undefined;
}
