// The application's state machine: every status an application and its role assignment can have,
// every change between them, and what must happen next. Pure code, imported by the activities (to
// decide each write), the workflow (to decide its next step), the API (to refuse early and to
// predict search attributes) and the web UI (to offer exactly the allowed actions).

import { INVALID_DISCORD_ID_MESSAGE } from './discord-id.js';
import { MEMBER_LEFT_MESSAGE, ROLE_REMOVED_MESSAGE } from './drift.js';

export const applicationStatuses = [
  'Pending',
  'Rejected',
  'Approved',
  'approved_pending_role',
  'approved_role_assigned',
  'approved_role_failed',
] as const;
export type ApplicationStatus = (typeof applicationStatuses)[number];

export const roleAssignmentStatuses = ['pending', 'success', 'failed', 'not_applicable'] as const;
export type RoleAssignmentStatus = (typeof roleAssignmentStatuses)[number];

/** Manual retries of a failed role change, per application. */
export const MAX_MANUAL_RETRIES = 5;
export const RETRY_LIMIT_MESSAGE = `Maximum retry attempts (${MAX_MANUAL_RETRIES}) exceeded. Please contact support.`;
export const NOT_RETRYABLE_MESSAGE = 'This application is not waiting for a retry.';

/**
 * Every (application status, role status) pair the machine can reach. The database refuses any
 * other pair (a CHECK constraint, tested against this list).
 */
export const reachablePairs: ReadonlyArray<readonly [ApplicationStatus, RoleAssignmentStatus]> = [
  ['Pending', 'not_applicable'],
  ['Approved', 'not_applicable'],
  ['approved_pending_role', 'pending'],
  ['approved_role_assigned', 'success'],
  ['approved_role_failed', 'failed'],
  // A reversal: the role was taken back (or never given), is being taken back, or taking it back failed.
  ['Rejected', 'not_applicable'],
  ['Rejected', 'pending'],
  ['Rejected', 'failed'],
];

/** What the machine needs to know of an application. */
export interface LifecycleState {
  status: ApplicationStatus;
  roleStatus: RoleAssignmentStatus;
  /** Manual retries spent. */
  retryCount: number;
  /** Why the last role change failed (a stable snake_case type), or null. */
  errorType: string | null;
}

export type ReviewDecision = 'approve' | 'reject';
export type RoleAction = 'grant' | 'revoke';

/** What the application's data says about the applicant's Discord account. */
export type DiscordIdPresence = 'none' | 'invalid' | 'valid';

export type LifecycleEvent =
  | { type: 'review'; decision: ReviewDecision; discordId: DiscordIdPresence }
  | { type: 'role_result'; action: RoleAction; outcome: 'success' }
  | { type: 'role_result'; action: RoleAction; outcome: 'failed'; errorType: string; error: string }
  | { type: 'manual_retry' }
  | { type: 'redrive' }
  /** A reconciliation found an approved member gone from the server, or (report-only) missing a role. */
  | { type: 'drift'; finding: 'member_left' | 'role_removed' };

/** The event of one grant's or removal's result, as the workflow reports it. */
export function roleResultEvent(input: {
  action: RoleAction;
  outcome: 'success' | 'failed';
  errorType?: string;
  error?: string;
}): LifecycleEvent {
  return input.outcome === 'success'
    ? { type: 'role_result', action: input.action, outcome: 'success' }
    : {
        type: 'role_result',
        action: input.action,
        outcome: 'failed',
        errorType: input.errorType ?? 'unexpected',
        error: input.error ?? 'Unknown error',
      };
}

/** The columns a transition writes; `undefined` leaves a column as it is. */
export interface StateChange {
  status: ApplicationStatus;
  roleStatus: RoleAssignmentStatus;
  /** null clears the stored error. */
  roleError?: string | null;
  errorType?: string | null;
  /** A role change was attempted (or decided without Discord): stamp `attemptedAt`. */
  attempted?: boolean;
  incrementRetryCount?: boolean;
  /** The event is a review: stamp the reviewer, the time and the note. */
  reviewed?: boolean;
}

export type RefusalCode = 'invalid_transition' | 'not_retryable' | 'retry_limit_reached' | 'stale_result';

export interface Refusal {
  code: RefusalCode;
  message: string;
}

export type Transition = { ok: true; change: StateChange } | { ok: false; refusal: Refusal };

/**
 * Failures that a new connection of the bot can fix (the bot was not connected, removed, lacked
 * permissions, or the role was deleted): a successful connection re-drives them without spending
 * a manual retry.
 */
export const REDRIVE_AFTER_RECONNECT = [
  'discord_not_connected',
  // The circuit breaker held the grant back (src/discord/guard.ts): a check or a new connection resumes it.
  'grants_paused',
  'invalid_bot_token',
  'unknown_guild',
  'missing_access',
  'missing_permissions',
  'unknown_role',
  'unsafe_role',
] as const;

/** The applicant's Discord sign-in could not add them: their signing in again re-drives it. */
export const APPLICANT_AUTHORIZATION_EXPIRED = 'applicant_authorization_expired';

