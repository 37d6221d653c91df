/**
 * The sandbox's own page (`GET /`) and its mail section: the messages the local SMTP sink received
 * (to, subject, time, text, link), so the applicant's side of a decision is visible without an
 * email account; `GET /_sandbox/mail` lists them as JSON for tests.
 */
import type express from 'express';
import type { ReceivedMail } from '../smtp-sink.js';

/** Where the page reads received messages from (the SMTP sink, once attached). */
export interface MailboxSlot {
  current: { url: string; messages: () => ReceivedMail[] } | null;
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function renderMail(m: ReceivedMail): string {
  const link = m.link ? `<p>Link: <a href="${escapeHtml(m.link)}">${escapeHtml(m.link)}</a></p>` : '';
  const deliveries = m.deliveries > 1 ? ` <small>(delivered ${m.deliveries} times, shown once)</small>` : '';
  return `<article>
  <h3>${escapeHtml(m.subject || '(no subject)')}${deliveries}</h3>
  <p><strong>To:</strong> ${escapeHtml(m.to.join(', '))} · <strong>From:</strong> ${escapeHtml(m.from)} · <time datetime="${escapeHtml(m.receivedAt)}">${escapeHtml(m.receivedAt)}</time></p>
  ${link}
  <pre>${escapeHtml(m.text)}</pre>
</article>`;
}

export function renderSandboxPage(mailbox: MailboxSlot['current']): string {
  const messages = mailbox ? mailbox.messages().reverse() : [];
  const mail = !mailbox
    ? '<p>No SMTP sink is attached to this sandbox.</p>'
    : messages.length === 0
      ? `<p>No email received yet (SMTP sink at <code>${escapeHtml(mailbox.url)}</code>).</p>`
      : `<p>${messages.length} received at <code>${escapeHtml(mailbox.url)}</code>, newest first.</p>\n${messages.map(renderMail).join('\n')}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Discord sandbox</title>
<style>
  body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #1f2328; }
  article { border: 1px solid #d0d7de; border-radius: 6px; padding: 0.5rem 1rem; margin: 1rem 0; }
  pre { white-space: pre-wrap; background: #f6f8fa; padding: 0.5rem; }
</style>
</head>
<body>
<h1>Discord sandbox</h1>
<p>A Discord-compatible server for local use: the app's Discord API, sign-ins and the bot live here. Its control API is under <code>/_sandbox</code>.</p>
<section aria-labelledby="mail">
<h2 id="mail">Mail</h2>
${mail}
</section>
</body>
</html>`;
}

/** `GET /` (the page) and `GET /_sandbox/mail` (JSON: `{ smtpUrl, messages }`). */
export function mountMailPage(app: express.Express, mailbox: MailboxSlot): void {
  app.get('/', (_req, res) => {
    res.type('html').send(renderSandboxPage(mailbox.current));
  });
  app.get('/_sandbox/mail', (_req, res) => {
    res.json({ smtpUrl: mailbox.current?.url ?? null, messages: mailbox.current?.messages() ?? [] });
  });
}
