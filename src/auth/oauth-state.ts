import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';
import { z } from 'zod';
import type { Pool, PoolClient } from '../db/pool';
import { UUID_PATTERN } from '../domain/uuid';

/**
 * The OAuth `state` of the Discord bot flow: an HS256 JWT that names the organization and the
 * admin, is bound to the admin's session, expires after 5 minutes and is accepted once.
 * The old app's state was base64 JSON that anyone could forge; a state without a valid
 * signature is refused here before any of its content is looked at.
 */

export const ISSUER = 'discord-role-grants';
const AUDIENCE = 'discord-bot-connect';
const ALGORITHM = 'HS256';
/** How long an admin has to finish Discord's consent screen. (Default: 5 minutes) */
export const OAUTH_STATE_TTL_SECONDS = 5 * 60;
const MIN_SECRET_BYTES = 32;

export type InvalidStateReason = 'malformed' | 'bad_signature' | 'expired' | 'wrong_session' | 'replayed';

/** Why a state was refused. The message names the reason only, never the state's content. */
export class InvalidStateError extends Error {
  constructor(readonly reason: InvalidStateReason) {
    super(`invalid OAuth state: ${reason}`);
    this.name = 'InvalidStateError';
  }
}

/** What a verified state says. `sessionHash` is base64url(SHA-256(session id)); see `stateBelongsToSession`. */
export interface OAuthStateClaims {
  organizationId: string;
  userId: string;
  /** Single-use token of this state; spend it with `consumeOAuthStateNonce`. */
  nonce: string;
  expiresAt: Date;
  sessionHash: string;
}

const uuid = z.string().regex(UUID_PATTERN);
const claimsSchema = z.object({
  org: uuid,
  sub: uuid,
  jti: z.string().regex(/^[A-Za-z0-9_-]{22,}$/),
  sid: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  exp: z.number().int(),
});

/** The HS256 key of a state signing secret (at least 32 bytes). */
export function keyOf(secret: string): Uint8Array {
  const key = new TextEncoder().encode(secret);
  if (key.length < MIN_SECRET_BYTES)
    throw new Error(`the state signing secret must be at least ${MIN_SECRET_BYTES} bytes`);
  return key;
}

/** base64url(SHA-256(sessionId)): binds a state to a session without writing the session id into a URL. */
function hashSessionId(sessionId: string): string {
  return createHash('sha256').update(sessionId, 'utf8').digest('base64url');
}

/** Signs a state for the admin `userId` of `organizationId`, bound to their session `sessionId`. */
export async function signOAuthState(
  input: { organizationId: string; userId: string; sessionId: string },
  secret: string,
  now: Date = new Date(),
): Promise<string> {
  const iat = Math.floor(now.getTime() / 1000);
  return new SignJWT({ org: input.organizationId, sid: hashSessionId(input.sessionId) })
    .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject(input.userId)
    .setJti(randomBytes(16).toString('base64url'))
    .setIssuedAt(iat)
    .setExpirationTime(iat + OAUTH_STATE_TTL_SECONDS)
    .sign(keyOf(secret));
}

/** Why jose refused a token, as a state refusal. */
export function reasonOf(err: unknown): InvalidStateReason {
  if (err instanceof joseErrors.JWTExpired) return 'expired';
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'bad_signature';
  // Not a JWS, another algorithm (`none` included), wrong issuer or audience, bad JSON.
  return 'malformed';
}

/**
 * Checks the signature, issuer, audience, expiry and claim shapes; with `sessionId`, also that the
 * state was issued to that session. Throws `InvalidStateError`. Does not spend the nonce.
 */
export async function verifyOAuthState(
  token: string,
  options: { secret: string; sessionId?: string; now?: Date },
): Promise<OAuthStateClaims> {
  let payload: unknown;
  try {
    ({ payload } = await jwtVerify(token, keyOf(options.secret), {
      algorithms: [ALGORITHM],
      issuer: ISSUER,
      audience: AUDIENCE,
      requiredClaims: ['org', 'sub', 'jti', 'sid', 'iat', 'exp'],
      maxTokenAge: OAUTH_STATE_TTL_SECONDS,
      currentDate: options.now,
    }));
  } catch (err) {
    throw new InvalidStateError(reasonOf(err));
  }
  const parsed = claimsSchema.safeParse(payload);
  if (!parsed.success) throw new InvalidStateError('malformed');
  const claims: OAuthStateClaims = {
    organizationId: parsed.data.org,
    userId: parsed.data.sub,
    nonce: parsed.data.jti,
    expiresAt: new Date(parsed.data.exp * 1000),
    sessionHash: parsed.data.sid,
  };
  if (options.sessionId !== undefined && !stateBelongsToSession(claims, options.sessionId)) {
    throw new InvalidStateError('wrong_session');
  }
  return claims;
}

/** True when the verified state was issued to the session `sessionId`. */
export function stateBelongsToSession(claims: Pick<OAuthStateClaims, 'sessionHash'>, sessionId: string): boolean {
  const expected = Buffer.from(hashSessionId(sessionId));
  const actual = Buffer.from(claims.sessionHash);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/**
 * Spends a verified state's nonce: the first caller wins, every later one (or a concurrent one)
 * gets `InvalidStateError('replayed')`, decided by the primary key of `oauth_state_uses`.
 */
export async function consumeOAuthStateNonce(db: Pool | PoolClient, nonce: string, expiresAt: Date): Promise<void> {
  const result = await db.query(
    `INSERT INTO oauth_state_uses (nonce, expires_at)
     VALUES ($1, $2)
     ON CONFLICT (nonce) DO NOTHING`,
    [nonce, expiresAt],
  );
  if (result.rowCount !== 1) throw new InvalidStateError('replayed');
}

/** Forgets nonces of states that expired (they are refused as expired anyway); returns how many. */
export async function deleteExpiredOAuthStateUses(db: Pool | PoolClient, now: Date = new Date()): Promise<number> {
  const result = await db.query(
    `DELETE FROM oauth_state_uses
     WHERE expires_at < $1`,
    [now],
  );
  return result.rowCount ?? 0;
}
