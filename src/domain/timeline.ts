/**
 * An application's history for people: each audit-log entry about it as one sentence. Pure, so the
 * API's timeline (`GET /api/applications/:id/timeline`) and its tests read the same words. The audit
 * log stays the record (append-only, with the machine-readable details); this only phrases it.
 */

export interface TimelineSource {
  action: string;
  details: Record<string, unknown>;
}

const text = (value: unknown): string | null => (typeof value === 'string' && value.trim() !== '' ? value : null);
const quoted = (value: string) => `“${value.length > 500 ? `${value.slice(0, 500)}…` : value}”`;
const withNote = (sentence: string, details: Record<string, unknown>) => {
  const note = text(details.note);
  return note ? `${sentence} with the note ${quoted(note)}.` : `${sentence}.`;
};

const DRIFT_WORDS: Record<string, string> = {
  role_missing: 'a role it should hold was missing',
  remove_role_held: 'it held a role that approval takes away',
  role_not_taken_back: 'it still held a role after the application was rejected',
  member_left: 'the applicant had left the Discord server',
};
const driftWords = (kind: unknown) => (typeof kind === 'string' && DRIFT_WORDS[kind]) || 'the Discord roles differed';

/** Approved/rejected, as a bulk review or one by one; a rejection after an approval is a reversal. */
function review(decision: 'Approved' | 'Rejected', details: Record<string, unknown>): string {
  const reversal = decision === 'Rejected' && typeof details.from === 'string' && details.from !== 'Pending';
  const how = text(details.bulkId) ? ' in a bulk review' : '';
  return withNote(`${decision}${how}${reversal ? ' (the approval was reversed)' : ''}`, details);
}

/** The sentence of one audit-log entry about an application. */
export function timelineDetail({ action, details }: TimelineSource): string {
  switch (action) {
    case 'application.submitted': {
      const parts = ['Application submitted'];
      if (typeof details.formVersion === 'number') parts.push(`answering version ${details.formVersion} of the form`);
      if (text(details.discordUserId)) parts.push(`signed in with Discord as ${text(details.discordUserId)}`);
      return `${parts.join(', ')}.`;
    }
    case 'application.approved':
      return review('Approved', details);
    case 'application.rejected':
      return review('Rejected', details);
    case 'application.role_grant_succeeded': {
      const how =
        details.heldBefore === true
          ? ' (the member already held it)'
          : details.addedToServer === true
            ? ' (the applicant was added to the server)'
            : '';
      return text(details.runId) ? `Role given back by the scheduled check${how}.` : `Discord role granted${how}.`;
    }
    case 'application.role_grant_failed':
      return `Granting the Discord role failed: ${text(details.error) ?? text(details.errorType) ?? 'unknown error'}`;
    case 'application.role_removal_succeeded':
      return text(details.kept) ? `Discord role kept: ${text(details.kept)}` : 'Discord role taken back.';
    case 'application.role_removal_failed':
      return `Taking the Discord role back failed: ${text(details.error) ?? text(details.errorType) ?? 'unknown error'}`;
    case 'application.role_retry':
      return typeof details.retryCount === 'number'
        ? `Manual retry of the role change (${details.retryCount} of 5).`
        : 'Manual retry of the role change.';
    case 'application.role_redrive':
      return 'The role change ran again after the Discord connection was repaired.';
    case 'application.drift_found':
      return 'The scheduled check found the Discord roles differ from the decision.';
    case 'reconciliation.repaired':
      return `The scheduled check repaired it: ${driftWords(details.drift)}.`;
    case 'reconciliation.reported':
      return `The scheduled check reported it: ${driftWords(details.drift)}.`;
    case 'reconciliation.marked_left':
      return 'The scheduled check found the applicant had left the Discord server.';
    case 'reconciliation.failed':
      return `The scheduled check could not repair it (${driftWords(details.drift)})${text(details.detail) ? `: ${text(details.detail)}` : '.'}`;
    case 'application.decision_email_sent':
      return 'The decision was emailed to the applicant.';
    case 'application.decision_email_failed':
      return `Emailing the decision failed${text(details.error) ? `: ${text(details.error)}` : '.'}`;
    default: {
      const words = action.replace(/^[a-z]+\./, '').replace(/[._]/g, ' ');
      return `${words.charAt(0).toUpperCase()}${words.slice(1)}.`;
    }
  }
}