/** Failures that a fix elsewhere (a connection, a new sign-in) re-drives without a manual retry. */
const REDRIVABLE: readonly string[] = [...REDRIVE_AFTER_RECONNECT, APPLICANT_AUTHORIZATION_EXPIRED];

/** The failure of an applicant who has not joined the server: re-checked automatically. */
export const UNKNOWN_MEMBER = 'unknown_member';
/** The applicant joined but waits for the server's rules screening: re-checked automatically. */
export const MEMBER_PENDING = 'member_pending';
/** A reconciliation found the approved member gone from the server: re-checked automatically. */
export const MEMBER_LEFT = 'member_left';
/** A reconciliation found a granted role removed and only reported it: a manual retry gives it back. */
export const ROLE_REMOVED = 'role_removed';
const RECHECKED_AUTOMATICALLY: readonly string[] = [UNKNOWN_MEMBER, MEMBER_PENDING, MEMBER_LEFT];
export const INVALID_DISCORD_ID = 'invalid_discord_id';

const ok = (change: StateChange): Transition => ({ ok: true, change });
const refuse = (code: RefusalCode, message: string): Transition => ({ ok: false, refusal: { code, message } });

/**
 * Failures after which the applicant certainly does not hold the role: Discord refused the grant,
 * or was never called. After any other failure (a timeout, a 5xx, a member who had not joined and
 * may be re-checked right now) the grant may have landed, so a reversal takes the role back.
 */
export const GRANT_CERTAINLY_NOT_APPLIED = [
  'invalid_discord_id',
  'discord_not_connected',
  'missing_permissions',
  'missing_access',
  'unknown_guild',
  'unknown_role',
  'unknown_user',
  'invalid_form_body',
  'max_roles',
  'max_guilds',
  'invalid_bot_token',
  'unsafe_role',
  'applicant_authorization_expired',
] as const;

/** The applicant holds, is being given, or may have been given the role. */
function mayHoldRole(state: LifecycleState): boolean {
  if (state.status === 'approved_role_assigned' || state.status === 'approved_pending_role') return true;
  return (
    state.status === 'approved_role_failed' &&
    !(GRANT_CERTAINLY_NOT_APPLIED as readonly string[]).includes(state.errorType ?? '')
  );
}

/** The one function that decides every change of an application's status. */
export function transition(state: LifecycleState, event: LifecycleEvent): Transition {
  switch (event.type) {
    case 'review':
      return event.decision === 'approve' ? approve(state, event.discordId) : reject(state);
    case 'role_result':
      return roleResult(state, event);
    case 'manual_retry': {
      const refusal = retryRefusal(state);
      if (refusal) return { ok: false, refusal };
      return ok({ ...restart(state), incrementRetryCount: true });
    }
    case 'drift':
      // Only a settled grant drifts: one being changed or failed belongs to its workflow.
      if (state.status !== 'approved_role_assigned') {
        return refuse(
          'stale_result',
          `The application moved on (status ${state.status}); this finding no longer applies.`,
        );
      }
      return ok({
        status: 'approved_role_failed',
        roleStatus: 'failed',
        roleError: event.finding === 'member_left' ? MEMBER_LEFT_MESSAGE : ROLE_REMOVED_MESSAGE,
        errorType: event.finding === 'member_left' ? MEMBER_LEFT : ROLE_REMOVED,
        attempted: true,
      });
    case 'redrive':
      if (!canRedrive(state)) {
        return refuse('not_retryable', 'This assignment did not fail because of the Discord connection.');
      }
      return ok(restart(state));
  }
}

function approve(state: LifecycleState, discordId: DiscordIdPresence): Transition {
  if (state.status !== 'Pending') {
    return refuse('invalid_transition', `This application was already reviewed (status ${state.status}).`);
  }
  switch (discordId) {
    case 'none':
      return ok({ status: 'Approved', roleStatus: 'not_applicable', roleError: null, errorType: null, reviewed: true });
    case 'invalid':
      return ok({
        status: 'approved_role_failed',
        roleStatus: 'failed',
        roleError: INVALID_DISCORD_ID_MESSAGE,
        errorType: INVALID_DISCORD_ID,
        attempted: true,
        reviewed: true,
      });
    case 'valid':
      return ok({
        status: 'approved_pending_role',
        roleStatus: 'pending',
        roleError: null,
        errorType: null,
        reviewed: true,
      });
  }
}

function reject(state: LifecycleState): Transition {
  if (state.status === 'Rejected') return refuse('invalid_transition', 'This application was already rejected.');
  return ok({
    status: 'Rejected',
    // A role that was (or may be being) given must be taken back.
    roleStatus: mayHoldRole(state) ? 'pending' : 'not_applicable',
    roleError: null,
    errorType: null,
    reviewed: true,
  });
}

