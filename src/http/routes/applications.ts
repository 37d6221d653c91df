import { randomUUID } from 'node:crypto';
import express, { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import {
  ApplicantSignInUnusableError,
  clearedApplicantSessionCookie,
  endApplicantSession,
  lookupApplicantSession,
  moveApplicantTokens,
} from '../../auth/applicant-sessions.js';
import {
  findApplication,
  findLiveApplicationOfAccount,
  insertApplication,
  listApplications,
  listStuckAssignments,
  type PageKey,
} from '../../db/applications.js';
import { withTransaction } from '../../db/pool.js';
import { appendAuditLog } from '../../db/audit-log.js';
import { cooldownEnd, findFormBySlug, lockFormToAnswer } from '../../db/forms.js';
import { statusUrlOf } from '../../auth/status-token.js';
import { checkAnswers } from '../../domain/form.js';
import { isValidDiscordId } from '../../domain/discord-id.js';
import { loadReadinessInputs } from '../../db/readiness.js';
import { bulkRequestDigest, bulkReviewProgress, findBulkReview, insertBulkReview } from '../../db/bulk-reviews.js';
import { findIdempotentResponse } from '../../db/idempotency-keys.js';
import { lifecycleStateOf, type Application } from '../../domain/application.js';
import { retryRefusal } from '../../domain/application-lifecycle.js';
import { grantReadiness, type Readiness } from '../../domain/readiness.js';
import { ReviewRefusedError, requestRoleRetry, reviewApplication, startBulkReview } from '../../temporal/operations.js';
import { retryStepKey } from '../../temporal/shared.js';
import type { AppDeps } from '../deps.js';
import { isErrorCode } from '../error-codes.js';
import { badRequest, HttpError, notFound } from '../errors.js';
import { sharedRateLimit } from '../middleware/rate-limit.js';
import { requireAdmin, requireUser } from '../middleware/session.js';
import {
  applicationSubmission,
  bulkReviewRequest,
  formSubmission,
  publicFormPath,
  idempotencyKey as idempotencyKeySchema,
  listApplicationsQuery,
  reviewRequest,
  stuckAssignmentsQuery,
} from '../schemas.js';
import { parseInput } from '../validation.js';
import { applicantCookieOf, publicOrganization } from './applicants.js';

const uuid = z.uuid();

/**
 * The end of a cooldown as the applicant is told it: the next midnight (UTC) after it, so the answer
 * says the day they may apply again without telling the moment the rejection was made.
 */
const nextUtcMidnight = (at: Date) => {
  const day = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
  return day.getTime() === at.getTime() ? day : new Date(day.getTime() + 86_400_000);
};

/** The default form's address takes answers too (none when the form has no questions). */
const legacySubmission = applicationSubmission.extend({ answers: formSubmission.shape.answers });

/** The applicant was rejected on this form less than its cooldown ago: they may apply again at `until`. */
class CooldownError extends Error {
  constructor(readonly until: Date) {
    super('cooldown');
  }
}

// Postgres' text of a timestamptz, e.g. "2026-11-26 18:20:28.123456+00".
const cursorSchema = z.object({
  createdAt: z.string().regex(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}(:\d{2})?$/),
  id: uuid,
});
const invalidCursor = () => badRequest('cursor: is not a cursor this API gave out', 'invalid_cursor');
const encodeCursor = (key: PageKey) => Buffer.from(JSON.stringify(key)).toString('base64url');
function decodeCursor(cursor: string): PageKey {
  try {
    return cursorSchema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
  } catch {
    throw invalidCursor();
  }
}

function organizationOf(req: Request): string {
  const organizationId = req.auth?.user.organizationId;
  if (!organizationId) throw new HttpError('forbidden', 'Your account belongs to no organization.');
  return organizationId;
}

/** The application, if it exists in the caller's organization; another organization's is 404 too. */
async function ownApplication(deps: AppDeps, req: Request): Promise<Application> {
  const id = String(req.params.id);
  const app = uuid.safeParse(id).success ? await findApplication(deps.pool, id, organizationOf(req)) : null;
  if (!app) throw notFound('No such application.');
  return app;
}

