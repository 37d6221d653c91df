// Pure code: what a reconciliation does about one application, comparing the roles its member
// holds in Discord now with the decision stored for it. The state machine
// (application-lifecycle.ts) decides any status change this leads to ('drift' events).
import type { ApplicationStatus, RoleAssignmentStatus } from './application-lifecycle.js';

/** What a reconciliation does with an approved member missing a granted role (an organization setting). */
export const driftRepairModes = ['restore', 'report'] as const;
export type DriftRepairMode = (typeof driftRepairModes)[number];

export type DriftKind =
  /** An approved member lacks a role their grant gave (a moderator removed it, say). */
  | 'role_missing'
  /** A rejected (or reversed) member still holds a role a grant of this organization gave. */
  | 'role_not_taken_back'
  /** An approved member holds a role approval removes (someone gave it back). */
  | 'remove_role_held'
  /** An approved member is no longer in the server. */
  | 'member_left';

export interface Drift {
  kind: DriftKind;
  /** The role concerned ('' for `member_left`). */
  roleId: string;
  /** What to do: call Discord (`add`, `remove`), only report it, or mark the member as gone. */
  action: 'add' | 'remove' | 'report' | 'mark_left';
}

/** What a reconciliation knows of one application. */
export interface DriftSubject {
  status: ApplicationStatus;
  roleStatus: RoleAssignmentStatus;
  /** The roles its grant is for (null: its grant never looked). */
  roleIds: readonly string[] | null;
  /** Those of them the member held on their own before. */
  rolesHeldBefore: readonly string[] | null;
}

/**
 * The status change a run's drift of one application leads to (the state machine's `drift`
 * event), if any: a member gone, or (report only) a granted role missing. A removed role held
 * again is reported without changing the status: the grant itself still holds.
 */
export function driftFinding(drift: readonly Drift[]): 'member_left' | 'role_removed' | null {
  if (drift.some((d) => d.action === 'mark_left')) return 'member_left';
  if (drift.some((d) => d.kind === 'role_missing' && d.action === 'report')) return 'role_removed';
  return null;
}

/**
 * The drift of one application, or none. Only settled decisions are compared: an application
 * whose role is being changed, or whose change failed, belongs to its own workflow.
 *
 * @param member the member's roles now, or null when they are not in the server
 * @param context.removeRoleIds the roles approval removes
 * @param context.neededByOthers roles another approved application of the same member here is for
 */
export function driftOf(
  subject: DriftSubject,
  member: { roleIds: readonly string[] } | null,
  context: {
    /** The roles approval adds now: a role no longer chosen is not given back. */
    addRoleIds: readonly string[];
    removeRoleIds: readonly string[];
    neededByOthers: ReadonlySet<string>;
    mode: DriftRepairMode;
  },
): Drift[] {
  if (subject.status === 'approved_role_assigned' && subject.roleStatus === 'success') {
    if (!member) return [{ kind: 'member_left', roleId: '', action: 'mark_left' }];
    const held = new Set(member.roleIds);
    const drift: Drift[] = [];
    for (const roleId of subject.roleIds ?? []) {
      if (!held.has(roleId) && context.addRoleIds.includes(roleId)) {
        drift.push({ kind: 'role_missing', roleId, action: context.mode === 'restore' ? 'add' : 'report' });
      }
    }
    for (const roleId of context.removeRoleIds) {
      if (held.has(roleId) && !(subject.roleIds ?? []).includes(roleId)) {
        drift.push({ kind: 'remove_role_held', roleId, action: context.mode === 'restore' ? 'remove' : 'report' });
      }
    }
    return drift;
  }
  if (subject.status === 'Rejected' && subject.roleStatus === 'not_applicable' && member) {
    const heldBefore = new Set(subject.rolesHeldBefore ?? []);
    const held = new Set(member.roleIds);
    return (subject.roleIds ?? [])
      .filter((roleId) => !heldBefore.has(roleId) && held.has(roleId) && !context.neededByOthers.has(roleId))
      .map((roleId) => ({ kind: 'role_not_taken_back' as const, roleId, action: 'remove' as const }));
  }
  return [];
}

/** The messages an application shows after a reconciliation changed its status. */
export const MEMBER_LEFT_MESSAGE =
  'The member left the Discord server: their roles are given back automatically when they return (checked for 7 days), or retry by hand.';
export const ROLE_REMOVED_MESSAGE =
  'A granted role was removed from the member in Discord, and drift repair is set to report only: retry to give it back.';
