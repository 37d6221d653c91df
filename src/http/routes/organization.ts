import { Router } from 'express';
import { z } from 'zod';
import { appendAuditLog } from '../../db/audit-log.js';
import { findOrganizationByIdOrSlug, updateOrganizationSettings } from '../../db/organizations.js';
import { withTransaction } from '../../db/pool.js';
import type { AppDeps } from '../deps.js';
import { badRequest, HttpError } from '../errors.js';
import { requireAdmin } from '../middleware/session.js';

const settingsSchema = z
  .object({
    /** Applicants must sign in with Discord on the public form. */
    requireDiscordSignIn: z.boolean(),
  })
  .partial()
  .strict();

/** The organization's settings (admins). */
export function organizationRouter(deps: AppDeps): Router {
  const router = Router();

  const organizationIdOf = (organizationId: string | null) => {
    if (!organizationId) throw new HttpError(403, 'forbidden', 'Your account belongs to no organization.');
    return organizationId;
  };

  router.get('/organization/settings', requireAdmin, async (req, res) => {
    const org = await findOrganizationByIdOrSlug(deps.pool, organizationIdOf(req.auth!.user.organizationId));
    if (!org) throw new HttpError(404, 'not_found', 'No such organization.');
    res.json({ requireDiscordSignIn: org.requireDiscordSignIn });
  });

  router.patch('/organization/settings', requireAdmin, async (req, res) => {
    const parsed = settingsSchema.safeParse(req.body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue?.path.join('.') || (issue && 'keys' in issue ? (issue.keys as string[]).join(', ') : '');
      throw badRequest(`${field ? `${field}: ` : ''}${issue?.message ?? 'invalid settings'}`);
    }
    const organizationId = organizationIdOf(req.auth!.user.organizationId);
    const settings = await withTransaction(deps.pool, async (tx) => {
      const updated = await updateOrganizationSettings(tx, organizationId, parsed.data);
      await appendAuditLog(tx, {
        organizationId,
        actorUserId: req.auth!.user.id,
        action: 'organization.settings_changed',
        subjectType: 'organization',
        subjectId: organizationId,
        details: parsed.data,
      });
      return updated;
    });
    res.json(settings);
  });

  return router;
}
