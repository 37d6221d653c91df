import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config.js';

/**
 * The applicant's private status link: `${PUBLIC_BASE_URL}/status/<applicationId>?token=<token>`.
 * The token is an HMAC-SHA256 of the application ID under a key derived (HKDF) from
 * `STATE_SIGNING_SECRET` for this purpose only, so it is unguessable, needs no storage and cannot be
 * moved to another application. It does not expire: the applicant keeps the link. Rotating the
 * secret invalidates every link (applicants can still reach their status by signing in with Discord).
 */

const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

const keyOf = (secret: string) =>
  Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), Buffer.alloc(0), 'application-status-link', 32));

/** The status token of one application (43 base64url characters). */
export function statusTokenOf(secret: string, applicationId: string): string {
  return createHmac('sha256', keyOf(secret)).update(`application:${applicationId}`, 'utf8').digest('base64url');
}

/** Whether `token` is the status token of `applicationId` (constant time; any other input is false). */
export function isStatusTokenOf(secret: string, applicationId: string, token: unknown): boolean {
  if (typeof token !== 'string' || !TOKEN_PATTERN.test(token)) return false;
  const expected = Buffer.from(statusTokenOf(secret, applicationId), 'utf8');
  const given = Buffer.from(token, 'utf8');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The link an applicant keeps to follow their application. */
export const statusUrlOf = (config: Pick<Config, 'publicBaseUrl' | 'stateSigningSecret'>, applicationId: string) =>
  `${config.publicBaseUrl}/status/${encodeURIComponent(applicationId)}?token=${statusTokenOf(config.stateSigningSecret, applicationId)}`;
