import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Router, type Request } from 'express';
import { stringify } from 'csv-stringify';
import { z } from 'zod';
import { appendAuditLog } from '../../db/audit-log.js';
import type { Organization } from '../../db/organizations.js';
import {
  exportPage,
  findForm,
  findFormBySlug,
  FormSlugTakenError,
  insertForm,
  listForms,
  questionsOfAllVersions,
  updateForm,
  type ExportRow,
  type Form,
} from '../../db/forms.js';
import { withTransaction } from '../../db/pool.js';
import { answerText, repeatedQuestionIds, type FormInput } from '../../domain/form.js';
import type { AppDeps } from '../deps.js';
import { HttpError, notFound } from '../errors.js';
import { sharedRateLimit } from '../middleware/rate-limit.js';
import { requireAdmin, requireUser } from '../middleware/session.js';
import { exportQuery, formQuery, formRequest, publicFormPath } from '../schemas.js';
import { parseInput } from '../validation.js';
import { publicOrganization } from './applicants.js';

/** A form as the API shows it. */
const viewOf = ({ currentVersion: _current, ...form }: Form) => form;

function organizationOf(req: Request): string {
  const organizationId = req.auth?.user.organizationId;
  if (!organizationId) throw new HttpError('forbidden', 'Your account belongs to no organization.');
  return organizationId;
}

/** The form definition of a request, or 400 (a field) / 422 (two questions with one id). */
function formInputOf(body: unknown): FormInput {
  const input = parseInput(formRequest, body);
  const [repeated] = repeatedQuestionIds(input.questions);
  if (repeated) {
    throw new HttpError(
      'duplicate_question_id',
      `questions.${repeated[0]}.id: "${repeated[1]}" is the id of an earlier question; each question needs its own`,
    );
  }
  return input;
}

const slugTaken = (err: unknown): never => {
  if (err instanceof FormSlugTakenError) {
    throw new HttpError('form_slug_taken', `slug: another form of this organization is at "${err.slug}"`);
  }
  throw err;
};

/**
 * A CSV cell that a spreadsheet would read as a formula (`=`, `+`, `-`, `@`, or their full-width
 * forms, first or after leading spaces, which some spreadsheets trim; or a tab, carriage return or
 * line feed first) gets a `'` in front, so it is shown as text (OWASP's "CSV injection").
 */
export const neutralised = (cell: string) =>
  /^(?:[\s\u00a0\ufeff]*[=+\-@\uff1d\uff0b\uff0d\uff20]|[\t\r\n])/.test(cell) ? `'${cell}` : cell;

const EXPORT_PAGE = 500;

