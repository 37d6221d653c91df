import { createHash, randomBytes } from 'node:crypto';
import { serialize, type SerializeOptions } from 'cookie';
import type { Config } from '../config.js';
import type { Pool, PoolClient } from '../db/pool.js';
import { deleteSession, findLiveSessionByTokenHash, insertSession, type SessionWithUser } from '../db/sessions.js';

/**
 * Browser sessions: a random 32-byte token in an HttpOnly cookie, only its SHA-256 in Postgres,
 * so a read of the database does not hand out sign-ins.
 */

export const SESSION_COOKIE = 'sid';
const TOKEN_BYTES = 32;
// base64url of 32 bytes, unpadded: anything else is not ours and needs no database round trip.
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export function hashSessionToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export interface CreatedSession {
  sessionId: string;
  /** Goes into the cookie and nowhere else: never log it. */
  token: string;
  expiresAt: Date;
}

/** Starts a session for `userId` that lasts `ttlHours`. */
export async function createSession(
  db: Pool | PoolClient,
  userId: string,
  ttlHours: number,
  now: Date = new Date(),
): Promise<CreatedSession> {
  const token = randomBytes(TOKEN_BYTES).toString('base64url');
  const expiresAt = new Date(now.getTime() + ttlHours * 3_600_000);
  const session = await insertSession(db, { tokenHash: hashSessionToken(token), userId, expiresAt });
  return { sessionId: session.id, token, expiresAt: session.expiresAt };
}

/** The live session of a cookie's token, or null for an unknown, malformed or expired one. */
export async function lookupSession(db: Pool | PoolClient, token: string): Promise<SessionWithUser | null> {
  if (!TOKEN_PATTERN.test(token)) return null;
  return findLiveSessionByTokenHash(db, hashSessionToken(token));
}

/** Ends a session (sign-out). */
export async function destroySession(db: Pool | PoolClient, sessionId: string): Promise<void> {
  await deleteSession(db, sessionId);
}

function cookieOptions(config: Pick<Config, 'isProduction'>): SerializeOptions {
  return { httpOnly: true, sameSite: 'lax', path: '/', secure: config.isProduction };
}

/** The `Set-Cookie` value that hands the session to the browser until it expires. */
export function sessionCookie(token: string, expiresAt: Date, config: Pick<Config, 'isProduction'>): string {
  return serialize(SESSION_COOKIE, token, { ...cookieOptions(config), expires: expiresAt });
}

/** The `Set-Cookie` value that makes the browser forget the session. */
export function clearedSessionCookie(config: Pick<Config, 'isProduction'>): string {
  return serialize(SESSION_COOKIE, '', { ...cookieOptions(config), expires: new Date(0), maxAge: 0 });
}
