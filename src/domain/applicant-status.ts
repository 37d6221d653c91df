// What the applicant is told about their application: the public words of the status page, of the
// "signed in with Discord again" list and of the decision email. Pure code, next to the state
// machine, which decides every status: this only translates its states for the applicant.

import { availableActions, type ApplicationStatus, type LifecycleState } from './application-lifecycle.js';
import { lifecycleStateOf, type Application } from './application.js';

export const applicantStatuses = ['received', 'approved', 'rejected'] as const;
export type ApplicantStatus = (typeof applicantStatuses)[number];

/** The applicant's view of one application (never the email, the reviewer or an internal error). */
export interface ApplicantView {
  status: ApplicantStatus;
  /** The role reached their Discord account. While false on an approval the role is on its way (a failure is the organization's to fix). */
  roleGranted: boolean;
  /** `https://discord.com/channels/<guildId>` once the role is granted and the server is known. */
  serverUrl: string | null;
  /** The reviewer's note, only when the application's form shares notes with applicants. */
  note: string | null;
}

/** The public word for a decision, whatever happened to the role since. */
export function applicantStatusOf(state: LifecycleState): ApplicantStatus {
  if (state.status === 'Rejected') return 'rejected';
  // Still open to a review (an approval or a rejection): nobody decided yet.
  return availableActions(state).includes('approve') ? 'received' : 'approved';
}

/** The Discord link of a server (`guildId` a snowflake), or null. */
export const serverUrlOf = (guildId: string | null | undefined): string | null =>
  guildId && /^\d{17,20}$/.test(guildId) ? `https://discord.com/channels/${guildId}` : null;

/**
 * The status page of an application: pending → received; approved (with or without a Discord
 * account, the role pending, failed or granted) → approved, `roleGranted` only once the role is
 * held; rejected (a reversal included) → rejected.
 */
export function applicantViewOf(
  app: Pick<Application, 'status' | 'roleAssignment' | 'notes'>,
  context: { guildId: string | null; shareNotes: boolean },
): ApplicantView {
  const state = lifecycleStateOf(app);
  const status = applicantStatusOf(state);
  const roleGranted = status === 'approved' && state.roleStatus === 'success';
  return {
    status,
    roleGranted,
    serverUrl: roleGranted ? serverUrlOf(context.guildId) : null,
    note: context.shareNotes && status !== 'received' && app.notes ? app.notes : null,
  };
}

/** The public status of a stored (status, role status) pair, for lists read straight from the database. */
export const applicantStatusOfRow = (row: { status: ApplicationStatus; roleStatus: LifecycleState['roleStatus'] }) =>
  applicantStatusOf({ status: row.status, roleStatus: row.roleStatus, retryCount: 0, errorType: null });
