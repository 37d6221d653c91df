import { Mutex } from 'async-mutex';
import {
  ActivityCancellationType,
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  patched,
  continueAsNew,
  currentUpdateInfo,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type {
  DatabaseActivities,
  DiscordActivities,
  EmailActivities,
  RoleChange,
  StepResult,
} from '../activities/index.js';
import { MEMBER_PENDING_MESSAGE } from '../src/domain/discord-messages.js';
import type { Application } from '../src/domain/application.js';
import {
  isRecheckedAutomatically,
  MEMBER_PENDING,
  nextStep,
  retryRefusal,
  type RoleAction,
} from '../src/domain/application-lifecycle.js';
import { RoleAssignmentStateKey } from '../src/temporal/search-attributes.js';
import {
  redriveSignal,
  retrySignal,
  stateChangedSignal,
  retryStepKey,
  reviewStepKey,
  reviewUpdate,
  roleAssignmentQuery,
  type RetryOutcome,
  type RoleAssignmentProgress,
  type RoleWorkflowInput,
  type StoredRoleState,
} from '../src/temporal/shared.js';
import { summarizeFailure, type FailureSummary } from './errors.js';
import { isUuid } from '../src/domain/uuid.js';
import {
  DECISION_EMAIL_ATTEMPT_TIMEOUT,
  DECISION_EMAIL_HEARTBEAT_TIMEOUT,
  DECISION_EMAIL_RETRY,
  type DecisionEmailRequest,
} from '../src/domain/decision-email.js';

/** 1 min, 5 min, 30 min, then hourly for 7 days: an applicant usually joins the server within that. */
export const DEFAULT_MEMBER_RECHECK_DELAYS_MS = [60_000, 300_000, 1_800_000, ...Array<number>(7 * 24).fill(3_600_000)];
const DEFAULT_DATABASE_RETRY_DELAY_MS = 60_000;
/** How long one grant or removal may take, queue time and retries included. */
const ATTEMPT_DEADLINE_MS = 24 * 3_600_000;
const ATTEMPT_DEADLINE_MESSAGE =
  'No Discord worker finished this role change within 24 hours: check that the workers run (Temporal Web UI, task queue role-grants-discord), then retry.';
const MAX_DATABASE_RETRY_DELAY_MS = 600_000;
/** How many retry outcomes the `roleAssignment` query keeps. */
const RECENT_RETRIES = 5;

/**
 * A database step failed even after its retries. Our own refusals are non-retryable application
 * failures (`not_found`, `idempotency_key_reused`); anything else (a connection refused, a pool
 * exhausted, a statement timeout, a step that timed out) means the database is not answering.
 * A local activity's failure reaches the workflow as it was thrown, a timeout wrapped.
 */
function isDatabaseUnavailable(err: unknown): boolean {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return !(cause instanceof ApplicationFailure && cause.nonRetryable);
}

/**
 * Grants (or, after a reversal, takes back) the Approved role for one application. ID
 * `application-role:<applicationId>`. Reviews arrive as updates (the first one with the start), a
 * manual retry as the `retry` signal, a re-drive after a new connection as `redrive`; the
 * `roleAssignment` query returns the live state.
 *
 * Every decision comes from the state machine (src/domain/application-lifecycle.ts) applied to the
 * state stored in Postgres, which each write returns: whatever order reviews, results and retries
 * arrive in, the run acts on the last stored decision. Before a long wait the run continues as new,
 * carrying only that state, so a waiting run's history is a few events long.
 */
export async function applicationRoleWorkflow(input: RoleWorkflowInput): Promise<RoleAssignmentProgress> {
  const discord = proxyActivities<DiscordActivities>({
    taskQueue: input.discordTaskQueue,
    // @discordjs/rest aborts a call after 15 s (its wait for a request slot included); this bound
    // only catches a stuck worker.
    startToCloseTimeout: '30s',
    // A budget of attempts, not of time: waiting in the queue behind a bulk's backlog spends none
    // of it. Transient failures (5xx, timeouts, 429 after exactly retry_after) are retried for about
    // 20 minutes; then the assignment is reported failed and waits for a manual retry.
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 25 },
    // At the deadline, an attempt already running is waited for: what it did at Discord is known
    // before anything is stored.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });
  // Postgres writes run as local activities: no round trip through the task queue. Their retries
  // are bounded: when the database stays away, the run says so in its state and tries again later,
  // instead of retrying invisibly forever.
  const db = proxyLocalActivities<DatabaseActivities>({
    startToCloseTimeout: '10s',
    retry: {
      initialInterval: '500ms',
      backoffCoefficient: 2,
      maximumInterval: '10s',
      maximumAttempts: input.databaseAttempts ?? 8,
    },
  });
  // A reviewer waits for this one: fail sooner, and let them try again.
  const dbForReviews = proxyLocalActivities<DatabaseActivities>({
    startToCloseTimeout: '10s',
    retry: {
      initialInterval: '200ms',
      backoffCoefficient: 2,
      maximumInterval: '2s',
      maximumAttempts: Math.min(input.databaseAttempts ?? 4, 4),
    },
  });
  // Decision emails: a regular activity on this workflow's own task queue (no Discord, no local
  // activity), so a slow or refusing SMTP server holds a slot of its own and never the role's steps.
  const email = proxyActivities<EmailActivities>({
    startToCloseTimeout: DECISION_EMAIL_ATTEMPT_TIMEOUT,
    heartbeatTimeout: DECISION_EMAIL_HEARTBEAT_TIMEOUT,
    retry: { ...DECISION_EMAIL_RETRY, nonRetryableErrorTypes: ['not_found', 'smtp_not_configured'] },
  });
  const { applicationId, organizationId } = input;
  const recheckDelays = input.memberRecheckDelaysMs ?? DEFAULT_MEMBER_RECHECK_DELAYS_MS;
  // The attempt deadline is decided here, in the run's first activation, for the whole run. A
  // patched() call placed after a local activity is not safe: when a query is answered as that
  // local activity finishes, its result reaches the code one workflow task after its marker was
  // recorded, while a replay hands it over in the marker's own task, before that later task's patch
  // marker is known, so patched() answers false there and the replay fails. Runs started before
  // this decision existed still ask patched('attempt-deadline') where they always did.
  const attemptDeadlineFromStart = patched('attempt-deadline-from-start');
  // Decision emails, decided in the first activation for the same reason (the review handler runs
  // after a local activity). Runs started before they existed, or without SMTP_URL, have none.
  const decisionEmailsOn = input.decisionEmails === true && patched('decision-email');

  // Database steps one at a time, so `state` is always the answer of the latest write.
  const lock = new Mutex();
  let state: StoredRoleState | null = input.resume?.state ?? null;
  let automaticRechecks = input.resume?.automaticRechecks ?? 0;
  const progress: RoleAssignmentProgress = {
    applicationId,
    status: null,
    roleStatus: null,
    step: 'starting',
    error: null,
    errorType: null,
    manualRetries: 0,
    automaticRechecks,
    lastRetry: input.resume?.recentRetries.at(-1) ?? null,
    recentRetries: input.resume?.recentRetries ?? [],
  };
  /** This run did something: before it waits, it continues as new with a short history. */
  let continueBeforeWaiting = false;
  const retries: Array<{ requestId: string; requestedBy?: string }> = [];
  let redriveRequested = false;
  /** The stored decision changed outside this run (a bulk review): read it again. */
  let reloadRequested = false;
  /** Decision emails this run started and that have not finished: the run neither ends nor continues as new before them. */
  let emailsInFlight = 0;
  const emailsStarted = new Set<string>();

  const adopt = (next: StoredRoleState) => {
    state = next;
    progress.status = next.status;
    progress.roleStatus = next.roleStatus;
    progress.error = next.error;
    progress.errorType = next.errorType;
    progress.manualRetries = next.retryCount;
    // Compared with the attribute itself: the API starts the workflow with the state it expects,
    // and every upsert is a history event and a visibility write.
    if (next.roleStatus !== workflowInfo().typedSearchAttributes.get(RoleAssignmentStateKey)) {
      upsertSearchAttributes([{ key: RoleAssignmentStateKey, value: next.roleStatus }]);
    }
  };
  if (state) adopt(state);

  const recordRetry = (outcome: RetryOutcome) => {
    progress.lastRetry = outcome;
    progress.recentRetries = [...progress.recentRetries, outcome].slice(-RECENT_RETRIES);
  };
  const refuseQueuedRetries = (reason: string) => {
    for (const r of retries.splice(0)) recordRetry({ requestId: r.requestId, outcome: 'refused', reason });
  };

  /** A database step of the main loop: when the database stays away, wait (visibly) and try again. */
  const dbStep = async <T extends StepResult | StoredRoleState>(fn: () => Promise<T>): Promise<T> => {
    const step = progress.step;
    for (let delay = input.databaseRetryDelayMs ?? DEFAULT_DATABASE_RETRY_DELAY_MS; ;) {
      try {
        const result = await lock.runExclusive(fn);
        progress.step = step;
        adopt('state' in result ? result.state : result);
        return result;
      } catch (err) {
        if (!isDatabaseUnavailable(err)) throw err;
        progress.step = 'database_unavailable';
        progress.error = `The database did not answer (${summarizeFailure(err).message}); trying again in ${Math.round(delay / 1000)} s.`;
        await sleep(delay);
        delay = Math.min(delay * 2, MAX_DATABASE_RETRY_DELAY_MS);
      }
    }
  };

  /**
   * Emails one decision, in the background: the role's steps go on meanwhile. Its retries are
   * Temporal's (a 4xx or a lost connection, with backoff); a 5xx is recorded by the activity and
   * ends the step. The activity sends each decision once (see activities/email.ts).
   */
  const emailDecision = (request: DecisionEmailRequest) => {
    if (emailsStarted.has(request.decisionKey)) return;
    emailsStarted.add(request.decisionKey);
    emailsInFlight += 1;
    void email
      .sendDecisionEmail(request)
      .catch(() => undefined) // failed for good: the decision and the role stand without it
      .finally(() => {
        emailsInFlight -= 1;
      });
  };

  setHandler(roleAssignmentQuery, () => progress);

  setHandler(retrySignal, (request) => {
    // Anything can arrive here (an operator types the payload in the Web UI): keep strings only.
    const requestId =
      typeof request?.requestId === 'string' && request.requestId ? request.requestId.slice(0, 200) : uuid4();
    const requestedBy = typeof request?.requestedBy === 'string' ? request.requestedBy.slice(0, 200) : undefined;
    // Judged when the run next waits (applied to a failure) or finishes (refused): a retry that
    // arrives while an attempt runs may find that attempt failed, as the API saw it in the database.
    retries.push({ requestId, requestedBy });
  });

  setHandler(redriveSignal, () => {
    redriveRequested = true;
  });

  setHandler(stateChangedSignal, () => {
    reloadRequested = true;
  });

  setHandler(
    reviewUpdate,
    async (review) => {
      // The request's idempotency key: a repeated request, even in a later run, gets the first answer.
      const requestId = review.requestId ?? currentUpdateInfo()?.id ?? uuid4();
      let result: StepResult & { answer: Application };
      try {
        result = await lock.runExclusive(() =>
          dbForReviews.recordReview({
            decision: review.decision,
            reviewerId: review.reviewerId,
            note: review.note,
            key: reviewStepKey(applicationId, requestId),
            applicationId,
            organizationId,
          }),
        );
      } catch (err) {
        if (isDatabaseUnavailable(err)) {
          throw ApplicationFailure.nonRetryable(
            'The database did not answer; nothing was decided. Please try again.',
            'database_unavailable',
          );
        }
        throw err;
      }
      adopt(result.state);
      continueBeforeWaiting = true;
      if (result.refusal) throw ApplicationFailure.nonRetryable(result.refusal.message, result.refusal.code);
      if (decisionEmailsOn) {
        emailDecision({
          applicationId,
          decisionKey: requestId,
          decision: review.decision,
          note: review.note ?? null,
        });
      }
      return result.answer;
    },
    {
      validator: (review) => {
        if (review.decision !== 'approve' && review.decision !== 'reject') {
          throw new Error('decision must be approve or reject');
        }
        if (!isUuid(review.reviewerId)) {
          throw new Error('reviewerId must be the id of a user');
        }
      },
    },
  );

  /** One attempt at Discord, then its result stored (unless the decision moved on meanwhile). */
  const changeRole = async (action: RoleAction, options: { automaticRecheck: boolean }) => {
    continueBeforeWaiting = true;
    progress.step = action === 'grant' ? 'granting' : 'revoking';
    let failure: FailureSummary | null = null;
    let change: RoleChange | null = null;
    const attempt = () => discord.changeMemberRole({ applicationId, organizationId, action });
    try {
      // The deadline of one attempt, its time in the queue included: a grant no worker takes (or
      // finishes) within it is reported failed instead of waiting unseen. Runs started before the
      // deadline existed go on without it (see "Changing a workflow" in the README).
      change =
        attemptDeadlineFromStart || patched('attempt-deadline')
          ? await CancellationScope.withTimeout(ATTEMPT_DEADLINE_MS, attempt)
          : await attempt();
    } catch (err) {
      // A cancellation of the whole run is not this attempt's deadline: let it end the run.
      if (isCancellation(err) && CancellationScope.current().consideredCancelled) throw err;
      failure = isCancellation(err)
        ? { type: 'attempt_deadline', message: ATTEMPT_DEADLINE_MESSAGE }
        : summarizeFailure(err);
    }
    if (change?.skipped) {
      // The stored decision no longer asks for this: read it, and let the state machine decide again.
      await dbStep(() => db.loadApplicationState({ applicationId }));
      return;
    }
    // Added to the server, the member waits for its rules screening: not done, not failed either.
    if (change?.memberPending) failure = { type: MEMBER_PENDING, message: MEMBER_PENDING_MESSAGE };
    // An automatic re-check that finds the member still missing (or still screened) changes nothing stored.
    if (failure && options.automaticRecheck && isRecheckedAutomatically(failure.type)) return;
    const key = `role-result:${applicationId}:${uuid4()}`;
    const facts = change
      ? { heldBefore: change.heldBefore, addedToServer: change.addedToServer, kept: change.kept }
      : {};
    await dbStep(() =>
      db.recordRoleResult(
        failure
          ? { key, applicationId, action, outcome: 'failed', errorType: failure.type, error: failure.message, facts }
          : { key, applicationId, action, outcome: 'success', facts },
      ),
    );
  };

  // Started with a review (update-with-start), the review's handler holds the lock first and
  // brings the state; started otherwise (a retry or a re-drive found no run), read the stored row.
  await lock.runExclusive(async () => undefined);
  if (state === null) {
    reloadRequested = false;
    await dbStep(() => db.loadApplicationState({ applicationId }));
  }

  for (;;) {
    if (reloadRequested) {
      reloadRequested = false;
      await dbStep(() => db.loadApplicationState({ applicationId }));
    }
    const current = state as StoredRoleState;
    const step = nextStep(current);

    if (step.kind === 'act') {
      await changeRole(step.action, { automaticRecheck: false });
      continue;
    }

    if (step.kind === 'done') {
      refuseQueuedRetries(retryRefusal(current)?.code ?? 'not_retryable');
      redriveRequested = false;
      // A review may still be on its way through a handler: act on it rather than finish without it.
      // A decision email still being sent (or retried) finishes before the run does.
      await condition(() => allHandlersFinished() && emailsInFlight === 0);
      if (state === current && retries.length === 0 && !reloadRequested) break;
      continue;
    }

    // The last attempt failed: wait for a retry, a re-drive, a review, or the next automatic re-check.
    if (
      continueBeforeWaiting &&
      retries.length === 0 &&
      !redriveRequested &&
      !reloadRequested &&
      emailsInFlight === 0
    ) {
      await condition(allHandlersFinished);
      if (state === current && retries.length === 0 && !redriveRequested && !reloadRequested) {
        await continueAsNew<typeof applicationRoleWorkflow>({
          ...input,
          resume: { state: current, automaticRechecks, recentRetries: progress.recentRetries },
        });
      }
      continue;
    }
    const delay = step.recheckMember ? recheckDelays[automaticRechecks] : undefined;
    progress.step = delay === undefined ? 'waiting_for_retry' : 'waiting_for_member';
    // An email that finishes while the run waits lets it continue as new (a short history again).
    const emailsBusy = emailsInFlight > 0;
    const woken = () =>
      retries.length > 0 ||
      redriveRequested ||
      reloadRequested ||
      state !== current ||
      (emailsBusy && emailsInFlight === 0);
    const timedOut = delay === undefined ? (await condition(woken), false) : !(await condition(woken, delay));
    if (state !== current || reloadRequested) continue; // a review decided what comes next

    const retry = retries.shift();
    if (retry) {
      const result = await dbStep(() =>
        db.beginManualRetry({
          key: retryStepKey(applicationId, retry.requestId),
          applicationId,
          requestedBy: retry.requestedBy,
        }),
      );
      continueBeforeWaiting = true;
      if (result.refusal) {
        recordRetry({ requestId: retry.requestId, outcome: 'refused', reason: result.refusal.code });
        continue;
      }
      // Requests that came in beside it asked for the same thing (a double click): one attempt runs.
      refuseQueuedRetries('in_flight');
      recordRetry({ requestId: retry.requestId, outcome: 'applied', reason: null });
      automaticRechecks = 0;
      progress.automaticRechecks = 0;
      continue;
    }
    if (redriveRequested) {
      redriveRequested = false;
      const result = await dbStep(() => db.beginRedrive({ key: `redrive:${applicationId}:${uuid4()}`, applicationId }));
      continueBeforeWaiting = true;
      if (!result.refusal) {
        automaticRechecks = 0;
        progress.automaticRechecks = 0;
      }
      continue;
    }
    if (timedOut) {
      automaticRechecks += 1;
      progress.automaticRechecks = automaticRechecks;
      await changeRole('grant', { automaticRecheck: true });
    }
  }

  progress.step = 'done';
  return progress;
}
