import { Router, type Request, type Response } from 'express';
import { parse as parseCookies } from 'cookie';
import {
  APPLICANT_LOGIN_COOKIE,
  newBrowserToken,
  signApplicantState,
  verifyApplicantState,
} from '../../auth/applicant-state.js';
import {
  APPLICANT_SESSION_COOKIE,
  applicantLoginCookie,
  applicantSessionCookie,
  createApplicantSession,
  lookupApplicantSession,
  saveTokensForApplication,
} from '../../auth/applicant-sessions.js';
import { consumeOAuthStateNonce, InvalidStateError } from '../../auth/oauth-state.js';
import { findApplication } from '../../db/applications.js';
import { findApplicantStatus, listApplicationsOfAccount } from '../../db/applicant-status.js';
import { isStatusTokenOf, statusUrlOf } from '../../auth/status-token.js';
import { applicantStatusOfRow, applicantViewOf } from '../../domain/applicant-status.js';
import { isUuid } from '../../domain/uuid.js';
import type { Application } from '../../domain/application.js';
import { APPLICANT_AUTHORIZATION_EXPIRED } from '../../domain/application-lifecycle.js';
import { findOrganizationByIdOrSlug, isValidSlug, type Organization } from '../../db/organizations.js';
import { discordUserOf } from '../../domain/discord-user.js';
import { buildApplicantAuthorizeUrl, exchangeUserCode, fetchCurrentUser } from '../../discord/oauth.js';
import { requestRoleRedrive } from '../../temporal/operations.js';
import type { Config } from '../../config.js';
import type { AppDeps } from '../deps.js';
import { notFound } from '../errors.js';
import { refusalLimit, sharedRateLimit } from '../middleware/rate-limit.js';
import { applicantAuthorizeQuery, applicantStatusQuery } from '../schemas.js';
import { parseInput } from '../validation.js';

/**
 * An application its applicant may sign in for again: a verified one whose grant is still to come
 * (pending review or being granted) or waits for exactly that (its authorization expired).
 */
function awaitsReauthorization(app: Application | null): app is Application {
  if (!app?.discordUser?.verified) return false;
  return (
    app.status === 'Pending' ||
    app.status === 'approved_pending_role' ||
    (app.status === 'approved_role_failed' && app.roleAssignment.errorType === APPLICANT_AUTHORIZATION_EXPIRED)
  );
}

/** The organization of a public URL's slug, exactly (no id, no other case), or 404. */
export async function publicOrganization(deps: Pick<AppDeps, 'pool'>, slug: string): Promise<Organization> {
  const org = isValidSlug(slug) ? await findOrganizationByIdOrSlug(deps.pool, slug) : null;
  if (!org || org.slug !== slug) throw notFound('No such organization.');
  return org;
}

/** The applicant sign-in cookie of this request, if any. */
export const applicantCookieOf = (req: Request) =>
  req.headers.cookie ? parseCookies(req.headers.cookie)[APPLICANT_SESSION_COOKIE] : undefined;

/**
 * Applicants sign in with Discord (`identify guilds.join`) on the public form, so the role can only
 * reach the account that applied: the same care as the bot flow (a signed, expiring, single-use
 * state, bound to this browser by an HttpOnly cookie; the exact redirect URI), and the tokens never
 * leave this process unencrypted.
 */
/** The public form, where the applicant sign-in sends the browser back (to `/apply` when no form is known). */
export const applyUrlOf = (
  config: Pick<Config, 'publicBaseUrl'>,
  slug: string | null | undefined,
  params: Record<string, string>,
) => `${config.publicBaseUrl}/apply${slug ? `/${encodeURIComponent(slug)}` : ''}?${new URLSearchParams(params)}`;

/** How many of an account's applications signing in again lists. */
const ACCOUNT_APPLICATIONS_SHOWN = 20;

/** A query parameter given once (a repeated one is an array: no token). */
const firstString = (v: unknown) => (typeof v === 'string' ? v : undefined);

