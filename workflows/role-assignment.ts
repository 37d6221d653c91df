import {
  allHandlersFinished,
  condition,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { DatabaseActivities, DiscordActivities, RoleAction } from '../activities';
import type { Application } from '../src/domain/application';
import { RoleAssignmentStateKey } from '../src/temporal/search-attributes';
import {
  retrySignal,
  reviewUpdate,
  roleAssignmentQuery,
  type RoleAssignmentProgress,
  type RoleWorkflowInput,
} from '../src/temporal/shared';
import { summarizeFailure, type FailureSummary } from './errors';

// Postgres writes run as local activities: retried by the worker until the database answers,
// without a round trip through the task queue.
const db = proxyLocalActivities<DatabaseActivities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '30s' },
});

/** 1 min, 5 min, 30 min, then hourly for 7 days: an applicant usually joins the server within that. */
export const DEFAULT_MEMBER_RECHECK_DELAYS_MS = [60_000, 300_000, 1_800_000, ...Array<number>(7 * 24).fill(3_600_000)];

/**
 * Grants (or, after a reversal, takes back) the Approved role for one application. ID
 * `application-role:<applicationId>`. Reviews arrive as updates (the first one with the start),
 * manual retries as signals; the query returns the live state. The workflow writes every status
 * change of the application, so none can be left without the workflow that finishes it.
 */
export async function applicationRoleWorkflow(
  input: RoleWorkflowInput & { discordTaskQueue: string },
): Promise<RoleAssignmentProgress> {
  const discord = proxyActivities<DiscordActivities>({
    taskQueue: input.discordTaskQueue,
    // @discordjs/rest aborts a call after 10 s; this bound only catches a stuck worker.
    startToCloseTimeout: '15s',
    // Transient failures (5xx, timeouts, 429 after exactly retry_after) are retried for up to an
    // hour; then the assignment is reported failed and waits for a manual retry.
    scheduleToCloseTimeout: '1h',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
  });
  const recheckDelays = input.memberRecheckDelaysMs ?? DEFAULT_MEMBER_RECHECK_DELAYS_MS;

  const progress: RoleAssignmentProgress = {
    applicationId: input.applicationId,
    status: null,
    roleStatus: null,
    step: 'idle',
    error: null,
    errorType: null,
    manualRetries: 0,
    automaticRechecks: 0,
  };
  let next: RoleAction | null = null;
  /** Bumped by every review, so the main loop notices a decision that arrived while it was busy. */
  let generation = 0;
  let retryRequested: { requestedBy: string } | null = null;

  const observe = (app: Application | null) => {
    if (!app) return;
    // Compared with the attribute itself: the API starts the workflow with the state it expects,
    // and every upsert is a history event and a visibility write.
    const changed = app.roleAssignment.status !== workflowInfo().typedSearchAttributes.get(RoleAssignmentStateKey);
    progress.status = app.status;
    progress.roleStatus = app.roleAssignment.status;
    progress.error = app.roleAssignment.error;
    progress.manualRetries = app.roleAssignment.retryCount;
    if (changed) upsertSearchAttributes([{ key: RoleAssignmentStateKey, value: app.roleAssignment.status }]);
  };

  setHandler(roleAssignmentQuery, () => progress);
  setHandler(retrySignal, (request) => {
    retryRequested = request;
  });
  setHandler(
    reviewUpdate,
    async (review) => {
      const { application, next: action } = await db.recordReview({
        ...review,
        applicationId: input.applicationId,
        organizationId: input.organizationId,
      });
      observe(application);
      generation += 1;
      next = action;
      if (application.roleAssignment.status === 'failed') progress.errorType = 'invalid_discord_id';
      return application;
    },
    {
      validator: (review) => {
        if (review.decision !== 'approve' && review.decision !== 'reject')
          throw new Error('decision must be approve or reject');
      },
    },
  );

  // Let the review that started this run (update-with-start) finish its first step.
  await condition(allHandlersFinished);

  // Started without a review (a retry signal-with-start, or a reset): resume from the stored row.
  let waiting = false;
  if (generation === 0) {
    const app = await db.loadApplication({ applicationId: input.applicationId });
    observe(app);
    if (app.roleAssignment.status === 'failed' || app.roleAssignment.status === 'pending') {
      next = app.status === 'Rejected' ? 'revoke' : 'grant';
      waiting = app.roleAssignment.status === 'failed';
    }
  }
  let autoRecheck = false;

  while (next !== null) {
    if (waiting) {
      const seen = generation;
      const delay = autoRecheck ? recheckDelays[progress.automaticRechecks] : undefined;
      progress.step = autoRecheck ? 'waiting_for_member' : 'waiting_for_retry';
      const woken =
        delay === undefined
          ? await condition(() => retryRequested !== null || generation !== seen)
          : await condition(() => retryRequested !== null || generation !== seen, delay);
      if (generation !== seen) {
        waiting = false;
        continue; // a new review decided what comes next
      }
      const manual = retryRequested as { requestedBy: string } | null;
      retryRequested = null;
      if (manual) {
        const app = await db.beginManualRetry({ applicationId: input.applicationId, requestedBy: manual.requestedBy });
        if (!app) continue; // no retries left, or nothing to retry: keep waiting
        observe(app);
      } else if (!woken) {
        progress.automaticRechecks += 1;
      }
      waiting = false;
    }

    const action: RoleAction = next;
    const seen = generation;
    progress.step = action === 'grant' ? 'granting' : 'revoking';
    let failure: FailureSummary | null = null;
    try {
      await discord.changeMemberRole({
        applicationId: input.applicationId,
        organizationId: input.organizationId,
        action,
      });
    } catch (err) {
      failure = summarizeFailure(err);
    }
    if (generation !== seen) continue; // reviewed again meanwhile: its decision wins

    // An automatic re-check that finds the member still missing changes nothing stored.
    const quietRecheck = failure?.type === 'unknown_member' && autoRecheck && progress.roleStatus === 'failed';
    if (!quietRecheck) {
      const app = await db.recordRoleResult({
        applicationId: input.applicationId,
        action,
        outcome: failure ? 'failed' : 'success',
        error: failure?.message,
      });
      observe(app);
    }
    if (generation !== seen) continue;
    if (!failure) {
      progress.error = null;
      progress.errorType = null;
      next = null;
      break;
    }
    progress.errorType = failure.type;
    waiting = true;
    autoRecheck = failure.type === 'unknown_member' && progress.automaticRechecks < recheckDelays.length;
  }

  await condition(allHandlersFinished);
  progress.step = 'done';
  return progress;
}
