import { Router, type Request, type RequestHandler } from 'express';
import type { Options } from 'express-rate-limit';
import type { z } from 'zod';
import { dummyPasswordHash, verifyPassword } from '../../auth/password.js';
import { clearedSessionCookie, createSession, destroySession, sessionCookie } from '../../auth/sessions.js';
import { appendAuditLog } from '../../db/audit-log.js';
import { findOrganizationByIdOrSlug, type Organization } from '../../db/organizations.js';
import { LOGIN_LIMITERS, PostgresRateLimitStore } from '../../db/rate-limits.js';
import type { Pool } from '../../db/pool.js';
import { findUserByEmail } from '../../db/users.js';
import type { AppDeps } from '../deps.js';
import { HttpError, badRequest } from '../errors.js';
import { clientKey, sharedRateLimit } from '../middleware/rate-limit.js';
import { requireUser, setSessionCookieHeader } from '../middleware/session.js';
import { loginRequest } from '../schemas.js';
import { parseInput } from '../validation.js';

/** Failed sign-ins allowed per IP address and email within the window. (Default: 10 per 15 minutes) */
export const LOGIN_RATE_LIMIT = { limit: 10, windowMs: 15 * 60_000 };
/**
 * Failed sign-ins for one account, from whatever addresses, before it is locked for the rest of the
 * window: many addresses guessing one password in turn meet this one. (Default: 20 per 15 minutes)
 */
export const ACCOUNT_LOCKOUT = { limit: 20, windowMs: 15 * 60_000 };
/** Failed sign-ins allowed per IP address, whatever the emails: one password tried on many accounts. (Default: 50 per 15 minutes) */
export const LOGIN_ADDRESS_LIMIT = { limit: 50, windowMs: 15 * 60_000 };

type LoginBody = z.infer<typeof loginRequest>;

const invalidCredentials = () => new HttpError('invalid_credentials', 'The email or the password is wrong.');

const validateLogin: RequestHandler = (req, res, next) => {
  if (typeof req.body !== 'object' || req.body === null) {
    return next(
      badRequest('Send a JSON body {"email": "...", "password": "..."} with Content-Type: application/json.'),
    );
  }
  res.locals.login = parseInput(loginRequest, req.body);
  next();
};

const tooManyFailures: Partial<Options>['handler'] = (_req, _res, next) =>
  next(new HttpError('too_many_requests', 'Too many failed sign-ins. Wait a few minutes and try again.'));

/** Per address, whatever the email: one client trying one password on many accounts. */
function loginAddressLimit(pool: Pool): RequestHandler {
  return sharedRateLimit(pool, LOGIN_LIMITERS.address, {
    ...LOGIN_ADDRESS_LIMIT,
    skipSuccessfulRequests: true,
    handler: tooManyFailures,
  });
}

function loginRateLimit(pool: Pool): RequestHandler {
  return sharedRateLimit(pool, LOGIN_LIMITERS.addressAndEmail, {
    ...LOGIN_RATE_LIMIT,
    // Only failures count: a person who signs in often is not an attacker.
    skipSuccessfulRequests: true,
    // Per address and email: one guessing client cannot lock everyone out of one account.
    keyGenerator: (req, res) => `${clientKey(req)}|${(res.locals.login as LoginBody).email}`,
    handler: tooManyFailures,
  });
}

/**
 * The sign-in attempts of each account (by email), whatever the address: the lockout's counter.
 * An attempt counts before its password is checked, in one statement, so attempts sent together
 * cannot all read the count of before them: at most ACCOUNT_LOCKOUT.limit passwords are checked
 * per window. A successful sign-in clears the count (what remains counts failures).
 */
export function accountLockout(pool: Pool) {
  const store = new PostgresRateLimitStore(pool, LOGIN_LIMITERS.account, ACCOUNT_LOCKOUT.windowMs);
  return {
    /** Counts an attempt; answers when the lock ends if this attempt is one too many. */
    attempt: async (email: string): Promise<Date | undefined> => {
      const { totalHits, resetTime } = await store.increment(email);
      return totalHits > ACCOUNT_LOCKOUT.limit ? resetTime : undefined;
    },
    /** The owner signed in: earlier failures no longer count. (`unlock-account` deletes them too.) */
    clear: (email: string) => store.resetKey(email),
  };
}

