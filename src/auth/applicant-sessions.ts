import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { serialize } from 'cookie';
import type { Config } from '../config.js';
import {
  deleteApplicantSession,
  findLiveApplicantSession,
  findLiveApplicantSessionById,
  insertApplicantSession,
} from '../db/applicant-sessions.js';
import { saveApplicantTokens } from '../db/applicant-tokens.js';
import type { VerifiedDiscordAccount } from '../db/applications.js';
import type { Pool, PoolClient } from '../db/pool.js';
import type { UserTokens } from '../discord/oauth.js';
import { decryptToken, encryptToken, TokenDecryptionError } from './token-crypto.js';

/** The sign-in can no longer be used (its tokens cannot be read: the key changed): sign in again. */
export class ApplicantSignInUnusableError extends Error {
  constructor() {
    super('the applicant sign-in cannot be used any more');
    this.name = 'ApplicantSignInUnusableError';
  }
}

/**
 * An applicant's browser after signing in with Discord: who they are on Discord, and (until they
 * submit) their tokens, encrypted. The cookie holds a random token; only its SHA-256 is stored.
 */

export const APPLICANT_SESSION_COOKIE = 'applicant_session';
/** Long enough to fill in a form. (Default: 1 hour) */
const TTL_MS = 60 * 60_000;
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

const hash = (token: string) => createHash('sha256').update(token, 'utf8').digest();
const sessionBinding = (id: string) => `applicant_session:${id}`;
export const applicationBinding = (id: string) => `application:${id}`;

export interface ApplicantSignIn {
  id: string;
  account: VerifiedDiscordAccount;
}

export async function createApplicantSession(
  db: Pool | PoolClient,
  input: { organizationId: string; account: VerifiedDiscordAccount; tokens: UserTokens; key: Buffer },
): Promise<{ token: string; expiresAt: Date }> {
  const id = randomUUID();
  const token = randomBytes(32).toString('base64url');
  const expiresAt = new Date(Date.now() + TTL_MS);
  await insertApplicantSession(db, {
    id,
    tokenHash: hash(token),
    organizationId: input.organizationId,
    account: input.account,
    accessTokenEnc: encryptToken(input.key, input.tokens.accessToken, sessionBinding(id)),
    refreshTokenEnc: encryptToken(input.key, input.tokens.refreshToken, sessionBinding(id)),
    tokenExpiresAt: input.tokens.expiresAt,
    expiresAt,
  });
  return { token, expiresAt };
}

/** The applicant signed in on this browser for this organization, or null. */
export async function lookupApplicantSession(
  db: Pool | PoolClient,
  cookieToken: string | undefined,
  organizationId: string,
): Promise<ApplicantSignIn | null> {
  if (!cookieToken || !TOKEN_PATTERN.test(cookieToken)) return null;
  const row = await findLiveApplicantSession(db, hash(cookieToken), organizationId);
  return row ? { id: row.id, account: row.account } : null;
}

/**
 * Moves the sign-in's tokens to the application it submitted, re-encrypted for the application,
 * and ends the sign-in (another application needs a new one), in the caller's transaction. Throws
 * `ApplicantSignInUnusableError` when the tokens cannot be read (the key changed since).
 */
export async function moveApplicantTokens(
  db: PoolClient,
  input: { signIn: ApplicantSignIn; applicationId: string; key: Buffer },
): Promise<void> {
  const row = await findLiveApplicantSessionById(db, input.signIn.id);
  if (row?.accessTokenEnc && row.refreshTokenEnc && row.tokenExpiresAt) {
    let tokens;
    try {
      tokens = {
        access: decryptToken(input.key, row.accessTokenEnc, sessionBinding(row.id)),
        refresh: decryptToken(input.key, row.refreshTokenEnc, sessionBinding(row.id)),
      };
    } catch (err) {
      if (err instanceof TokenDecryptionError) throw new ApplicantSignInUnusableError();
      throw err;
    }
    await saveApplicantTokens(db, input.applicationId, {
      accessTokenEnc: encryptToken(input.key, tokens.access, applicationBinding(input.applicationId)),
      refreshTokenEnc: encryptToken(input.key, tokens.refresh, applicationBinding(input.applicationId)),
      expiresAt: row.tokenExpiresAt,
    });
  }
  await deleteApplicantSession(db, input.signIn.id);
}

/** Ends a sign-in (it can no longer be used). */
export async function endApplicantSession(db: Pool | PoolClient, signIn: ApplicantSignIn): Promise<void> {
  await deleteApplicantSession(db, signIn.id);
}

/** Stores a re-authorization's tokens for the application they were given for. */
export async function saveTokensForApplication(
  db: Pool | PoolClient,
  input: { applicationId: string; tokens: UserTokens; key: Buffer },
): Promise<void> {
  await saveApplicantTokens(db, input.applicationId, {
    accessTokenEnc: encryptToken(input.key, input.tokens.accessToken, applicationBinding(input.applicationId)),
    refreshTokenEnc: encryptToken(input.key, input.tokens.refreshToken, applicationBinding(input.applicationId)),
    expiresAt: input.tokens.expiresAt,
  });
}

const cookieOptions = (config: Pick<Config, 'isProduction'>) =>
  ({ httpOnly: true, sameSite: 'lax', path: '/', secure: config.isProduction }) as const;

export function applicantSessionCookie(token: string, expiresAt: Date, config: Pick<Config, 'isProduction'>): string {
  return serialize(APPLICANT_SESSION_COOKIE, token, { ...cookieOptions(config), expires: expiresAt });
}

/** The `Set-Cookie` value that makes the browser forget its sign-in. */
export function clearedApplicantSessionCookie(config: Pick<Config, 'isProduction'>): string {
  return serialize(APPLICANT_SESSION_COOKIE, '', { ...cookieOptions(config), expires: new Date(0), maxAge: 0 });
}

/** The short-lived cookie that binds a sign-in's OAuth state to the browser that started it. */
export function applicantLoginCookie(name: string, token: string | null, config: Pick<Config, 'isProduction'>): string {
  return token === null
    ? serialize(name, '', { ...cookieOptions(config), path: '/api/public', expires: new Date(0), maxAge: 0 })
    : serialize(name, token, { ...cookieOptions(config), path: '/api/public', maxAge: 10 * 60 });
}
