import { Router } from 'express';
import { z } from 'zod';
import { applicationAuditTrail, listAuditLog } from '../../db/audit-log.js';
import { findApplication } from '../../db/applications.js';
import { timelineDetail } from '../../domain/timeline.js';
import type { AppDeps } from '../deps.js';
import { forbidden, notFound } from '../errors.js';
import { requireAdmin, requireUser } from '../middleware/session.js';
import { auditLogQuery } from '../schemas.js';
import { parseInput } from '../validation.js';

/** An application's history is a few dozen entries; a pathological one is cut here. */
const TIMELINE_LIMIT = 1_000;
const applicationIdParam = z.object({ id: z.uuid() });

/**
 * The audit log read back: an application's timeline for its reviewers, and the organization's
 * whole log for its admins, filtered by application, user, action and time.
 */
export function auditRouter(deps: AppDeps): Router {
  const router = Router();
  const organizationOf = (organizationId: string | null | undefined) => {
    if (!organizationId) throw forbidden('Your account belongs to no organization.');
    return organizationId;
  };

  router.get('/applications/:id/timeline', requireUser, async (req, res) => {
    const organizationId = organizationOf(req.auth!.user.organizationId);
    const parsed = applicationIdParam.safeParse(req.params);
    if (!parsed.success) throw notFound('No such application.');
    const application = await findApplication(deps.pool, parsed.data.id, organizationId);
    if (!application) throw notFound('No such application.');
    const entries = await applicationAuditTrail(deps.pool, {
      organizationId,
      applicationId: application.id,
      limit: TIMELINE_LIMIT,
    });
    res.json({
      items: entries.map((entry) => ({
        at: entry.at.toISOString(),
        action: entry.action,
        actor: entry.actor,
        detail: timelineDetail(entry),
      })),
    });
  });

  router.get('/audit-log', requireAdmin, async (req, res) => {
    const q = parseInput(auditLogQuery, req.query);
    const organizationId = organizationOf(req.auth!.user.organizationId);
    // One row more than asked tells whether another page follows.
    const rows = await listAuditLog(deps.pool, {
      organizationId,
      applicationId: q.applicationId,
      actorUserId: q.userId,
      action: q.action,
      after: q.after ? new Date(q.after) : undefined,
      before: q.before ? new Date(q.before) : undefined,
      beforeId: q.cursor,
      limit: q.limit + 1,
    });
    const page = rows.slice(0, q.limit);
    res.json({
      items: page.map((entry) => ({ ...entry, at: entry.at.toISOString() })),
      nextCursor: rows.length > q.limit ? page[page.length - 1]!.id : null,
    });
  });

  return router;
}
