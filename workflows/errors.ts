import { ActivityFailure, ApplicationFailure, CancelledFailure, TimeoutFailure } from '@temporalio/workflow';

export interface FailureSummary {
  /** Stable snake_case type, e.g. `missing_permissions`, `unknown_member`, `timeout`. */
  type: string;
  /** One sentence for an organization admin. */
  message: string;
}

/** Reads the classification an activity put on its failure (src/discord/errors.ts) back out. */
export function summarizeFailure(err: unknown): FailureSummary {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
    const detail = cause.details?.[0] as Partial<FailureSummary> | undefined;
    return {
      type: detail?.type ?? cause.type ?? 'unexpected',
      message: detail?.message ?? cause.message,
    };
  }
  if (cause instanceof TimeoutFailure) {
    return {
      type: 'timeout',
      message: 'Discord did not answer in time, even after retrying. It may be having an outage: retry later.',
    };
  }
  if (cause instanceof CancelledFailure) return { type: 'cancelled', message: 'The attempt was cancelled.' };
  return { type: 'unexpected', message: err instanceof Error ? err.message : String(err) };
}
