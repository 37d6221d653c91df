import type { DecisionEmailState } from '../domain/decision-email.js';
import type { Pool } from './pool.js';

export interface DecisionEmailRow {
  state: DecisionEmailState;
  messageId: string;
  attempts: number;
  lastError: string | null;
  sentAt: string | null;
}

const toRow = (r: {
  state: DecisionEmailState;
  message_id: string;
  attempts: number;
  last_error: string | null;
  sent_at: Date | null;
}): DecisionEmailRow => ({
  state: r.state,
  messageId: r.message_id,
  attempts: r.attempts,
  lastError: r.last_error,
  sentAt: r.sent_at?.toISOString() ?? null,
});

/**
 * The decision's email row, created `pending` the first time (and its attempt counted). An
 * existing row is returned as it is: its Message-ID was fixed when it was created.
 */
export async function beginDecisionEmail(
  pool: Pool,
  input: { applicationId: string; decisionKey: string; decision: 'approve' | 'reject'; messageId: string },
): Promise<DecisionEmailRow> {
  const { rows } = await pool.query(
    `INSERT INTO decision_emails (application_id, decision_key, decision, message_id, attempts)
     VALUES ($1, $2, $3, $4, 1)
     ON CONFLICT (application_id, decision_key) DO UPDATE
       SET attempts = decision_emails.attempts + (decision_emails.state = 'pending')::int,
           updated_at = now()
     RETURNING state, message_id, attempts, last_error, sent_at`,
    [input.applicationId, input.decisionKey, input.decision, input.messageId],
  );
  return toRow(rows[0]);
}

/** The SMTP server accepted the message. */
export async function markDecisionEmailSent(
  pool: Pool,
  input: { applicationId: string; decisionKey: string },
): Promise<void> {
  await pool.query(
    `UPDATE decision_emails SET state = 'sent', sent_at = now(), updated_at = now(), last_error = NULL
     WHERE application_id = $1 AND decision_key = $2 AND state = 'pending'`,
    [input.applicationId, input.decisionKey],
  );
}

/** Refused for good (a 5xx, or the last attempt failed): recorded, not retried. */
export async function markDecisionEmailFailed(
  pool: Pool,
  input: { applicationId: string; decisionKey: string; error: string },
): Promise<void> {
  await pool.query(
    `UPDATE decision_emails SET state = 'failed', last_error = $3, updated_at = now()
     WHERE application_id = $1 AND decision_key = $2 AND state = 'pending'`,
    [input.applicationId, input.decisionKey, input.error.slice(0, 1000)],
  );
}

/** A temporary failure, kept for whoever looks at the row while it is retried. */
export async function noteDecisionEmailError(
  pool: Pool,
  input: { applicationId: string; decisionKey: string; error: string },
): Promise<void> {
  await pool.query(
    `UPDATE decision_emails SET last_error = $3, updated_at = now()
     WHERE application_id = $1 AND decision_key = $2 AND state = 'pending'`,
    [input.applicationId, input.decisionKey, input.error.slice(0, 1000)],
  );
}

/** Whether the application was ever approved (a rejection after it withdraws the approval). */
export async function wasEverApproved(pool: Pool, applicationId: string): Promise<boolean> {
  const { rows } = await pool.query(
    `SELECT 1 FROM audit_log
     WHERE subject_type = 'application' AND subject_id = $1 AND action = 'application.approved' LIMIT 1`,
    [applicationId],
  );
  return rows.length > 0;
}

/** Every decision email of an application, oldest first (tests and operators). */
export async function listDecisionEmails(
  pool: Pool,
  applicationId: string,
): Promise<Array<DecisionEmailRow & { decisionKey: string; decision: 'approve' | 'reject' }>> {
  const { rows } = await pool.query(
    `SELECT decision_key, decision, state, message_id, attempts, last_error, sent_at
     FROM decision_emails WHERE application_id = $1 ORDER BY created_at, decision_key`,
    [applicationId],
  );
  return rows.map((r) => ({ ...toRow(r), decisionKey: r.decision_key, decision: r.decision }));
}

/** The applications whose decision a bulk review recorded at positions [from, to), with the bulk's decision and note. */
export async function listBulkDecisions(
  pool: Pool,
  input: { bulkReviewId: string; from: number; to: number },
): Promise<Array<{ applicationId: string; decision: 'approve' | 'reject'; note: string | null }>> {
  const { rows } = await pool.query<{ application_id: string; decision: 'approve' | 'reject'; note: string | null }>(
    `SELECT i.application_id, b.decision, b.note
     FROM bulk_review_items i JOIN bulk_reviews b ON b.id = i.bulk_review_id
     WHERE i.bulk_review_id = $1 AND i.position >= $2 AND i.position < $3
       AND i.outcome = 'recorded' AND i.application_id IS NOT NULL
     ORDER BY i.position`,
    [input.bulkReviewId, input.from, input.to],
  );
  return rows.map((r) => ({ applicationId: r.application_id, decision: r.decision, note: r.note }));
}
