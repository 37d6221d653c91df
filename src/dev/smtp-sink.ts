/**
 * A small SMTP server for local use and tests (smtp-server and mailparser, from the nodemailer
 * project): it accepts every message on 127.0.0.1 and keeps it in memory, so decision emails can be
 * seen without an email account (the Discord sandbox's page lists them, `GET /_sandbox/mail` as
 * JSON). Messages are deduplicated by Message-ID, as large mailbox providers do: a message sent
 * again (a worker that died after the server accepted it) counts one more delivery, not one more
 * message. A test can make it refuse the next messages (451, or a 550) or hold its answer.
 *
 *   const sink = await startSmtpSink();   // SMTP_URL = sink.url
 */
import type { AddressInfo } from 'node:net';
import { simpleParser, type AddressObject } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  messageId: string;
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string | null;
  /** The first link of the text (the status link of a decision email). */
  link: string | null;
  /** When it was first accepted. */
  receivedAt: string;
  /** How many times it was accepted (more than 1: sent again with the same Message-ID). */
  deliveries: number;
}

export interface SmtpSink {
  /** What SMTP_URL gets: smtp://127.0.0.1:<port>. */
  url: string;
  host: string;
  port: number;
  /** Every message received, oldest first (a copy). */
  messages: () => ReceivedMail[];
  /** The next `count` messages are refused with `code` (default 451: try again later) and not kept. */
  refuseNext: (count: number, code?: number, message?: string) => void;
  /** How many messages were refused so far. */
  refusals: () => number;
  /**
   * Holds the answer to the next messages (their data read, nothing answered) until `release`;
   * `arrived` resolves when the first one is waiting.
   */
  hold: () => { arrived: Promise<void>; release: () => void };
  clear: () => void;
  close: () => Promise<void>;
}

/** At most this many messages are kept (the oldest go first). */
const MAX_KEPT = 500;

const addresses = (value: AddressObject | AddressObject[] | undefined): string[] =>
  (Array.isArray(value) ? value : value ? [value] : []).flatMap((a) =>
    a.value.map((v) => v.address ?? '').filter(Boolean),
  );

export async function startSmtpSink(options: { host?: string; port?: number } = {}): Promise<SmtpSink> {
  const host = options.host ?? '127.0.0.1';
  const kept = new Map<string, ReceivedMail>();
  const refusing: Array<{ code: number; message: string }> = [];
  let refused = 0;
  let held: { arrived: () => void; released: Promise<void> } | null = null;
  let anonymous = 0;

  const server = new SMTPServer({
    // Plain SMTP on loopback, any sender, any recipient, any (or no) credentials.
    secure: false,
    disabledCommands: ['STARTTLS'],
    authOptional: true,
    onAuth: (_auth, _session, callback) => callback(null, { user: 'sink' }),
    logger: false,
    size: 10 * 1024 * 1024,
    onData(stream, _session, callback) {
      void (async () => {
        try {
          const mail = await simpleParser(stream);
          const refusal = refusing.shift();
          if (refusal) {
            refused += 1;
            const err = Object.assign(new Error(refusal.message), { responseCode: refusal.code });
            callback(err);
            return;
          }
          if (held) {
            const wait = held;
            wait.arrived();
            await wait.released;
          }
          const messageId = mail.messageId ?? `<anonymous-${++anonymous}@smtp-sink>`;
          const existing = kept.get(messageId);
          if (existing) {
            existing.deliveries += 1;
          } else {
            const text = mail.text ?? '';
            kept.set(messageId, {
              messageId,
              from: addresses(mail.from)[0] ?? '',
              to: addresses(mail.to),
              subject: mail.subject ?? '',
              text,
              html: typeof mail.html === 'string' ? mail.html : null,
              link: /https?:\/\/[^\s<>"]+/.exec(text)?.[0] ?? null,
              receivedAt: new Date().toISOString(),
              deliveries: 1,
            });
            if (kept.size > MAX_KEPT) kept.delete(kept.keys().next().value!);
          }
          callback(null, 'Message accepted');
        } catch (err) {
          callback(err instanceof Error ? err : new Error(String(err)));
        }
      })();
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // Errors of one client's connection (a reset) are that client's business.
  server.on('error', () => undefined);
  const { port } = server.server.address() as AddressInfo;

  return {
    url: `smtp://${host}:${port}`,
    host,
    port,
    messages: () => [...kept.values()].map((m) => ({ ...m, to: [...m.to] })),
    refuseNext: (count, code = 451, message = 'Try again later (the sink refuses this one on purpose)') => {
      for (let i = 0; i < count; i += 1) refusing.push({ code, message });
    },
    refusals: () => refused,
    hold: () => {
      let arrived: () => void = () => undefined;
      let release: () => void = () => undefined;
      const arrivedPromise = new Promise<void>((resolve) => (arrived = resolve));
      const released = new Promise<void>((resolve) => (release = resolve));
      held = { arrived, released };
      return {
        arrived: arrivedPromise,
        release: () => {
          held = null;
          release();
        },
      };
    },
    clear: () => kept.clear(),
    close: () =>
      new Promise<void>((resolve) => {
        held = null;
        server.close(() => resolve());
      }),
  };
}
