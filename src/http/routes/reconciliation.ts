import { Router } from 'express';
import { listReconciliationRuns } from '../../db/reconciliation.js';
import type { AppDeps } from '../deps.js';
import { forbidden } from '../errors.js';
import { requireAdmin } from '../middleware/session.js';
import { reconciliationRunsQuery } from '../schemas.js';
import { parseInput } from '../validation.js';

/** The organization's reconciliations (scheduled, Check now, re-apply): what each compared and repaired (admins). */
export function reconciliationRouter(deps: AppDeps): Router {
  const router = Router();

  router.get('/reconciliation-runs', requireAdmin, async (req, res) => {
    const q = parseInput(reconciliationRunsQuery, req.query);
    const organizationId = req.auth!.user.organizationId;
    if (!organizationId) throw forbidden('Your account belongs to no organization.');
    const runs = await listReconciliationRuns(deps.pool, organizationId, { limit: q.limit });
    res.json({
      items: runs.map((run) => ({
        id: run.id,
        trigger: run.trigger,
        workflowId: run.workflowId,
        runId: run.runId,
        startedAt: run.startedAt.toISOString(),
        finishedAt: run.finishedAt?.toISOString() ?? null,
        memberSource: run.memberSource,
        membersChecked: run.membersChecked,
        requests: run.requests,
        driftFound: run.driftFound,
        repaired: run.repaired,
        reported: run.reported,
        membersLeft: run.membersLeft,
        failed: run.failed,
        findings: run.findings.map((f) => ({ kind: f.kind, message: f.message })),
        error: run.error,
      })),
    });
  });

  return router;
}
