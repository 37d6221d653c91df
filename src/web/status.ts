import type { Application, ApplicationStatus } from './types';

export const MAX_MANUAL_RETRIES = 5;

export type BadgeTone = 'neutral' | 'danger' | 'success' | 'progress';

export interface BadgeInfo {
  label: string;
  tone: BadgeTone;
  /** The role is still being assigned: the row refreshes itself. */
  inFlight: boolean;
}

const BADGES: Record<ApplicationStatus, BadgeInfo> = {
  Pending: { label: 'Pending', tone: 'neutral', inFlight: false },
  Rejected: { label: 'Rejected', tone: 'neutral', inFlight: false },
  Approved: { label: 'Approved', tone: 'success', inFlight: false },
  approved_pending_role: { label: 'Approved – assigning role…', tone: 'progress', inFlight: true },
  approved_role_assigned: { label: 'Approved – role assigned', tone: 'success', inFlight: false },
  approved_role_failed: { label: 'Approved – role assignment failed', tone: 'danger', inFlight: false },
};

export function badgeOf(status: ApplicationStatus): BadgeInfo {
  return BADGES[status] ?? { label: status, tone: 'neutral', inFlight: false };
}

export const isInFlight = (app: Application) => badgeOf(app.status).inFlight;

/** A failed grant can be retried by hand while fewer than five manual retries were used. */
export const canRetry = (app: Application) =>
  app.status === 'approved_role_failed' &&
  app.roleAssignment.status === 'failed' &&
  app.roleAssignment.retryCount < MAX_MANUAL_RETRIES;

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
