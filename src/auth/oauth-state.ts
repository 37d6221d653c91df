import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';
import { z } from 'zod';
import { insertOAuthStateNonce } from '../db/oauth-state-nonces.js';
import type { Pool, PoolClient } from '../db/pool.js';
import { UUID_PATTERN } from '../domain/uuid.js';

/**
 * The OAuth `state` of the Discord bot flow: an HS256 JWT that names the organization and the
 * admin, is bound to the admin's session, expires after 5 minutes and is accepted once.
 * The old app's state was base64 JSON that anyone could forge; a state without a valid
 * signature is refused here before any of its content is looked at.
 */

const ISSUER = 'discord-role-grants';
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

/** Shapes of the claims every state carries, for the schemas of each kind of state. */
export const stateClaim = {
  uuid: z.string().regex(UUID_PATTERN),
  nonce: z.string().regex(/^[A-Za-z0-9_-]{22,}$/),
  /** base64url of a SHA-256: what binds a state to a session or a browser. */
  digest: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  exp: z.number().int(),
};

const claimsSchema = z.object({
  org: stateClaim.uuid,
  sub: stateClaim.uuid,
  jti: stateClaim.nonce,
  sid: stateClaim.digest,
  exp: stateClaim.exp,
});

/** The HS256 key of a state signing secret (at least 32 bytes). */
function keyOf(secret: string): Uint8Array {
  const key = new TextEncoder().encode(secret);
  if (key.length < MIN_SECRET_BYTES)
    throw new Error(`the state signing secret must be at least ${MIN_SECRET_BYTES} bytes`);
  return key;
}

/** base64url(SHA-256(value)): binds a state to a session or a browser without writing either into a URL. */
export function digestOf(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('base64url');
}

/** Whether `digest` is the digest of `value`, compared in constant time. */
export function digestMatches(digest: string, value: string): boolean {
  const expected = Buffer.from(digestOf(value));
  const actual = Buffer.from(digest);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/**
 * Signs a state of the kind `audience`: issuer, a single-use nonce (`jti`), issued-at and a
 * 5-minute expiry around the kind's own `claims`.
 */
export async function signState(
  claims: Record<string, unknown>,
  options: { audience: string; subject?: string; secret: string; now?: Date },
): Promise<string> {
  const iat = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
    .setIssuer(ISSUER)
    .setAudience(options.audience)
    .setJti(randomBytes(16).toString('base64url'))
    .setIssuedAt(iat)
    .setExpirationTime(iat + OAUTH_STATE_TTL_SECONDS);
  if (options.subject !== undefined) jwt.setSubject(options.subject);
  return jwt.sign(keyOf(options.secret));
}

/**
 * Checks a state of the kind `audience`: signature, issuer, audience, expiry, the `required`
 * claims and their shapes. Throws `InvalidStateError`; returns the parsed claims.
 */
export async function verifyState<T>(
  token: string,
  options: { audience: string; required: string[]; schema: z.ZodType<T>; secret: string; now?: Date },
): Promise<T> {
  let payload: unknown;
  try {
    ({ payload } = await jwtVerify(token, keyOf(options.secret), {
      algorithms: [ALGORITHM],
      issuer: ISSUER,
      audience: options.audience,
      requiredClaims: options.required,
      maxTokenAge: OAUTH_STATE_TTL_SECONDS,
      currentDate: options.now,
    }));
  } catch (err) {
    throw new InvalidStateError(reasonOf(err));
  }
  const parsed = options.schema.safeParse(payload);
  if (!parsed.success) throw new InvalidStateError('malformed');
  return parsed.data;
}

/** Signs a state for the admin `userId` of `organizationId`, bound to their session `sessionId`. */
export async function signOAuthState(
  input: { organizationId: string; userId: string; sessionId: string },
  secret: string,
  now: Date = new Date(),
): Promise<string> {
  return signState(
    { org: input.organizationId, sid: digestOf(input.sessionId) },
    { audience: AUDIENCE, subject: input.userId, secret, now },
  );
}

/** Why jose refused a token, as a state refusal. */
function reasonOf(err: unknown): InvalidStateReason {
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
  const data = await verifyState(token, {
    audience: AUDIENCE,
    required: ['org', 'sub', 'jti', 'sid', 'iat', 'exp'],
    schema: claimsSchema,
    secret: options.secret,
    now: options.now,
  });
  const claims: OAuthStateClaims = {
    organizationId: data.org,
    userId: data.sub,
    nonce: data.jti,
    expiresAt: new Date(data.exp * 1000),
    sessionHash: data.sid,
  };
  if (options.sessionId !== undefined && !stateBelongsToSession(claims, options.sessionId)) {
    throw new InvalidStateError('wrong_session');
  }
  return claims;
}

/** True when the verified state was issued to the session `sessionId`. */
export function stateBelongsToSession(claims: Pick<OAuthStateClaims, 'sessionHash'>, sessionId: string): boolean {
  return digestMatches(claims.sessionHash, sessionId);
}

/**
 * Spends a verified state's nonce: the first caller wins, every later one (or a concurrent one)
 * gets `InvalidStateError('replayed')`, decided by the primary key of `oauth_state_uses`.
 */
export async function consumeOAuthStateNonce(db: Pool | PoolClient, nonce: string, expiresAt: Date): Promise<void> {
  if (!(await insertOAuthStateNonce(db, nonce, expiresAt))) throw new InvalidStateError('replayed');
}
