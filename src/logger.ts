import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Paths that must never reach a log line: credentials, tokens, cookies and the OAuth state.
 * pino replaces them with "[Redacted]".
 */
export const redactPaths = [
  'password',
  '*.password',
  'token',
  '*.token',
  'accessToken',
  '*.accessToken',
  'access_token',
  '*.access_token',
  'botToken',
  '*.botToken',
  'clientSecret',
  '*.clientSecret',
  'stateSigningSecret',
  '*.stateSigningSecret',
  'refreshToken',
  '*.refreshToken',
  'refresh_token',
  '*.refresh_token',
  'tokenEncryptionKey',
  '*.tokenEncryptionKey',
  // SMTP_URL may carry the SMTP password.
  'smtpUrl',
  '*.smtpUrl',
  '*.*.smtpUrl',
  '*.requestBody',
  'state',
  '*.state',
  'code',
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'req.query.state',
  'req.query.code',
];

export function createLogger(
  options: { level?: string; name?: string; destination?: { write: (line: string) => void } } = {},
): Logger {
  const settings = {
    name: options.name ?? 'discord-role-grants',
    level: options.level ?? 'info',
    redact: { paths: redactPaths, censor: '[Redacted]' },
  };
  return options.destination ? pino(settings, options.destination) : pino(settings);
}
