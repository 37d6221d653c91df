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
export function createEmailActivities({ pool, config, sendEmail }: EmailActivityDeps) {
  const { smtpUrl } = config.mail;
  const send: SendEmail | null = sendEmail ?? (smtpUrl ? createSmtpSender({ ...config.mail, smtpUrl }) : null);
  return {
    async sendDecisionEmail(input: DecisionEmailRequest): Promise<DecisionEmailResult> {
      if (!send) {
        throw ApplicationFailure.nonRetryable(
          'SMTP_URL is not set on this worker: decision emails cannot be sent.',
          'smtp_not_configured',
        );
      }
      const record = await findApplicantStatus(pool, input.applicationId);
      if (!record) throw ApplicationFailure.nonRetryable('This application does not exist.', 'not_found');
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
        await send({ ...content, to: app.applicant.email, messageId: row.messageId });
      } catch (err) {
        const failure = classifySendError(err);
        const lastAttempt = activityInfo().attempt >= DECISION_EMAIL_MAX_ATTEMPTS;
        if (failure.kind === 'permanent' || lastAttempt) {
          // Refused for good (or for too long): recorded, and the workflow goes on without it.
          await markDecisionEmailFailed(pool, { ...key, error: failure.message });
          return { state: 'failed', sentNow: false };
        }
        await noteDecisionEmailError(pool, { ...key, error: failure.message });
        throw ApplicationFailure.retryable(
          `The SMTP server did not take the message: ${failure.message}`,
          'smtp_temporary',
        );
      } finally {
        clearInterval(beat);
      }
      // Accepted: marked at once, to keep the window where a crash would send it twice small.
      await markDecisionEmailSent(pool, key);
      return { state: 'sent', sentNow: true };
    },
  };
}

export type EmailActivities = ReturnType<typeof createEmailActivities>;
