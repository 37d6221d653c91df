// Names shared by the API (client side) and the workflows: IDs, signals, queries, updates.
// Pure code only: the workflow bundle imports this file.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Application } from '../domain/application.js';
import type { LifecycleState, ReviewDecision } from '../domain/application-lifecycle.js';
import type { ConnectionState } from '../domain/discord-connection.js';

/** One business key, one workflow ID: a second run for the same key is refused or joined, never raced. */
export const connectionWorkflowId = (organizationId: string) => `discord-connection:${organizationId}`;
export const roleWorkflowId = (applicationId: string) => `application-role:${applicationId}`;
export const bulkReviewWorkflowId = (bulkReviewId: string) => `bulk-review:${bulkReviewId}`;

/** The bulk review's intake; its decision, note and IDs are stored in `bulk_reviews` and `bulk_review_items`. */
export interface BulkReviewInput {
  bulkReviewId: string;
  organizationId: string;
  /** How many IDs it has. */
  total: number;
  /** SMTP_URL is set: each recorded decision is emailed to its applicant. */
  decisionEmails?: boolean;
}

// Idempotency keys of the role workflow's database steps (see the idempotency_keys table).
export const reviewStepKey = (applicationId: string, updateId: string) => `review:${applicationId}:${updateId}`;
export const retryStepKey = (applicationId: string, requestId: string) => `retry:${applicationId}:${requestId}`;

// --- Discord connection -------------------------------------------------------------------------

export type { ConnectionState };

export type ConnectionErrorCode =
  | 'token_exchange_failed'
  | 'missing_permissions'
  | 'unsafe_role'
  | 'role_creation_failed'
  | 'save_config_failed'
  | 'unexpected_error';

export interface ConnectInput {
  organizationId: string;
  userId: string;
  code: string;
  redirectUri: string;
  approvedRoleName: string;
  /** Give up and report `error` after this long. (Default: 90 s) */
  attemptTimeoutMs?: number;
}

export type ConnectResult =
  | { outcome: 'connected'; guild: { id: string; name: string }; role: { id: string; name: string; created: boolean } }
  | { outcome: 'already_connected' }
  | { outcome: 'failed'; errorCode: ConnectionErrorCode; message: string };

export interface DisconnectInput {
  organizationId: string;
  userId: string;
}

export interface ConnectionProgress {
  state: ConnectionState;
  step: 'starting' | 'exchanging_code' | 'checking_permissions' | 'ensuring_role' | 'saving' | 'leaving_guild' | 'done';
  error: string | null;
}

export const connectionProgressQuery = defineQuery<ConnectionProgress>('connectionProgress');

// --- Role assignment ----------------------------------------------------------------------------

/** What the role workflow knows of its application: the state machine's state and the stored error. */
export type StoredRoleState = LifecycleState & { error: string | null };

/** The result of the last manual retry request the workflow handled (shown by the `roleAssignment` query). */
export interface RetryOutcome {
  requestId: string;
  outcome: 'applied' | 'refused';
  /** Why it was refused: `not_retryable`, `retry_limit_reached`, `in_flight`. */
  reason: string | null;
}

/** Test hooks of the role workflow: its waits and retry bounds. */
export type RoleWorkflowOptions = Pick<
  RoleWorkflowInput,
  'memberRecheckDelaysMs' | 'databaseRetryDelayMs' | 'databaseAttempts'
>;

export interface RoleWorkflowInput {
  applicationId: string;
  organizationId: string;
  /** The rate-limited task queue of the Discord activities. */
  discordTaskQueue: string;
  /** Delays between automatic re-checks of an applicant who has not joined the server yet. */
  memberRecheckDelaysMs?: number[];
  /** How long a run waits before trying a database step again once its retries ran out. (Default: 1 min) */
  databaseRetryDelayMs?: number;
  /** Attempts of a database step before the run waits. (Default: 8) */
  databaseAttempts?: number;
  /**
   * SMTP_URL is set: each decision (approve, reject, a reversal) is emailed to the applicant, a step
   * of its own that never holds up the role. Set by whoever starts the run; a continued run keeps it.
   */
  decisionEmails?: boolean;
  /** Set by continue-as-new: where the previous run stopped, so the new one starts waiting at once. */
  resume?: {
    state: StoredRoleState;
    automaticRechecks: number;
    /** The last few retry outcomes, oldest first (the last one is the query's `lastRetry`). */
    recentRetries: RetryOutcome[];
  };
}

