import nodemailer from 'nodemailer';
import type { MailConfig } from '../config.js';
import type { RenderedEmail } from './render.js';

export interface OutgoingEmail extends RenderedEmail {
  to: string;
  /** `<...@domain>`: the same one each time the same message is sent. */
  messageId: string;
}

/** Sends one message; resolves once the SMTP server accepted it. */
export type SendEmail = (message: OutgoingEmail) => Promise<void>;

/**
 * Why a send failed: `permanent` when the server refused with a 5xx (an unknown recipient, a
 * refused sender: sending again would fail the same way), `temporary` otherwise (a 4xx such as
 * greylisting's 451, a connection refused, cut or timed out).
 */
export function classifySendError(err: unknown): { kind: 'permanent' | 'temporary'; message: string } {
  const e = err as { responseCode?: unknown; response?: unknown; code?: unknown; message?: unknown };
  const responseCode = typeof e.responseCode === 'number' ? e.responseCode : null;
  const reply = typeof e.response === 'string' ? e.response : null;
  const message = (reply ?? (typeof e.message === 'string' ? e.message : String(err))).slice(0, 500);
  return {
    kind: responseCode !== null && responseCode >= 500 && responseCode < 600 ? 'permanent' : 'temporary',
    message: typeof e.code === 'string' && !reply ? `${e.code}: ${message}` : message,
  };
}

/** nodemailer on SMTP_URL (smtp:// upgrades with STARTTLS when offered; smtps:// is TLS from the start). */
export function createSmtpSender(mail: MailConfig & { smtpUrl: string }): SendEmail {
  // One transport per worker process; each message opens its own connection (decisions are rare).
  const transport = nodemailer.createTransport(mail.smtpUrl, { from: mail.from });
  return async (message) => {
    await transport.sendMail({
      from: mail.from,
      to: message.to,
      subject: message.subject,
      text: message.text,
      html: message.html,
      messageId: message.messageId,
      // Keeps nodemailer from adding a header whose value changes between two sends of one message.
      date: undefined,
    });
  };
}
