import { Router } from 'express';
import { appendAuditLog } from '../../db/audit-log.js';
import { findOrganizationByIdOrSlug, updateOrganizationSettings } from '../../db/organizations.js';
import { withTransaction } from '../../db/pool.js';
import type { AppDeps } from '../deps.js';
import { HttpError } from '../errors.js';
import { requireAdmin } from '../middleware/session.js';
import { organizationSettingsPatch } from '../schemas.js';
import { parseInput } from '../validation.js';

/** The organization's settings (admins). */
export function organizationRouter(deps: AppDeps): Router {
  const router = Router();

  const organizationIdOf = (organizationId: string | null) => {
    if (!organizationId) throw new HttpError('forbidden', 'Your account belongs to no organization.');
    return organizationId;
  };

  router.get('/organization/settings', requireAdmin, async (req, res) => {
    const org = await findOrganizationByIdOrSlug(deps.pool, organizationIdOf(req.auth!.user.organizationId));
    if (!org) throw new HttpError('not_found', 'No such organization.');
    res.json({ requireDiscordSignIn: org.requireDiscordSignIn, driftRepair: org.driftRepair });
  });

  router.patch('/organization/settings', requireAdmin, async (req, res) => {
    const patch = parseInput(organizationSettingsPatch, req.body);
    const organizationId = organizationIdOf(req.auth!.user.organizationId);
    const settings = await withTransaction(deps.pool, async (tx) => {
      const updated = await updateOrganizationSettings(tx, organizationId, patch);
      await appendAuditLog(tx, {
        organizationId,
        actorUserId: req.auth!.user.id,
        action: 'organization.settings_changed',
        subjectType: 'organization',
        subjectId: organizationId,
        details: patch,
      });
      return updated;
    });
    res.json(settings);
  });

  return router;
}