export interface ReviewRequest {
  decision: ReviewDecision;
  reviewerId: string;
  note?: string | null;
  /**
   * The request's idempotency key: a repeated request with it gets the first answer, even in a
   * later run; the same key with another decision or note is refused. (Default: the update ID)
   */
  requestId?: string;
}

/**
 * Payload of the `retry` signal. Both fields are optional, so an operator can send `{}` (or nothing)
 * from the Temporal Web UI. `requestId` makes a repeated request count once; without one, each
 * signal is one request.
 */
export interface RetryRequest {
  requestId?: string;
  /** The user who asked (a user ID), for the audit log. */
  requestedBy?: string;
}

export interface RoleAssignmentProgress {
  applicationId: string;
  status: Application['status'] | null;
  roleStatus: Application['roleAssignment']['status'] | null;
  step:
    'starting' | 'granting' | 'revoking' | 'waiting_for_retry' | 'waiting_for_member' | 'database_unavailable' | 'done';
  error: string | null;
  errorType: string | null;
  manualRetries: number;
  automaticRechecks: number;
  lastRetry: RetryOutcome | null;
  /** The last few retry requests and what became of each, oldest first. */
  recentRetries: RetryOutcome[];
}

export const reviewUpdate = defineUpdate<Application, [ReviewRequest]>('review');
export const retrySignal = defineSignal<[RetryRequest?]>('retry');
/** Sent after a successful connection: a failure the connection caused runs again, without spending a manual retry. */
export const redriveSignal = defineSignal<[]>('redrive');
/** The stored decision changed outside the workflow (a bulk review recorded it): read the row again and act on it. */
export const stateChangedSignal = defineSignal<[]>('stateChanged');
export const roleAssignmentQuery = defineQuery<RoleAssignmentProgress>('roleAssignment');

// --- Reconciliation -----------------------------------------------------------------------------

/** Each connected organization's schedule, and the workflows it starts (Temporal appends the time). */
export const reconciliationScheduleId = (organizationId: string) => `reconcile:${organizationId}`;
/** A re-apply of the roles to every approved member (one at a time per organization). */
export const roleReapplyWorkflowId = (organizationId: string) => `reconcile-reapply:${organizationId}`;
/** A look at the guild's roles for the picker (joined by concurrent requests). */
export const guildRolesWorkflowId = (organizationId: string) => `discord-roles:${organizationId}`;

export interface ReconcileInput {
  organizationId: string;
  /** `schedule`: the hourly comparison; `reapply`: an admin re-applies the roles chosen now. */
  trigger: 'schedule' | 'reapply';
  /** The Discord queue of connection checks (the health check runs there, never behind grants). */
  discordTaskQueue: string;
  /** The Discord queue of background work (the members' comparison). */
  backgroundTaskQueue: string;
  /** The schedule's period: one-by-one checks are spread over most of it. */
  periodMs: number;
  /** Set by continue-as-new: where the previous run of this reconciliation stopped. */
  resume?: {
    runId: string;
    firstRunId: string;
    batch: number;
    source: 'list' | 'one_by_one';
    after: string | null;
    /** When the run began, by the database's clock (a full listing's members are seen after it). */
    startedAt: string;
    /** Members still to check one by one at the start of that pass (for the spreading). */
    oneByOneTotal: number | null;
  };
}

export interface ReconciliationProgress {
  runId: string | null;
  step: 'starting' | 'checking_health' | 'comparing_members' | 'marking_gone' | 'done';
  batch: number;
  source: 'list' | 'one_by_one' | null;
  membersChecked: number;
}

export const reconciliationProgressQuery = defineQuery<ReconciliationProgress>('reconciliationProgress');