/** Forms (admins write, reviewers read), the CSV export, and the public form's questions. */
export function formsRouter(deps: AppDeps): Router {
  const router = Router();
  const { pool } = deps;

  router.get('/forms', requireUser, async (req, res) => {
    res.json({ items: (await listForms(pool, organizationOf(req))).map(viewOf) });
  });

  router.post('/forms', requireAdmin, async (req, res) => {
    const input = formInputOf(req.body);
    const organizationId = organizationOf(req);
    const created = await withTransaction(pool, async (tx) => {
      const form = await insertForm(tx, organizationId, input);
      await appendAuditLog(tx, {
        organizationId,
        actorUserId: req.auth!.user.id,
        action: 'form.created',
        subjectType: 'form',
        subjectId: form.id,
        details: { slug: form.slug, title: form.title, version: form.version, questions: form.questions.length },
      });
      return form;
    }).catch(slugTaken);
    res.status(201).json(viewOf(created));
  });

  router.get('/forms/:formId', requireUser, async (req, res) => {
    const organizationId = organizationOf(req);
    const { version } = parseInput(formQuery, req.query);
    const id = z.uuid().safeParse(req.params.formId);
    const form = id.success ? await findForm(pool, organizationId, id.data, version) : null;
    if (!form) throw notFound(version ? 'No such form, or no such version of it.' : 'No such form.');
    res.json(viewOf(form));
  });

  router.put('/forms/:formId', requireAdmin, async (req, res) => {
    const organizationId = organizationOf(req);
    const id = z.uuid().safeParse(req.params.formId);
    if (!id.success) throw notFound('No such form.');
    const input = formInputOf(req.body);
    const updated = await withTransaction(pool, async (tx) => {
      const result = await updateForm(tx, organizationId, id.data, input);
      if (!result) throw notFound('No such form.');
      await appendAuditLog(tx, {
        organizationId,
        actorUserId: req.auth!.user.id,
        action: 'form.updated',
        subjectType: 'form',
        subjectId: result.form.id,
        details: {
          slug: result.form.slug,
          title: result.form.title,
          version: result.form.version,
          newVersion: result.newVersion,
          questions: result.form.questions.length,
        },
      });
      return result.form;
    }).catch(slugTaken);
    res.json(viewOf(updated));
  });

  // Before `/applications/:id` (this router is mounted first): `export.csv` is not an application's id.
  router.get('/applications/export.csv', requireAdmin, async (req, res) => {
    const organizationId = organizationOf(req);
    const { formId } = parseInput(exportQuery, req.query);
    const form = await findForm(pool, organizationId, formId);
    if (!form) throw notFound('No such form.');
    // Every applicant's personal data leaves in this file: who took it, and when, is recorded.
    await appendAuditLog(pool, {
      organizationId,
      actorUserId: req.auth!.user.id,
      action: 'form.exported',
      subjectType: 'form',
      subjectId: form.id,
      details: { formSlug: form.slug, version: form.version },
    });
    // The current version's questions in its order, then those only older versions had.
    const questions = await questionsOfAllVersions(pool, form.id);
    const header = [
      'id',
      'submitted at',
      'status',
      'role status',
      'name',
      'email',
      'Discord user id',
      'verified',
      'reviewed by',
      'reviewed at',
      'note',
      'form version',
      ...questions.map((q) => q.label),
    ];
    const cells = (row: ExportRow) => [
      row.id,
      row.createdAt,
      row.status,
      row.roleStatus,
      row.name,
      row.email,
      row.discordUserId ?? '',
      row.verified ? 'yes' : 'no',
      row.reviewedBy ?? '',
      row.reviewedAt ?? '',
      row.note ?? '',
      String(row.formVersion),
      ...questions.map((q) => (Object.hasOwn(row.answers, q.id) ? answerText(row.answers[q.id]) : '')),
    ];
    // Page by page, as the client reads: the rows are never all in memory.
    async function* rows() {
      yield header.map(neutralised);
      let after: ExportRow['key'] | null = null;
      for (;;) {
        const page = await exportPage(pool, { organizationId, formId: form!.id, after, limit: EXPORT_PAGE });
        for (const row of page) yield cells(row).map(neutralised);
        if (page.length < EXPORT_PAGE) return;
        after = page[page.length - 1]!.key;
      }
    }
    res.status(200);
    res.setHeader('Content-Type', 'text/csv; charset=utf-8');
    res.setHeader('Content-Disposition', `attachment; filename="${form.slug}-applications.csv"`);
    try {
      await pipeline(Readable.from(rows()), stringify({ bom: true, record_delimiter: 'windows' }), res);
    } catch (err) {
      // The answer has begun: it can only be cut short (the client sees an incomplete download).
      req.log.error({ err }, 'CSV export failed');
      res.destroy();
    }
  });

  const publicFormAnswer = (org: Organization, form: Form) => ({
    organization: { slug: org.slug, name: org.name, requireDiscordSignIn: org.requireDiscordSignIn },
    form: {
      slug: form.slug,
      title: form.title,
      description: form.description,
      version: form.version,
      cooldownDays: form.cooldownDays,
      questions: form.questions,
    },
  });

  // Anyone may read a form, but not without bound: one client, 120 reads a minute.
  const publicReadLimit = sharedRateLimit(pool, 'public-form-read', {
    windowMs: 60_000,
    limit: 120,
    handler: (_req, res) => {
      res.status(429).json({
        error: { code: 'too_many_requests', message: 'Too many requests from here. Please wait a minute.' },
      });
    },
  });

  router.get('/public/organizations/:slug/forms/:formSlug', publicReadLimit, async (req, res) => {
    const org = await publicOrganization(deps, String(req.params.slug));
    const path = publicFormPath.safeParse(req.params);
    const form = path.success ? await findFormBySlug(pool, org.id, path.data.formSlug) : null;
    if (!form) throw notFound('No such form.');
    res.json(publicFormAnswer(org, form));
  });

  // `/apply/<org>`: the default form, whatever its slug now.
  router.get('/public/organizations/:slug/form', publicReadLimit, async (req, res) => {
    const org = await publicOrganization(deps, String(req.params.slug));
    const form = await findFormBySlug(pool, org.id, null);
    if (!form) throw notFound('No such form.');
    res.json(publicFormAnswer(org, form));
  });

  return router;
}
