import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';
import { z } from 'zod';
import { InvalidStateError, ISSUER, keyOf, OAUTH_STATE_TTL_SECONDS, reasonOf } from './oauth-state';
import { UUID_PATTERN } from '../domain/uuid';

/**
 * The OAuth `state` of an applicant signing in with Discord: an HS256 JWT that names the
 * organization (and, to re-authorize, the application), bound to the applicant's browser by an
 * HttpOnly cookie (`state` carries only the cookie's SHA-256), expiring after 5 minutes and
 * accepted once (its nonce is spent like the bot flow's, in `oauth_state_uses`).
 */

const AUDIENCE = 'discord-applicant-sign-in';
const ALGORITHM = 'HS256';
/** The cookie that binds a sign-in to the browser that started it. */
export const APPLICANT_LOGIN_COOKIE = 'applicant_login';

export interface ApplicantStateClaims {
  organizationId: string;
  /** Set when the applicant re-authorizes an application they submitted. */
  applicationId: string | null;
  nonce: string;
  expiresAt: Date;
  browserHash: string;
}

const uuid = z.string().regex(UUID_PATTERN);
const claimsSchema = z.object({
  org: uuid,
  app: uuid.nullable(),
  jti: z.string().regex(/^[A-Za-z0-9_-]{22,}$/),
  bid: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  exp: z.number().int(),
});

const hashBrowserToken = (token: string) => createHash('sha256').update(token, 'utf8').digest('base64url');

/** A new browser token for the login cookie. */
export const newBrowserToken = () => randomBytes(32).toString('base64url');

export async function signApplicantState(
  input: { organizationId: string; applicationId?: string | null; browserToken: string },
  secret: string,
  now: Date = new Date(),
): Promise<string> {
  const iat = Math.floor(now.getTime() / 1000);
  return new SignJWT({
    org: input.organizationId,
    app: input.applicationId ?? null,
    bid: hashBrowserToken(input.browserToken),
  })
    .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setJti(randomBytes(16).toString('base64url'))
    .setIssuedAt(iat)
    .setExpirationTime(iat + OAUTH_STATE_TTL_SECONDS)
    .sign(keyOf(secret));
}

/**
 * Checks the signature, issuer, audience, expiry and claims, and that the state was issued to the
 * browser holding `browserToken` (the login cookie). Throws `InvalidStateError`. Does not spend the nonce.
 */
export async function verifyApplicantState(
  token: string,
  options: { secret: string; browserToken: string | undefined; now?: Date },
): Promise<ApplicantStateClaims> {
  let payload: unknown;
  try {
    ({ payload } = await jwtVerify(token, keyOf(options.secret), {
      algorithms: [ALGORITHM],
      issuer: ISSUER,
      audience: AUDIENCE,
      requiredClaims: ['org', 'jti', 'bid', 'iat', 'exp'],
      maxTokenAge: OAUTH_STATE_TTL_SECONDS,
      currentDate: options.now,
    }));
  } catch (err) {
    throw new InvalidStateError(reasonOf(err));
  }
  const parsed = claimsSchema.safeParse(payload);
  if (!parsed.success) throw new InvalidStateError('malformed');
  const expected = Buffer.from(hashBrowserToken(options.browserToken ?? ''));
  const actual = Buffer.from(parsed.data.bid);
  if (!options.browserToken || actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
    throw new InvalidStateError('wrong_session');
  }
  return {
    organizationId: parsed.data.org,
    applicationId: parsed.data.app,
    nonce: parsed.data.jti,
    expiresAt: new Date(parsed.data.exp * 1000),
    browserHash: parsed.data.bid,
  };
}
