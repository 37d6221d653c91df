import { activityInfo, heartbeat } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { statusUrlOf } from '../src/auth/status-token.js';
import type { Config } from '../src/config.js';
import { findApplicantStatus } from '../src/db/applicant-status.js';
import type { Pool } from '../src/db/pool.js';
import {
  DECISION_EMAIL_MAX_ATTEMPTS,
  type DecisionEmailRequest,
  type DecisionEmailResult,
} from '../src/domain/decision-email.js';
import { decisionMessageId, domainOfMailbox, renderDecisionEmail } from '../src/email/render.js';
import {
  beginDecisionEmail,
  markDecisionEmailFailed,
  markDecisionEmailSent,
  listBulkDecisions,
  noteDecisionEmailError,
  wasEverApproved,
} from '../src/db/decision-emails.js';
import { classifySendError, createSmtpSender, type SendEmail } from '../src/email/transport.js';

export interface EmailActivityDeps {
  pool: Pool;
  config: Pick<Config, 'mail' | 'publicBaseUrl' | 'stateSigningSecret'>;
  /** Replaces the SMTP transport (tests). */
  sendEmail?: SendEmail;
}

/** How often a running send tells Temporal that its worker is alive. */
const HEARTBEAT_EVERY_MS = 2_000;

/**
 * The decision email, a step of the application's role workflow on its (Discord-free) task queue.
 *
 * Exactly once, as far as SMTP allows: the `decision_emails` row of (application, decision key) is
 * read first, and a `sent` or `failed` one is not sent again; the message carries a Message-ID
 * derived from the key; the row is marked `sent` by the very next statement after the SMTP server
 * accepted it. A worker that dies in between (after the server's 250, before the mark) leaves the
 * row `pending`, and Temporal's retry sends the same message, with the same Message-ID, again:
 * receivers that collapse duplicates by Message-ID (the local sink does, as large mailbox providers
 * do) show it once; others may show it twice. SMTP has no way to ask whether a message was
 * accepted, so that window can be made small, not closed.
 */
/** The decision key of a bulk review's decisions: one email per application and bulk. */
export const bulkDecisionKey = (bulkReviewId: string) => `bulk:${bulkReviewId}`;

class TemporarySendFailure extends Error {}

export function createEmailActivities({ pool, config, sendEmail }: EmailActivityDeps) {
  const { smtpUrl } = config.mail;
  const send: SendEmail | null = sendEmail ?? (smtpUrl ? createSmtpSender({ ...config.mail, smtpUrl }) : null);
  const sender = (): SendEmail => {
    if (!send) {
      throw ApplicationFailure.nonRetryable(
        'SMTP_URL is not set on this worker: decision emails cannot be sent.',
        'smtp_not_configured',
      );
    }
    return send;
  };

  /**
   * One decision's email, once: throws TemporarySendFailure for a failure worth retrying (recorded
   * as `failed` instead on the last attempt); a permanent refusal is recorded and answered.
   */
  async function sendOnce(input: DecisionEmailRequest, transport: SendEmail): Promise<DecisionEmailResult> {
    const record = await findApplicantStatus(pool, input.applicationId);
    if (!record) return { state: 'failed', sentNow: false }; // deleted since: nobody to tell
    const key = { applicationId: input.applicationId, decisionKey: input.decisionKey };
    const row = await beginDecisionEmail(pool, {
      ...key,
      decision: input.decision,
      messageId: decisionMessageId(input.applicationId, input.decisionKey, domainOfMailbox(config.mail.from)),
    });
    if (row.state !== 'pending') return { state: row.state, sentNow: false };

    const { application: app, organization, form } = record;
    const content = renderDecisionEmail({
      organizationName: organization.name,
      formTitle: form?.title ?? null,
      applicantName: app.applicant.name,
      decision: input.decision,
      reversal: input.decision === 'reject' && (await wasEverApproved(pool, app.id)),
      roleFollows: input.decision === 'approve' && app.discordUser !== null,
      statusUrl: statusUrlOf(config, app.id),
      note: form?.shareNotes && input.note ? input.note : null,
    });

    const beat = setInterval(() => heartbeat(), HEARTBEAT_EVERY_MS);
    try {
      await transport({ ...content, to: app.applicant.email, messageId: row.messageId });
    } catch (err) {
      const failure = classifySendError(err);
      const lastAttempt = activityInfo().attempt >= DECISION_EMAIL_MAX_ATTEMPTS;
      if (failure.kind === 'permanent' || lastAttempt) {
        // Refused for good (or for too long): recorded, and the workflow goes on without it.
        await markDecisionEmailFailed(pool, { ...key, error: failure.message });
        return { state: 'failed', sentNow: false };
      }
      await noteDecisionEmailError(pool, { ...key, error: failure.message });
      throw new TemporarySendFailure(`The SMTP server did not take the message: ${failure.message}`);
    } finally {
      clearInterval(beat);
    }
    // Accepted: marked at once, to keep the window where a crash would send it twice small.
    await markDecisionEmailSent(pool, key);
    return { state: 'sent', sentNow: true };
  }

  const retryable = (err: unknown) =>
    err instanceof TemporarySendFailure ? ApplicationFailure.retryable(err.message, 'smtp_temporary') : err;

  return {
    /** The email of one review's decision (an approval, a rejection, a reversal). */
    async sendDecisionEmail(input: DecisionEmailRequest): Promise<DecisionEmailResult> {
      const transport = sender();
      try {
        return await sendOnce(input, transport);
      } catch (err) {
        throw retryable(err);
      }
    },

    /**
     * The emails of a bulk review's decisions at positions [from, to): each application once (its
     * row keyed by the bulk). A temporary failure of one does not stop the others; the step is
     * retried afterwards, and the ones sent already are skipped.
     */
    async sendBulkDecisionEmails(input: {
      bulkReviewId: string;
      from: number;
      to: number;
    }): Promise<{ sent: number; failed: number }> {
      const transport = sender();
      const decisions = await listBulkDecisions(pool, input);
      let sent = 0;
      let failed = 0;
      let temporary: unknown = null;
      for (const d of decisions) {
        try {
          const result = await sendOnce({ ...d, decisionKey: bulkDecisionKey(input.bulkReviewId) }, transport);
          if (result.state === 'sent') sent += 1;
          if (result.state === 'failed') failed += 1;
        } catch (err) {
          temporary ??= err;
        }
        heartbeat();
      }
      if (temporary) throw retryable(temporary);
      return { sent, failed };
    },
  };
}

export type EmailActivities = ReturnType<typeof createEmailActivities>;