/**
 * The applications as the reviewers' lists show them: each pending one with whether approving it
 * would give its roles now (from what the last health check and reconciliation saw), others null.
 */
async function withReadiness(
  deps: AppDeps,
  organizationId: string,
  apps: Application[],
): Promise<Array<Application & { readiness: Readiness | null }>> {
  const inputs = await loadReadinessInputs(
    deps.pool,
    organizationId,
    apps.filter((a) => a.status === 'Pending'),
  );
  return apps.map((app) => {
    const input = app.status === 'Pending' ? inputs.get(app.id) : undefined;
    return { ...app, readiness: input ? grantReadiness(input) : null };
  });
}

function alreadyApplied(live: Application): HttpError {
  return new HttpError(
    'already_applied',
    `You already applied here with this Discord account: that application is ${
      live.status === 'Pending' ? 'waiting for review' : 'approved'
    } (status ${live.status}).`,
  );
}

function reviewError(err: unknown): HttpError {
  if (err instanceof ReviewRefusedError) {
    if (err.type === 'not_found') return notFound('No such application.');
    // idempotency_key_reused, database_unavailable, invalid_transition: each with its own status.
    return new HttpError(isErrorCode(err.type) ? err.type : 'invalid_transition', err.message);
  }
  throw err;
}

/**
 * The request's idempotency key, scoped to the signed-in user: the `Idempotency-Key` header when
 * the client sends one (a repeated request with it gets the first answer), else a new one.
 */
function idempotencyKeyOf(req: Request): { key: string; fromClient: boolean } {
  const header = req.get('idempotency-key');
  const userId = req.auth!.user.id;
  if (header === undefined) return { key: `${userId}:${randomUUID()}`, fromClient: false };
  const parsed = parseInput(idempotencyKeySchema, header, { root: 'Idempotency-Key', code: 'invalid_idempotency_key' });
  return { key: `${userId}:${parsed}`, fromClient: true };
}