function roleResult(state: LifecycleState, event: Extract<LifecycleEvent, { type: 'role_result' }>): Transition {
  // A grant that landed after the application was rejected: the role must come off again.
  if (event.action === 'grant' && event.outcome === 'success' && state.status === 'Rejected') {
    return state.roleStatus === 'pending'
      ? refuse('stale_result', 'The role is being taken back already.')
      : ok({ status: 'Rejected', roleStatus: 'pending', roleError: null, errorType: null, attempted: true });
  }
  if (!roleActionWanted(state, event.action)) {
    return refuse('stale_result', `The application moved on (status ${state.status}); this result no longer applies.`);
  }
  const failed =
    event.outcome === 'failed'
      ? { roleStatus: 'failed' as const, roleError: event.error, errorType: event.errorType, attempted: true }
      : null;
  if (event.action === 'grant') {
    return ok(
      failed
        ? { status: 'approved_role_failed', ...failed }
        : {
            status: 'approved_role_assigned',
            roleStatus: 'success',
            roleError: null,
            errorType: null,
            attempted: true,
          },
    );
  }
  return ok(
    failed
      ? { status: 'Rejected', ...failed }
      : { status: 'Rejected', roleStatus: 'not_applicable', roleError: null, errorType: null, attempted: true },
  );
}

/** A failed role change runs again: the grant of an approval, or the removal of a reversal. */
function restart(state: LifecycleState): StateChange {
  return {
    status: state.status === 'approved_role_failed' ? 'approved_pending_role' : state.status,
    roleStatus: 'pending',
  };
}

/**
 * Whether the decision stored now still asks for `action`: a grant for an approval whose role is
 * pending (or failed, for an automatic re-check), a removal for a reversal. Discord is only called
 * when this holds.
 */
export function roleActionWanted(state: LifecycleState, action: RoleAction): boolean {
  if (state.roleStatus !== 'pending' && state.roleStatus !== 'failed') return false;
  return action === 'grant'
    ? state.status === 'approved_pending_role' || state.status === 'approved_role_failed'
    : state.status === 'Rejected';
}

export type NextStep =
  /** Call Discord. */
  | { kind: 'act'; action: RoleAction }
  /** The last attempt failed: wait for a manual retry, a re-drive, a review, or (for a missing member) an automatic re-check. */
  | { kind: 'wait'; recheckMember: boolean }
  /** Nothing left to do unless someone reviews the application again. */
  | { kind: 'done' };

/** What the application's workflow must do next, given the stored state. */
export function nextStep(state: LifecycleState): NextStep {
  if (state.roleStatus === 'pending') {
    return { kind: 'act', action: state.status === 'Rejected' ? 'revoke' : 'grant' };
  }
  if (state.roleStatus === 'failed') {
    return {
      kind: 'wait',
      recheckMember: RECHECKED_AUTOMATICALLY.includes(state.errorType ?? '') && state.status !== 'Rejected',
    };
  }
  return { kind: 'done' };
}

/** The role is being changed right now: screens showing it refresh themselves. */
export const isInFlight = (state: Pick<LifecycleState, 'roleStatus'>) => state.roleStatus === 'pending';

/** Why a manual retry cannot apply now, or null when it can. */
export function retryRefusal(
  state: Pick<LifecycleState, 'roleStatus' | 'retryCount'>,
): (Refusal & { code: 'not_retryable' | 'retry_limit_reached' }) | null {
  if (state.roleStatus !== 'failed') return { code: 'not_retryable', message: NOT_RETRYABLE_MESSAGE };
  if (state.retryCount >= MAX_MANUAL_RETRIES) return { code: 'retry_limit_reached', message: RETRY_LIMIT_MESSAGE };
  return null;
}

export const canRetry = (state: Pick<LifecycleState, 'roleStatus' | 'retryCount'>) => retryRefusal(state) === null;

/** A failure that connecting the bot again can fix, re-driven without spending a manual retry. */
export function canRedrive(state: LifecycleState): boolean {
  return state.roleStatus === 'failed' && REDRIVABLE.includes(state.errorType ?? '');
}

/** A failure an automatic re-check may clear (the member joins, or passes the rules screening). */
export const isRecheckedAutomatically = (errorType: string | null) => RECHECKED_AUTOMATICALLY.includes(errorType ?? '');

/** What people may do to an application in this state. "Revoke approval" is a reject of an approved application. */
export type ReviewerAction = 'approve' | 'reject' | 'revoke_approval' | 'retry';

export function availableActions(state: LifecycleState): ReviewerAction[] {
  const actions: ReviewerAction[] = [];
  const approvable = transition(state, { type: 'review', decision: 'approve', discordId: 'valid' }).ok;
  if (approvable) actions.push('approve');
  if (transition(state, { type: 'review', decision: 'reject', discordId: 'valid' }).ok) {
    actions.push(approvable ? 'reject' : 'revoke_approval');
  }
  if (canRetry(state)) actions.push('retry');
  return actions;
}

/** Whether a stored (status, role status) pair is one the machine can reach. */
export const isReachable = (status: ApplicationStatus, roleStatus: RoleAssignmentStatus) =>
  reachablePairs.some(([s, r]) => s === status && r === roleStatus);
