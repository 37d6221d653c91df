import {
  continueAsNew,
  ParentClosePolicy,
  proxyActivities,
  startChild,
  proxyLocalActivities,
  setHandler,
  sleep,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type {
  BatchResult,
  DatabaseActivities,
  ReconciliationActivities,
  ReconciliationSummary,
} from '../activities/index.js';
import type { GuildRoles, HealthFinding } from '../src/domain/bot-health.js';
import {
  reconciliationProgressQuery,
  type ReconcileInput,
  type ReconciliationProgress,
} from '../src/temporal/shared.js';
import { OrganizationIdKey } from '../src/temporal/search-attributes.js';
import { summarizeFailure } from './errors.js';
import { redriveAssignmentsWorkflow } from './redrive.js';

const db = proxyLocalActivities<DatabaseActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 10 },
});

/** Batches per run: a long comparison continues as new, so its history stays a few dozen events. */
const BATCHES_PER_RUN = 20;
/** One-by-one checks are spread over this share of the period (the rest is slack before the next run). */
const SPREAD_SHARE = 0.8;

/**
 * Compares Discord with the stored decisions for one organization. Started hourly by its schedule
 * (`reconcile:<organizationId>`, overlap SKIP), or by an admin's re-apply of the roles
 * (`reconcile-reapply:<organizationId>`).
 *
 * 1. The health check (on the connection queue): the bot removed, the token refused, Manage Roles
 *    lost, a chosen role deleted, unsafe or above the bot. Any finding puts the connection in
 *    `error` with its sentence: grants pause until an admin fixes it and presses Check now.
 * 2. The members (on the background queue, at low priority): pages of List Guild Members when the
 *    bot has the Server Members intent, else the approved members one by one, spread over the
 *    period. Missing roles are given back (or, per the organization's setting, reported), roles a
 *    reversal should have taken are taken, members who left are marked (their grant is re-checked
 *    automatically and given back when they return). Each drift is audited once.
 */
