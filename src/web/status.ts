import {
  availableActions,
  canRetry as machineCanRetry,
  isInFlight as machineIsInFlight,
  MAX_MANUAL_RETRIES,
  MEMBER_PENDING,
  type ReviewerAction,
} from '../domain/application-lifecycle.js';
import { lifecycleStateOf } from '../domain/application.js';
import type { Application, ApplicationStatus } from './types.js';

export { MAX_MANUAL_RETRIES };

export type BadgeTone = 'neutral' | 'danger' | 'success' | 'progress';

export interface BadgeInfo {
  label: string;
  tone: BadgeTone;
  /** The role is being changed: the row refreshes itself. */
  inFlight: boolean;
}

const BADGES: Record<ApplicationStatus, Omit<BadgeInfo, 'inFlight'>> = {
  Pending: { label: 'Pending', tone: 'neutral' },
  Rejected: { label: 'Rejected', tone: 'neutral' },
  Approved: { label: 'Approved', tone: 'success' },
  approved_pending_role: { label: 'Approved – assigning role…', tone: 'progress' },
  approved_role_assigned: { label: 'Approved – role assigned', tone: 'success' },
  approved_role_failed: { label: 'Approved – role assignment failed', tone: 'danger' },
};

/** The badge of an application: its status, and for a reversal, where taking the role back stands. */
export function badgeOf(app: Pick<Application, 'status' | 'roleAssignment'>): BadgeInfo {
  const inFlight = machineIsInFlight({ roleStatus: app.roleAssignment.status });
  if (app.status === 'Rejected' && app.roleAssignment.status === 'pending') {
    return { label: 'Rejected – removing role…', tone: 'progress', inFlight };
  }
  if (app.status === 'approved_role_failed' && app.roleAssignment.errorType === MEMBER_PENDING) {
    return { label: "Approved – joined, waiting for the server's rules screening", tone: 'progress', inFlight };
  }
  if (app.status === 'Rejected' && app.roleAssignment.status === 'failed') {
    return { label: 'Rejected – role removal failed', tone: 'danger', inFlight };
  }
  return { ...(BADGES[app.status] ?? { label: app.status, tone: 'neutral' }), inFlight };
}

/** The role is being changed right now (a grant, or taking it back after a reversal). */
export const isInFlight = (app: Application) => machineIsInFlight({ roleStatus: app.roleAssignment.status });

/** A failed role change can be retried by hand while manual retries are left. */
export const canRetry = (app: Application) => machineCanRetry(lifecycleStateOf(app));

/** What the signed-in reviewer may do with this application now, as the state machine says. */
export const actionsFor = (app: Application): ReviewerAction[] => availableActions(lifecycleStateOf(app));

export const STATUS_FILTERS: Array<{ value: '' | ApplicationStatus; label: string }> = [
  { value: '', label: 'All' },
  { value: 'Pending', label: 'Pending' },
  { value: 'approved_pending_role', label: 'Assigning role' },
  { value: 'approved_role_assigned', label: 'Role assigned' },
  { value: 'approved_role_failed', label: 'Role assignment failed' },
  { value: 'Approved', label: 'Approved (no role)' },
  { value: 'Rejected', label: 'Rejected' },
];

export function formatDate(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime())
    ? iso
    : date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}
