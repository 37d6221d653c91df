import type { RequestHandler, Response } from 'express';
import { parse } from 'cookie';
import { SESSION_COOKIE, clearedSessionCookie, lookupSession } from '../../auth/sessions.js';
import type { UserRole } from '../../db/users.js';
import type { AppDeps } from '../deps.js';
import { forbidden, unauthorized } from '../errors.js';

/** Who is signed in on this request; set by `sessionMiddleware` when the cookie names a live session. */
export interface RequestAuth {
  sessionId: string;
  user: { id: string; email: string; role: UserRole; organizationId: string | null };
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      auth?: RequestAuth;
    }
  }
}

/**
 * Sets the session cookie's `Set-Cookie` line, replacing one set earlier in this response (the
 * middleware clears a stale cookie; a login on the same request then hands out a new one).
 */
export function setSessionCookieHeader(res: Response, setCookie: string): void {
  const current = res.getHeader('Set-Cookie');
  const lines = current === undefined ? [] : Array.isArray(current) ? current : [String(current)];
  res.setHeader('Set-Cookie', [...lines.filter((l) => !l.startsWith(`${SESSION_COOKIE}=`)), setCookie]);
}

/** The `sid` cookie's value, or undefined. */
export function sessionTokenOf(cookieHeader: string | undefined): string | undefined {
  if (!cookieHeader) return undefined;
  const value = parse(cookieHeader)[SESSION_COOKIE];
  return value === undefined || value === '' ? undefined : value;
}

/**
 * Sets `req.auth` from the session cookie. An unknown or expired session leaves it unset and tells
 * the browser to drop the cookie; the routes decide whether they need a user (`requireUser`).
 */
export function sessionMiddleware({ pool, config }: AppDeps): RequestHandler {
  return async (req, res, next) => {
    const token = sessionTokenOf(req.headers.cookie);
    if (token === undefined) return next();
    const session = await lookupSession(pool, token);
    if (session) {
      req.auth = { sessionId: session.sessionId, user: session.user };
    } else {
      setSessionCookieHeader(res, clearedSessionCookie(config));
    }
    next();
  };
}

/** 401 `unauthorized` unless someone is signed in. */
export const requireUser: RequestHandler = (req, _res, next) => {
  next(req.auth ? undefined : unauthorized());
};

/** 401 without a session, 403 `forbidden` for a signed-in user who is not an admin. */
export const requireAdmin: RequestHandler = (req, _res, next) => {
  if (!req.auth) return next(unauthorized());
  next(req.auth.user.role === 'admin' ? undefined : forbidden('Only an organization admin can do this.'));
};
