import { createHash } from 'node:crypto';

export interface DecisionEmailContent {
  organizationName: string;
  /** The form the application answered, if any. */
  formTitle: string | null;
  applicantName: string;
  decision: 'approve' | 'reject';
  /** A rejection of an application that had been approved: the approval is withdrawn. */
  reversal: boolean;
  /** An approval whose Discord role follows (the applicant gave a Discord account). */
  roleFollows: boolean;
  statusUrl: string;
  /** The reviewer's note, only when the form shares notes with applicants. */
  note: string | null;
}

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** A header value on one line (a name or title cannot add headers). */
const oneLine = (s: string) => s.replace(/[\r\n]+/g, ' ').trim();

/**
 * The stable Message-ID of one decision's email: the same decision always gets the same one, so a
 * message sent again after a crash is recognised as the same message by receivers.
 */
export function decisionMessageId(applicationId: string, decisionKey: string, domain: string): string {
  const digest = createHash('sha256').update(`${applicationId}\n${decisionKey}`, 'utf8').digest('hex').slice(0, 40);
  return `<decision.${digest}@${domain}>`;
}

/** The domain of an address or `Name <address>`, for Message-IDs. */
export function domainOfMailbox(from: string): string {
  const address = /<([^<>]+)>\s*$/.exec(from)?.[1] ?? from;
  return address.split('@').pop()?.trim() || 'localhost';
}

/** The decision in plain words: subject, text and a simple HTML part. */
export function renderDecisionEmail(c: DecisionEmailContent): RenderedEmail {
  const org = oneLine(c.organizationName);
  const what = c.formTitle ? `your application (${oneLine(c.formTitle)})` : 'your application';
  let subject: string;
  let lines: string[];
  if (c.decision === 'approve') {
    subject = `Your application to ${org} was approved`;
    lines = [
      `Good news: ${what} to ${org} was approved.`,
      ...(c.roleFollows ? ['Your Discord role is on its way; the status page says when it has been given.'] : []),
    ];
  } else if (c.reversal) {
    subject = `The approval of your application to ${org} was withdrawn`;
    lines = [`The approval of ${what} to ${org} was withdrawn.`];
  } else {
    subject = `Your application to ${org} was not accepted`;
    lines = [`We are sorry: ${what} to ${org} was not accepted.`];
  }
  const greeting = `Hello ${oneLine(c.applicantName)},`;
  const noteLines = c.note ? ['', 'A note from the reviewer:', c.note] : [];
  const text = [
    greeting,
    '',
    ...lines,
    ...noteLines,
    '',
    `Follow your application here: ${c.statusUrl}`,
    '',
    `— ${org}`,
    '',
  ].join('\n');
  const html = [
    '<!doctype html>',
    `<html><body style="font-family: sans-serif; line-height: 1.5">`,
    `<p>${escapeHtml(greeting)}</p>`,
    ...lines.map((l) => `<p>${escapeHtml(l)}</p>`),
    ...(c.note
      ? [
          `<p>A note from the reviewer:</p>`,
          `<blockquote style="white-space: pre-wrap">${escapeHtml(c.note)}</blockquote>`,
        ]
      : []),
    `<p><a href="${escapeHtml(c.statusUrl)}">See the status of your application</a></p>`,
    `<p>— ${escapeHtml(org)}</p>`,
    '</body></html>',
  ].join('\n');
  return { subject, text, html };
}