const accountLocked = (until: Date) =>
  new HttpError(
    'account_locked',
    `Too many failed sign-ins for this account from several places: it is locked until ${until.toISOString().slice(11, 16)} UTC. Wait until then, or ask whoever runs this service to unlock it.`,
  );

/** A failed sign-in, in the audit log of the account's organization (none for an unknown email). */
async function auditFailedLogin(
  pool: Pool,
  req: Request,
  email: string,
  user: { id: string; organizationId: string | null } | null,
  reason: 'wrong_password' | 'unknown_email' | 'account_locked',
) {
  await appendAuditLog(pool, {
    organizationId: user?.organizationId ?? null,
    actorUserId: null,
    action: 'user.login_failed',
    subjectType: 'user',
    subjectId: user?.id ?? null,
    details: { email, reason, ip: req.ip ?? null },
  });
  req.log?.warn({ userId: user?.id, reason }, 'sign-in refused');
}

const publicOrganization = (org: Organization | null) => (org ? { id: org.id, slug: org.slug, name: org.name } : null);

/** `POST /api/auth/login` and `POST /api/auth/logout`; mounted at `/api/auth`. */
export function authRouter({ pool, config }: AppDeps): Router {
  const router = Router();

  const lockout = accountLockout(pool);
  router.post('/login', validateLogin, loginAddressLimit(pool), loginRateLimit(pool), async (req, res) => {
    const { email, password } = res.locals.login as LoginBody;
    const user = await findUserByEmail(pool, email);
    const lockedUntil = await lockout.attempt(email);
    if (lockedUntil) {
      await auditFailedLogin(pool, req, email, user, 'account_locked');
      res.setHeader('Retry-After', String(Math.max(1, Math.ceil((lockedUntil.getTime() - Date.now()) / 1000))));
      throw accountLocked(lockedUntil);
    }
    // An unknown email costs one scrypt too, so the answer's timing does not tell which emails exist.
    const ok = await verifyPassword(password, user?.passwordHash ?? (await dummyPasswordHash()));
    if (!user || !ok) {
      await auditFailedLogin(pool, req, email, user, user ? 'wrong_password' : 'unknown_email');
      throw invalidCredentials();
    }
    await lockout.clear(email);

    if (req.auth) await destroySession(pool, req.auth.sessionId);
    const session = await createSession(pool, user.id, config.sessionTtlHours);
    const organization = user.organizationId ? await findOrganizationByIdOrSlug(pool, user.organizationId) : null;
    await appendAuditLog(pool, {
      organizationId: user.organizationId,
      actorUserId: user.id,
      action: 'user.login',
      subjectType: 'user',
      subjectId: user.id,
      details: { sessionId: session.sessionId },
    });
    req.log?.info({ userId: user.id, sessionId: session.sessionId }, 'user signed in');
    setSessionCookieHeader(res, sessionCookie(session.token, session.expiresAt, config));
    res.json({
      user: { id: user.id, email: user.email, role: user.role },
      organization: publicOrganization(organization),
    });
  });

  router.post('/logout', async (req, res) => {
    if (req.auth) {
      await destroySession(pool, req.auth.sessionId);
      await appendAuditLog(pool, {
        organizationId: req.auth.user.organizationId,
        actorUserId: req.auth.user.id,
        action: 'user.logout',
        subjectType: 'user',
        subjectId: req.auth.user.id,
        details: { sessionId: req.auth.sessionId },
      });
    }
    setSessionCookieHeader(res, clearedSessionCookie(config));
    res.status(204).end();
  });

  return router;
}

/** `GET /api/me`; mounted at `/api`. */
export function meRouter({ pool }: AppDeps): Router {
  const router = Router();
  router.get('/me', requireUser, async (req, res) => {
    const { user } = req.auth!;
    const organization = user.organizationId ? await findOrganizationByIdOrSlug(pool, user.organizationId) : null;
    res.json({
      user: { id: user.id, email: user.email, role: user.role },
      organization: publicOrganization(organization),
    });
  });
  return router;
}
