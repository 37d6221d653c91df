import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { digestMatches, digestOf, InvalidStateError, signState, stateClaim, verifyState } from './oauth-state.js';

/**
 * The OAuth `state` of an applicant signing in with Discord: an HS256 JWT that names the
 * organization (and, to re-authorize, the application), bound to the applicant's browser by an
 * HttpOnly cookie (`state` carries only the cookie's SHA-256), expiring after 5 minutes and
 * accepted once (its nonce is spent like the bot flow's, in `oauth_state_uses`).
 */

const AUDIENCE = 'discord-applicant-sign-in';
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

const claimsSchema = z.object({
  org: stateClaim.uuid,
  app: stateClaim.uuid.nullable(),
  jti: stateClaim.nonce,
  bid: stateClaim.digest,
  exp: stateClaim.exp,
});

/** A new browser token for the login cookie. */
export const newBrowserToken = () => randomBytes(32).toString('base64url');

export async function signApplicantState(
  input: { organizationId: string; applicationId?: string | null; browserToken: string },
  secret: string,
  now: Date = new Date(),
): Promise<string> {
  return signState(
    { org: input.organizationId, app: input.applicationId ?? null, bid: digestOf(input.browserToken) },
    { audience: AUDIENCE, secret, now },
  );
}

/**
 * Checks the signature, issuer, audience, expiry and claims, and that the state was issued to the
 * browser holding `browserToken` (the login cookie). Throws `InvalidStateError`. Does not spend the nonce.
 */
export async function verifyApplicantState(
  token: string,
  options: { secret: string; browserToken: string | undefined; now?: Date },
): Promise<ApplicantStateClaims> {
  const data = await verifyState(token, {
    audience: AUDIENCE,
    required: ['org', 'jti', 'bid', 'iat', 'exp'],
    schema: claimsSchema,
    secret: options.secret,
    now: options.now,
  });
  if (!options.browserToken || !digestMatches(data.bid, options.browserToken)) {
    throw new InvalidStateError('wrong_session');
  }
  return {
    organizationId: data.org,
    applicationId: data.app,
    nonce: data.jti,
    expiresAt: new Date(data.exp * 1000),
    browserHash: data.bid,
  };
}