export function applicationsRouter(deps: AppDeps): Router {
  const router = Router();

  // One limit for both addresses of the public form: 30 applications a minute per client.
  const publicFormLimit = sharedRateLimit(deps.pool, 'public-form', {
    windowMs: 60_000,
    limit: 30,
    handler: (_req, res) => {
      res.status(429).json({
        error: { code: 'too_many_requests', message: 'Too many applications from here. Please wait a minute.' },
      });
    },
  });

  /**
   * Stores an application to one form of the organization (`formSlug` null: its default form), its
   * answers checked against the form's current version, read and share-locked in the same
   * transaction (an edit of the form waits, then makes a new version). Refused with 409 `cooldown`
   * when the applicant was rejected on this form less than its cooldown ago.
   */
  const submit = async (req: Request, res: Response, formSlug: string | null) => {
    const body = parseInput(formSlug === null ? legacySubmission : formSubmission, req.body);
    const org = await publicOrganization(deps, String(req.params.slug));
    // An unknown form is a 404 before anything else is said.
    if (
      formSlug !== null &&
      !(
        publicFormPath.shape.formSlug.safeParse(formSlug).success && (await findFormBySlug(deps.pool, org.id, formSlug))
      )
    ) {
      throw notFound('No such form.');
    }
    const { discordUserId, discord_user_id: typedId, ...rest } = body.custom_data;
    const cookieToken = applicantCookieOf(req);
    const signIn = await lookupApplicantSession(deps.pool, cookieToken, org.id);
    if (!signIn && org.requireDiscordSignIn) {
      throw new HttpError(
        'discord_sign_in_required',
        'Sign in with Discord first: this organization gives its role only to the account that applied.',
      );
    }
    if (signIn) {
      // One live application per account: the existing one says where it stands.
      const live = await findLiveApplicationOfAccount(deps.pool, org.id, signIn.account.id);
      if (live) throw alreadyApplied(live);
    }
    const typed = typedId ?? discordUserId;
    let app;
    try {
      app = await withTransaction(deps.pool, async (tx) => {
        const form = await lockFormToAnswer(tx, org.id, formSlug);
        if (!form) throw notFound('No such form.');
        // The answers first: a 409 to a submission that would be refused anyway would tell anyone
        // who tries an email (or a Discord ID) whether that person was rejected here.
        const checked = checkAnswers(form, body.answers);
        if (!checked.ok) throw badRequest(checked.message);
        const until = await cooldownEnd(tx, {
          formId: form.id,
          cooldownDays: form.cooldownDays,
          email: body.applicant.email,
          discordUserId: signIn?.account.id ?? (typeof typed === 'string' && isValidDiscordId(typed) ? typed : null),
        });
        if (until) throw new CooldownError(nextUtcMidnight(until));
        const inserted = await insertApplication(tx, {
          organizationId: org.id,
          name: body.applicant.name,
          email: body.applicant.email,
          // The verified account replaces any ID in the body; a typed one is kept as typed.
          customData: signIn ? rest : { ...rest, ...(typed ? { discord_user_id: typed } : {}) },
          verifiedAccount: signIn?.account,
          form: { id: form.id, version: form.version, answers: checked.answers },
        });
        await appendAuditLog(tx, {
          organizationId: org.id,
          actorUserId: null,
          action: 'application.submitted',
          subjectType: 'application',
          subjectId: inserted.id,
          details: {
            formId: form.id,
            formVersion: form.version,
            ...(signIn ? { discordUserId: signIn.account.id } : {}),
          },
        });
        if (signIn) {
          await moveApplicantTokens(tx, { signIn, applicationId: inserted.id, key: deps.config.tokenEncryptionKey });
        }
        return inserted;
      });
    } catch (err) {
      if (err instanceof CooldownError) {
        const seconds = Math.max(1, Math.ceil((err.until.getTime() - Date.now()) / 1000));
        res.setHeader('Retry-After', String(seconds));
        res.status(409).json({
          error: {
            code: 'cooldown',
            message: `You may apply again on ${err.until.toISOString().slice(0, 10)}.`,
            retryAfter: err.until.toISOString(),
          },
        });
        return;
      }
      // Two submissions of one account at once: the second meets the unique index.
      if ((err as { constraint?: string }).constraint === 'applications_one_live_per_account' && signIn) {
        const live = await findLiveApplicationOfAccount(deps.pool, org.id, signIn.account.id);
        throw live
          ? alreadyApplied(live)
          : new HttpError('already_applied', 'You already applied here with this Discord account.');
      }
      if (err instanceof ApplicantSignInUnusableError && signIn) {
        await endApplicantSession(deps.pool, signIn);
        res.setHeader('Set-Cookie', clearedApplicantSessionCookie(deps.config));
        throw new HttpError('discord_sign_in_required', 'Your Discord sign-in has expired: sign in again.');
      }
      throw err;
    }
    // The sign-in served this application: another one needs a new sign-in.
    if (signIn) res.setHeader('Set-Cookie', clearedApplicantSessionCookie(deps.config));
    res.status(201).json({ id: app.id, status: app.status, statusUrl: statusUrlOf(deps.config, app.id) });
  };

  // The organization's default form (the address of the public form before forms existed).
  router.post('/public/organizations/:slug/applications', publicFormLimit, (req, res) => submit(req, res, null));
  router.post('/public/organizations/:slug/forms/:formSlug/applications', publicFormLimit, (req, res) =>
    submit(req, res, String(req.params.formSlug)),
  );

  router.get('/applications', requireUser, async (req, res) => {
    const q = parseInput(listApplicationsQuery, req.query);
    const rows = await listApplications(deps.pool, {
      organizationId: organizationOf(req),
      status: q.status,
      formId: q.formId,
      limit: q.limit + 1,
      after: q.cursor ? decodeCursor(q.cursor) : undefined,
    }).catch((err: { code?: string }) => {
      // A made-up cursor whose time Postgres cannot read (month 13, year 0): not one we gave out.
      if (q.cursor && ['22007', '22008', '22009'].includes(err.code ?? '')) throw invalidCursor();
      throw err;
    });
    // One more than asked says whether a next page exists, without counting.
    const page = rows.slice(0, q.limit);
    res.json({
      items: await withReadiness(
        deps,
        organizationOf(req),
        page.map((r) => r.application),
      ),
      nextCursor: rows.length > q.limit ? encodeCursor(page[page.length - 1]!.key) : null,
    });
  });

  router.get('/applications/:id', requireUser, async (req, res) => {
    const [app] = await withReadiness(deps, organizationOf(req), [await ownApplication(deps, req)]);
    res.json(app);
  });

  router.post('/applications/:id/review', requireUser, async (req, res) => {
    const review = parseInput(reviewRequest, req.body);
    const { key } = idempotencyKeyOf(req);
    const app = await ownApplication(deps, req);
    try {
      res.json(
        await reviewApplication(deps, {
          application: app,
          review: {
            decision: review.decision,
            note: review.note ?? undefined,
            reviewerId: req.auth!.user.id,
            requestId: key,
          },
        }),
      );
    } catch (err) {
      throw reviewError(err);
    }
  });

  // Up to 10,000 IDs (about 400 KB): the larger body is read only for a signed-in user.
  router.post('/applications/bulk-review', requireUser, express.json({ limit: '1mb' }), async (req, res) => {
    const body = parseInput(bulkReviewRequest, req.body);
    const organizationId = organizationOf(req);
    const { key } = idempotencyKeyOf(req);
    // Stored, and its intake workflow started, before the answer: started inside the transaction,
    // so a bulk that is not stored has no workflow either (its first step finds no row, and stops).
    const { bulk, created } = await withTransaction(deps.pool, async (tx) => {
      const stored = await insertBulkReview(tx, {
        id: randomUUID(),
        organizationId,
        requestedBy: req.auth!.user.id,
        idempotencyKey: key,
        decision: body.decision,
        note: body.note ?? null,
        ids: body.ids,
      });
      if (stored.created) {
        await startBulkReview(deps, { bulkReviewId: stored.bulk.id, organizationId, total: stored.bulk.total });
      }
      return stored;
    });
    if (!created) {
      if (
        bulk.requestDigest !== bulkRequestDigest({ ids: body.ids, decision: body.decision, note: body.note ?? null })
      ) {
        throw new HttpError(
          'idempotency_key_reused',
          'This Idempotency-Key was already used for a different bulk review.',
        );
      }
      // The same request again: if its intake stopped before the end, it goes on.
      if (!bulk.recordedAt) await startBulkReview(deps, { bulkReviewId: bulk.id, organizationId, total: bulk.total });
    }
    res.status(202).location(`/api/bulk-reviews/${bulk.id}`).json({ bulkId: bulk.id });
  });

  router.get('/bulk-reviews/:id', requireUser, async (req, res) => {
    const id = req.params.id as string;
    const bulk = uuid.safeParse(id).success ? await findBulkReview(deps.pool, id, organizationOf(req)) : null;
    if (!bulk) throw notFound('No such bulk review.');
    res.json(await bulkReviewProgress(deps.pool, bulk));
  });

  router.post('/applications/:id/retry-role', requireUser, async (req, res) => {
    const { key, fromClient } = idempotencyKeyOf(req);
    const app = await ownApplication(deps, req);
    // The same request again, after the workflow took the first one: the first answer.
    if (fromClient && (await findIdempotentResponse(deps.pool, retryStepKey(app.id, key)))) {
      res.status(202).json(app);
      return;
    }
    const refusal = retryRefusal(lifecycleStateOf(app));
    if (refusal) throw new HttpError(refusal.code, refusal.message);
    await requestRoleRetry(deps, {
      applicationId: app.id,
      organizationId: app.organizationId,
      request: { requestId: key, requestedBy: req.auth!.user.id },
    });
    // The workflow takes it from here: the answer is the application as stored now.
    res.status(202).json(app);
  });

  router.get('/ops/stuck-assignments', requireAdmin, async (req, res) => {
    const q = parseInput(stuckAssignmentsQuery, req.query);
    res.json({ items: await listStuckAssignments(deps.pool, { organizationId: organizationOf(req), ...q }) });
  });

  return router;
}
