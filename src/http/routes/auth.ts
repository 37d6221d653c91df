import { Router, type RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { z } from 'zod';
import { dummyPasswordHash, verifyPassword } from '../../auth/password.js';
import { clearedSessionCookie, createSession, destroySession, sessionCookie } from '../../auth/sessions.js';
import { appendAuditLog } from '../../db/audit-log.js';
import { findOrganizationByIdOrSlug, type Organization } from '../../db/organizations.js';
import { findUserByEmail } from '../../db/users.js';
import type { AppDeps } from '../deps.js';
import { HttpError, badRequest } from '../errors.js';
import { requireUser, setSessionCookieHeader } from '../middleware/session.js';

/** Failed sign-ins allowed per IP address and email within the window. (Default: 10 per 15 minutes) */
export const LOGIN_RATE_LIMIT = { limit: 10, windowMs: 15 * 60_000 };

// Messages follow the field name: "email: must be an email address".
const loginBody = z.object({
  email: z
    .string({ error: 'is required (a string)' })
    .trim()
    .toLowerCase()
    .pipe(z.email({ error: 'must be an email address' })),
  password: z
    .string({ error: 'is required (a string)' })
    .min(1, { error: 'must not be empty' })
    .max(1024, { error: 'must be at most 1024 characters' }),
});
type LoginBody = z.infer<typeof loginBody>;

const invalidCredentials = () => new HttpError(401, 'invalid_credentials', 'The email or the password is wrong.');

function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
}

const validateLogin: RequestHandler = (req, res, next) => {
  if (typeof req.body !== 'object' || req.body === null) {
    return next(
      badRequest('Send a JSON body {"email": "...", "password": "..."} with Content-Type: application/json.'),
    );
  }
  const parsed = loginBody.safeParse(req.body);
  if (!parsed.success) return next(badRequest(describeIssues(parsed.error)));
  res.locals.login = parsed.data;
  next();
};

function loginRateLimit(): RequestHandler {
  return rateLimit({
    ...LOGIN_RATE_LIMIT,
    // Only failures count: a person who signs in often is not an attacker.
    skipSuccessfulRequests: true,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    // Per address and email: one guessing client cannot lock everyone out of one account.
    keyGenerator: (req, res) => `${ipKeyGenerator(req.ip ?? 'unknown')}|${(res.locals.login as LoginBody).email}`,
    handler: (_req, _res, next) =>
      next(new HttpError(429, 'too_many_requests', 'Too many failed sign-ins. Wait a few minutes and try again.')),
  });
}

const publicOrganization = (org: Organization | null) => (org ? { id: org.id, slug: org.slug, name: org.name } : null);

/** `POST /api/auth/login` and `POST /api/auth/logout`; mounted at `/api/auth`. */
export function authRouter({ pool, config }: AppDeps): Router {
  const router = Router();

  router.post('/login', validateLogin, loginRateLimit(), async (req, res) => {
    const { email, password } = res.locals.login as LoginBody;
    const user = await findUserByEmail(pool, email);
    // An unknown email costs one scrypt too, so the answer's timing does not tell which emails exist.
    const ok = await verifyPassword(password, user?.passwordHash ?? (await dummyPasswordHash()));
    if (!user || !ok) throw invalidCredentials();

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
