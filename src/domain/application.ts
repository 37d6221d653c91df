import type {
  ApplicationStatus,
  LifecycleEvent,
  LifecycleState,
  ReviewDecision,
  RoleAssignmentStatus,
} from './application-lifecycle.js';
import { discordIdPresence } from './discord-id.js';
import type { DiscordUser } from './discord-user.js';

/** The API's view of an application. Discord IDs stay strings end to end. */
export interface Application {
  id: string;
  organizationId: string;
  applicant: { name: string; email: string };
  custom_data: Record<string, unknown>;
  /** The form the applicant answered, and its version (src/domain/form.ts). */
  formId: string;
  formVersion: number;
  /** The answers, by question id, as checked against that version. */
  answers: Record<string, string | string[] | boolean>;
  /**
   * The Discord account the role goes to: `verified` when the applicant signed in with it, else a
   * typed ID (which proves nothing). Null without a usable ID.
   */
  discordUser: (DiscordUser & { verified: boolean }) | null;
  status: ApplicationStatus;
  notes: string | null;
  reviewedBy: string | null;
  reviewedAt: string | null;
  roleAssignment: {
    status: RoleAssignmentStatus;
    error: string | null;
    /** Why the last role change failed, as a stable snake_case type (`unknown_member`, `missing_permissions`, ...). */
    errorType: string | null;
    attemptedAt: string | null;
    retryCount: number;
  };
  createdAt: string;
  updatedAt: string;
}

/** The part of an application the state machine decides on. */
export function lifecycleStateOf(app: Pick<Application, 'status' | 'roleAssignment'>): LifecycleState {
  return {
    status: app.status,
    roleStatus: app.roleAssignment.status,
    retryCount: app.roleAssignment.retryCount,
    errorType: app.roleAssignment.errorType,
  };
}

/** The state machine's event for a review of this application (its Discord account decides the outcome). */
export function reviewEvent(
  app: Pick<Application, 'discordUser' | 'custom_data'>,
  decision: ReviewDecision,
): LifecycleEvent {
  return { type: 'review', decision, discordId: discordIdPresence(app) };
}