export function applicantsRouter(deps: AppDeps): Router {
  const { config, pool } = deps;
  const router = Router();
  const redirectUriOf = () => `${config.publicBaseUrl}/api/public/discord/callback`;
  const applyUrl = (slug: string | null, params: Record<string, string>) => applyUrlOf(config, slug, params);
  const oauth = () => ({
    apiBaseUrl: config.discord.apiBaseUrl,
    clientId: config.discord.clientId ?? '',
    clientSecret: config.discord.clientSecret ?? '',
  });
  // Starting a sign-in costs a signature and a redirect: generous, but bounded per client.
  const limiter = sharedRateLimit(pool, 'applicant-sign-in', {
    windowMs: 60_000,
    limit: 60,
    handler: (_req, res) => {
      res.status(429).json({
        error: { code: 'too_many_requests', message: 'Too many sign-in attempts from here. Please wait a minute.' },
      });
    },
  });
  // Callbacks refused for their state (forged, replayed, expired, another browser's) count per client.
  const refusals = refusalLimit(pool, 'applicant-callback-refusals', { max: 20, windowMs: 10 * 60_000 });

  router.get('/public/organizations/:slug/discord/authorize', limiter, async (req, res) => {
    const org = await publicOrganization(deps, String(req.params.slug));
    // To re-authorize an application submitted earlier (its grant's authorization expired).
    const { application: applicationParam } = parseInput(applicantAuthorizeQuery, req.query);
    let applicationId: string | null = null;
    if (applicationParam !== undefined) {
      const app = await findApplication(pool, applicationParam, org.id);
      if (!awaitsReauthorization(app)) throw notFound('No application waits for a new sign-in here.');
      applicationId = app.id;
    }
    const browserToken = newBrowserToken();
    const state = await signApplicantState(
      { organizationId: org.id, applicationId, browserToken },
      config.stateSigningSecret,
    );
    res.setHeader('Set-Cookie', applicantLoginCookie(APPLICANT_LOGIN_COOKIE, browserToken, config));
    res.redirect(
      302,
      buildApplicantAuthorizeUrl({
        authorizeUrl: config.discord.authorizeUrl,
        clientId: config.discord.clientId ?? '',
        redirectUri: redirectUriOf(),
        state,
      }),
    );
  });

  router.get('/public/discord/callback', async (req: Request, res: Response) => {
    const q = req.query as Record<string, unknown>;
    const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
    const cookies = req.headers.cookie ? parseCookies(req.headers.cookie) : {};
    // The login cookie has done its job whatever happens next.
    res.setHeader('Set-Cookie', applicantLoginCookie(APPLICANT_LOGIN_COOKIE, null, config));
    const fail = async (code: string, slug: string | null, context: Record<string, unknown> = {}) => {
      // Only refusals a browser of ours could have made count: a page elsewhere cannot lock a
      // network out by embedding callback URLs (those arrive without the login cookie).
      const counts = code === 'invalid_state' && (cookies[APPLICANT_LOGIN_COOKIE] || context.why === 'bad_signature');
      if (counts && (await refusals.refuse(req))) code = 'too_many_attempts';
      // Never log the state, the code or a token: only why the sign-in was refused.
      req.log.warn({ reason: code, ...context }, 'applicant sign-in refused');
      res.redirect(302, applyUrl(slug, { error: code }));
    };
    if (await refusals.exhausted(req)) return await fail('too_many_attempts', null);

    // 1. The state: signed by us, not expired, issued to this browser, not used before.
    let claims;
    try {
      claims = await verifyApplicantState(str(q.state) ?? '', {
        secret: config.stateSigningSecret,
        browserToken: cookies[APPLICANT_LOGIN_COOKIE],
      });
      await consumeOAuthStateNonce(pool, claims.nonce, claims.expiresAt);
    } catch (err) {
      if (err instanceof InvalidStateError) return await fail('invalid_state', null, { why: err.reason });
      throw err;
    }
    const org = await findOrganizationByIdOrSlug(pool, claims.organizationId);
    if (!org) return await fail('invalid_state', null, { why: 'no_organization' });
    // A failure from here on sends the browser back to this organization's form.
    res.locals.applySlug = org.slug;
    // 2. The applicant cancelled on Discord.
    if (str(q.error))
      return await fail(q.error === 'access_denied' ? 'access_denied' : 'token_exchange_failed', org.slug);
    // 3. Only now does anything reach Discord: the code, then who signed in.
    const code = str(q.code);
    if (!code) return await fail('token_exchange_failed', org.slug, { why: 'no_code' });
    let tokens;
    let user;
    try {
      tokens = await exchangeUserCode({ ...oauth(), code, redirectUri: redirectUriOf() });
      if (!tokens.scope.split(' ').includes('guilds.join')) {
        return await fail('token_exchange_failed', org.slug, { why: 'no_guilds_join_scope' });
      }
      user = await fetchCurrentUser({ apiBaseUrl: config.discord.apiBaseUrl, accessToken: tokens.accessToken });
    } catch (err) {
      return await fail('token_exchange_failed', org.slug, { why: (err as Error).name });
    }
    const account = {
      id: user.id,
      username: user.username,
      globalName: user.global_name ?? null,
      avatar: user.avatar ?? null,
    };

    if (claims.applicationId) {
      // A re-authorization: only the account the application is for may give it.
      const app = await findApplication(pool, claims.applicationId, org.id);
      if (!awaitsReauthorization(app)) return await fail('invalid_state', org.slug, { why: 'no_application' });
      if (app.discordUser!.id !== account.id) return await fail('wrong_account', org.slug);
      await saveTokensForApplication(pool, { applicationId: app.id, tokens, key: config.tokenEncryptionKey });
      // The grant that waited for this runs again, without spending a manual retry.
      await requestRoleRedrive(deps, { applicationId: app.id, organizationId: org.id });
      req.log.info({ applicationId: app.id }, 'applicant re-authorized');
      res.redirect(302, applyUrl(org.slug, { reauthorized: '1' }));
      return;
    }

    const session = await createApplicantSession(pool, {
      organizationId: org.id,
      account,
      tokens,
      key: config.tokenEncryptionKey,
    });
    res.setHeader('Set-Cookie', [
      applicantLoginCookie(APPLICANT_LOGIN_COOKIE, null, config),
      applicantSessionCookie(session.token, session.expiresAt, config),
    ]);
    res.redirect(302, applyUrl(org.slug, { verified: '1' }));
  });

  router.get('/public/organizations/:slug/applicant', async (req, res) => {
    const org = await publicOrganization(deps, String(req.params.slug));
    const signIn = await lookupApplicantSession(pool, applicantCookieOf(req), org.id);
    // Signing in with Discord again reaches the account's applications here and their status links.
    const applications = signIn
      ? await listApplicationsOfAccount(pool, {
          organizationId: org.id,
          discordUserId: signIn.account.id,
          limit: ACCOUNT_APPLICATIONS_SHOWN,
        })
      : [];
    // Who is signed in on this browser: never kept by a cache on the way.
    res.setHeader('Cache-Control', 'no-store, private');
    res.json({
      organization: { name: org.name, requireDiscordSignIn: org.requireDiscordSignIn },
      discordUser: signIn ? discordUserOf(signIn.account) : null,
      applications: applications.map((a) => ({
        id: a.id,
        formTitle: a.formTitle,
        submittedAt: a.submittedAt,
        status: applicantStatusOfRow(a),
        statusUrl: statusUrlOf(config, a.id),
      })),
    });
  });

  // The status link: a wrong, missing or malformed token and an unknown application are one 404.
  const statusLimiter = sharedRateLimit(pool, 'application-status', {
    windowMs: 60_000,
    limit: 60,
    handler: (_req, res) => {
      res.status(429).json({
        error: { code: 'too_many_requests', message: 'Too many requests from here. Please wait a minute.' },
      });
    },
  });
  router.get('/public/applications/:id/status', statusLimiter, async (req, res) => {
    const id = String(req.params.id);
    const { token } = parseInput(applicantStatusQuery, { token: firstString(req.query.token) });
    // The token is checked (in constant time) before the database is asked, so an unknown ID and a
    // wrong token take the same path and get the same answer.
    const record =
      isUuid(id) && isStatusTokenOf(config.stateSigningSecret, id, token) ? await findApplicantStatus(pool, id) : null;
    if (!record) throw notFound('No such application.');
    const { application: app, organization, form, guildId } = record;
    const view = applicantViewOf(app, { guildId, shareNotes: form?.shareNotes ?? false });
    res.setHeader('Cache-Control', 'no-store, private');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.json({
      ...view,
      organization: { name: organization.name, slug: organization.slug },
      form: form ? { title: form.title } : null,
      submittedAt: app.createdAt,
      decidedAt: view.status === 'received' ? null : app.reviewedAt,
    });
  });

  return router;
}
