// The decision email's retry policy, shared by the role workflow (which schedules the activity) and
// the activity (which records a failure on its last attempt). Pure code: the workflow bundle imports it.

/**
 * Attempts of one decision email. A temporary refusal (an SMTP 4xx such as greylisting's 451, a
 * connection refused or cut) is retried: 3 s, 6 s, 12 s ... then every 15 minutes, about 8 hours
 * in all. A permanent refusal (5xx) is recorded at once and not retried.
 */
export const DECISION_EMAIL_MAX_ATTEMPTS = 40;
export const DECISION_EMAIL_RETRY = {
  initialInterval: '3s',
  backoffCoefficient: 2,
  maximumInterval: '15m',
  maximumAttempts: DECISION_EMAIL_MAX_ATTEMPTS,
} as const;
/** A worker that died mid-send is noticed after this long (the activity heartbeats while it sends). */
export const DECISION_EMAIL_HEARTBEAT_TIMEOUT = '10s';
/** One attempt: connect, greet, send; a stuck SMTP server ends it. */
export const DECISION_EMAIL_ATTEMPT_TIMEOUT = '2m';

export type DecisionEmailState = 'pending' | 'sent' | 'failed';

/** What the role workflow hands the email step. */
export interface DecisionEmailRequest {
  applicationId: string;
  /** The review's idempotency key (its update or request ID): one email per decision. */
  decisionKey: string;
  decision: 'approve' | 'reject';
  /** The reviewer's note of this decision (sent only when the form shares notes). */
  note: string | null;
}

export interface DecisionEmailResult {
  state: DecisionEmailState;
  /** Sent now (false: it had been sent, or refused, before). */
  sentNow: boolean;
}
