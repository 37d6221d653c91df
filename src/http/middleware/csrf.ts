import { parse } from 'cookie';
import type { RequestHandler } from 'express';
import { APPLICANT_SESSION_COOKIE } from '../../auth/applicant-sessions.js';
import type { AppDeps } from '../deps.js';
import { HttpError } from '../errors.js';
import { sessionTokenOf } from './session.js';

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Refuses a state-changing request that carries the session cookie (or an applicant's Discord
 * sign-in cookie, which submits applications as that account) unless the browser says it
 * comes from our own origin: `Origin` equal to the origin of PUBLIC_BASE_URL or, when a browser
 * sends no `Origin`, `Sec-Fetch-Site: same-origin`. SameSite=Lax alone still lets sibling
 * subdomains and top-level form POSTs through in some browsers.
 *
 * The cookie's presence decides, not its validity: a stale cookie is no reason to drop the check.
 * Requests without it (public application form, login, API clients) are not affected.
 */
export function csrfMiddleware({ config }: AppDeps): RequestHandler {
  return (req, _res, next) => {
    if (!UNSAFE_METHODS.has(req.method)) return next();
    const applicantSignedIn = req.headers.cookie ? !!parse(req.headers.cookie)[APPLICANT_SESSION_COOKIE] : false;
    if (sessionTokenOf(req.headers.cookie) === undefined && !applicantSignedIn) return next();
    // Read per request: tests learn the public URL only once the server listens.
    const expected = new URL(config.publicBaseUrl).origin;
    const origin = req.headers.origin;
    const accepted = origin !== undefined ? origin === expected : req.headers['sec-fetch-site'] === 'same-origin';
    if (accepted) return next();
    next(
      new HttpError(
        'csrf_rejected',
        origin !== undefined
          ? 'This request comes from another site and was refused. Use the app at its own address.'
          : 'This request does not say where it comes from (no Origin header) and was refused.',
      ),
    );
  };
}