export async function reconcileOrganizationWorkflow(input: ReconcileInput): Promise<ReconciliationSummary | null> {
  const checks = proxyActivities<ReconciliationActivities>({
    taskQueue: input.discordTaskQueue,
    startToCloseTimeout: '60s',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 5 },
  });
  const background = proxyActivities<ReconciliationActivities>({
    taskQueue: input.backgroundTaskQueue,
    // A batch's requests wait for idle slots of the shared rate: minutes when grants are busy.
    startToCloseTimeout: '15 minutes',
    heartbeatTimeout: '2 minutes',
    retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
    // Below the default (3): a server that orders tasks by priority serves grants first.
    priority: { priorityKey: 5 },
  });
  const progress: ReconciliationProgress = {
    runId: input.resume?.runId ?? null,
    step: 'starting',
    batch: input.resume?.batch ?? 0,
    source: input.resume?.source ?? null,
    membersChecked: 0,
  };
  setHandler(reconciliationProgressQuery, () => progress);
  const { organizationId } = input;

  let resume = input.resume;
  if (!resume) {
    const runId = uuid4();
    progress.runId = runId;
    const begun = await db.beginReconciliation({
      runId,
      organizationId,
      trigger: input.trigger,
      workflowId: workflowInfo().workflowId,
      firstRunId: workflowInfo().runId,
    });
    const finish = (error?: string) => {
      progress.step = 'done';
      return db.finishReconciliation({ runId, error: error ?? null });
    };
    if ((begun.state !== 'connected' && begun.state !== 'error') || !begun.guildId) {
      return await finish('Discord is not connected: nothing to compare.');
    }
    progress.step = 'checking_health';
    let health: { findings: HealthFinding[]; tokenAcceptedAgain: boolean };
    try {
      health = await checks.checkBotHealth({ organizationId });
    } catch (err) {
      return await finish(`The health check could not finish: ${summarizeFailure(err).message}`);
    }
    await db.recordHealth({ runId, findings: health.findings });
    const first = health.findings[0];
    if (first) {
      await db.pauseForHealth({ organizationId, guildId: begun.guildId, message: first.message });
      return await finish();
    }
    if (health.tokenAcceptedAgain) {
      // Discord refused the bot token until now: what it held back here runs again.
      await startChild(redriveAssignmentsWorkflow, {
        workflowId: `redrive-assignments:${organizationId}:${workflowInfo().runId}`,
        args: [{ organizationId }],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        typedSearchAttributes: [{ key: OrganizationIdKey, value: organizationId }],
      });
    }
    // Paused (by the breaker, or an earlier check): an admin's Check now resumes it, not this run.
    if (begun.state !== 'connected') return await finish();
    resume = {
      runId,
      firstRunId: workflowInfo().runId,
      batch: 0,
      // Without the Server Members intent (seen by a run of the last day), no listing is tried.
      source: begun.lastMemberSource ?? 'list',
      after: null,
      startedAt: begun.startedAt,
      oneByOneTotal: null,
    };
  }

  const { runId } = resume;
  progress.step = 'comparing_members';
  let { batch, source, after, oneByOneTotal } = resume;
  let result: BatchResult;
  for (let inThisRun = 0; ; inThisRun += 1) {
    if (inThisRun === BATCHES_PER_RUN) {
      return await continueAsNew<typeof reconcileOrganizationWorkflow>({
        ...input,
        resume: { ...resume, batch, source, after, oneByOneTotal },
      });
    }
    const startedAt = Date.now();
    try {
      result = await background.reconcileMembers({
        organizationId,
        runId,
        batch,
        source,
        after,
        reapply: input.trigger === 'reapply',
      });
    } catch (err) {
      await background.handOffFindings({ organizationId, runId });
      progress.step = 'done';
      return await db.finishReconciliation({
        runId,
        error: `The comparison stopped: ${summarizeFailure(err).message}`,
        memberSource: source,
      });
    }
    batch += 1;
    progress.batch = batch;
    progress.membersChecked += result.membersChecked;
    if (result.source !== source) {
      // The listing was refused (no Server Members intent): one by one from the start.
      source = result.source;
      oneByOneTotal = null;
    }
    progress.source = source;
    if (result.stopped || result.next === null) break;
    after = result.next;
    if (source === 'one_by_one' && input.trigger === 'schedule') {
      // Spread over the period: the whole pass takes about SPREAD_SHARE of it.
      oneByOneTotal ??= await db.countReconciliationMembers({ organizationId });
      const batches = Math.max(1, Math.ceil(oneByOneTotal / Math.max(1, result.membersChecked)));
      const pause = (input.periodMs * SPREAD_SHARE) / batches - (Date.now() - startedAt);
      if (pause > 0) await sleep(pause);
    }
  }

  if (source === 'list' && !result.stopped) {
    // A full listing: approved members it did not see have left the server.
    progress.step = 'marking_gone';
    for (;;) {
      const gone = await background.markMembersGone({ organizationId, runId, batch, listedSince: resume.startedAt });
      batch += 1;
      if (gone.done) break;
    }
  }
  await background.handOffFindings({ organizationId, runId });
  progress.step = 'done';
  return await db.finishReconciliation({ runId, memberSource: source });
}

/** The guild's roles now, for the role picker (ID `discord-roles:<organizationId>`). */
export async function guildRolesWorkflow(input: {
  organizationId: string;
  discordTaskQueue: string;
}): Promise<GuildRoles> {
  const checks = proxyActivities<ReconciliationActivities>({
    taskQueue: input.discordTaskQueue,
    startToCloseTimeout: '30s',
    retry: { initialInterval: '1s', maximumInterval: '5s', maximumAttempts: 3 },
  });
  return await checks.fetchGuildRoles({ organizationId: input.organizationId });
}
