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

export const MAX_MANUAL_RETRIES = 5;
export const RETRY_LIMIT_MESSAGE = `Maximum retry attempts (${MAX_MANUAL_RETRIES}) exceeded. Please contact support.`;

/** The API's view of an application (API.md). Discord IDs stay strings end to end. */
export interface Application {
  id: string;
  organizationId: string;
  applicant: { name: string; email: string };
  custom_data: Record<string, unknown>;
  status: ApplicationStatus;
  notes: string | null;
  reviewedBy: string | null;
  reviewedAt: string | null;
  roleAssignment: {
    status: RoleAssignmentStatus;
    error: string | null;
    attemptedAt: string | null;
    retryCount: number;
  };
  createdAt: string;
  updatedAt: string;
}

export type ReviewDecision = 'approve' | 'reject';
