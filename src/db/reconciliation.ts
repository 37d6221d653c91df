/**
 * Reconciliations (the `reconcileOrganizationWorkflow`): their runs, what each batch compared,
 * each drift found and what was done about it, and the cache of guild members they saw.
 */
import type { ApplicationStatus, RoleAssignmentStatus } from '../domain/application-lifecycle.js';
import type { HealthFinding } from '../domain/bot-health.js';
import type { DriftKind } from '../domain/drift.js';
import { appendAuditLog } from './audit-log.js';
import { withTransaction, type Pool, type PoolClient } from './pool.js';

type Db = Pool | PoolClient;

export type ReconciliationTrigger = 'schedule' | 'check' | 'reapply';
export type MemberSource = 'list' | 'one_by_one';
export type DriftOutcome = 'repaired' | 'reported' | 'marked_left' | 'failed';

export interface ReconciliationRun {
  id: string;
  organizationId: string;
  trigger: ReconciliationTrigger;
  workflowId: string;
  runId: string;
  guildId: string | null;
  startedAt: Date;
  finishedAt: Date | null;
  memberSource: MemberSource | null;
  findings: HealthFinding[];
  error: string | null;
  membersChecked: number;
  requests: number;
  driftFound: number;
  repaired: number;
  reported: number;
  membersLeft: number;
  failed: number;
}

const RUN_COLUMNS = `r.id, r.organization_id, r.trigger, r.workflow_id, r.run_id, r.guild_id, r.started_at, r.finished_at,
  r.member_source, r.findings, r.error,
  (SELECT coalesce(sum(members_checked), 0) FROM reconciliation_batches b WHERE b.run_id = r.id)::int AS members_checked,
  (SELECT coalesce(sum(requests), 0) FROM reconciliation_batches b WHERE b.run_id = r.id)::int AS requests,
  (SELECT count(*) FROM reconciliation_drift d WHERE d.run_id = r.id)::int AS drift_found,
  (SELECT count(*) FROM reconciliation_drift d WHERE d.run_id = r.id AND d.outcome = 'repaired')::int AS repaired,
  (SELECT count(*) FROM reconciliation_drift d WHERE d.run_id = r.id AND d.outcome = 'reported')::int AS reported,
  (SELECT count(*) FROM reconciliation_drift d WHERE d.run_id = r.id AND d.outcome = 'marked_left')::int AS members_left,
  (SELECT count(*) FROM reconciliation_drift d WHERE d.run_id = r.id AND d.outcome = 'failed')::int AS failed`;

function toRun(row: Record<string, unknown>): ReconciliationRun {
  return {
    id: row.id as string,
    organizationId: row.organization_id as string,
    trigger: row.trigger as ReconciliationTrigger,
    workflowId: row.workflow_id as string,
    runId: row.run_id as string,
    guildId: row.guild_id as string | null,
    startedAt: row.started_at as Date,
    finishedAt: row.finished_at as Date | null,
    memberSource: row.member_source as MemberSource | null,
    findings: row.findings as HealthFinding[],
    error: row.error as string | null,
    membersChecked: row.members_checked as number,
    requests: row.requests as number,
    driftFound: row.drift_found as number,
    repaired: row.repaired as number,
    reported: row.reported as number,
    membersLeft: row.members_left as number,
    failed: row.failed as number,
  };
}

/** Starts recording a run (a run started twice under the same ID is recorded once). */
export async function beginReconciliationRun(
  db: Db,
  input: {
    id: string;
    organizationId: string;
    trigger: ReconciliationTrigger;
    workflowId: string;
    runId: string;
    guildId: string | null;
  },
): Promise<void> {
  await db.query(
    `INSERT INTO reconciliation_runs (id, organization_id, trigger, workflow_id, run_id, guild_id)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING`,
    [input.id, input.organizationId, input.trigger, input.workflowId, input.runId, input.guildId],
  );
}

/** The health check's findings (and how members will be compared, once known). */
export async function recordRunFindings(
  db: Db,
  input: { id: string; findings: HealthFinding[]; memberSource?: MemberSource | null },
): Promise<void> {
  await db.query(
    `UPDATE reconciliation_runs SET findings = $2, member_source = coalesce($3, member_source) WHERE id = $1`,
    [input.id, JSON.stringify(input.findings), input.memberSource ?? null],
  );
}

export async function finishReconciliationRun(
  db: Db,
  input: { id: string; error?: string | null; memberSource?: MemberSource | null },
): Promise<ReconciliationRun | null> {
  await db.query(
    `UPDATE reconciliation_runs SET finished_at = coalesce(finished_at, now()), error = $2,
       member_source = coalesce($3, member_source)
     WHERE id = $1`,
    [input.id, input.error ?? null, input.memberSource ?? null],
  );
  return await findReconciliationRun(db, input.id);
}

/** What one batch compared (written once: a batch run again replaces its own figures). */
export async function recordReconciliationBatch(
  db: Db,
  input: { runId: string; batch: number; membersChecked: number; requests: number },
): Promise<void> {
  await db.query(
    `INSERT INTO reconciliation_batches (run_id, batch, members_checked, requests) VALUES ($1, $2, $3, $4)
     ON CONFLICT (run_id, batch) DO UPDATE SET members_checked = EXCLUDED.members_checked,
       requests = EXCLUDED.requests`,
    [input.runId, input.batch, input.membersChecked, input.requests],
  );
}

/**
 * Records one drift and what was done, with its audit entry, once per run: returns false when this
 * run had recorded it already (a batch run twice).
 */
export async function recordDrift(
  pool: Pool,
  input: {
    runId: string;
    organizationId: string;
    applicationId: string;
    discordUserId: string;
    kind: DriftKind;
    roleId: string;
    outcome: DriftOutcome;
    detail?: string | null;
  },
): Promise<boolean> {
  return await withTransaction(pool, async (tx) => {
    const { rowCount } = await tx.query(
      `INSERT INTO reconciliation_drift (run_id, application_id, kind, role_id, outcome, detail)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
      [input.runId, input.applicationId, input.kind, input.roleId, input.outcome, input.detail ?? null],
    );
    if (rowCount !== 1) return false;
    await appendAuditLog(tx, {
      organizationId: input.organizationId,
      actorUserId: null,
      action: `reconciliation.${input.outcome}`,
      subjectType: 'application',
      subjectId: input.applicationId,
      details: {
        runId: input.runId,
        drift: input.kind,
        discordUserId: input.discordUserId,
        ...(input.roleId ? { roleId: input.roleId } : {}),
        ...(input.detail ? { detail: input.detail } : {}),
      },
    });
    return true;
  });
}

/** Applications a run's findings changed the status of, as they are now (still failed): to hand off. */
export async function listDriftStatusChanges(
  db: Db,
  runId: string,
): Promise<Array<{ applicationId: string; roleStatus: RoleAssignmentStatus }>> {
  const { rows } = await db.query<{ id: string; discord_role_assignment_status: RoleAssignmentStatus }>(
    `SELECT DISTINCT a.id, a.discord_role_assignment_status FROM reconciliation_drift d
     JOIN applications a ON a.id = d.application_id
     WHERE d.run_id = $1 AND d.outcome IN ('marked_left', 'reported') AND a.status = 'approved_role_failed'`,
    [runId],
  );
  return rows.map((r) => ({ applicationId: r.id, roleStatus: r.discord_role_assignment_status }));
}

export async function findReconciliationRun(db: Db, id: string): Promise<ReconciliationRun | null> {
  const { rows } = await db.query(`SELECT ${RUN_COLUMNS} FROM reconciliation_runs r WHERE r.id = $1`, [id]);
  return rows[0] ? toRun(rows[0]) : null;
}

/** The organization's latest runs, newest first. */
export async function listReconciliationRuns(
  db: Db,
  organizationId: string,
  options: { limit: number },
): Promise<ReconciliationRun[]> {
  const { rows } = await db.query(
    `SELECT ${RUN_COLUMNS} FROM reconciliation_runs r WHERE r.organization_id = $1
     ORDER BY r.started_at DESC, r.id LIMIT $2`,
    [organizationId, options.limit],
  );
  return rows.map(toRun);
}

/**
 * How the organization's last finished run of the past day compared members, other than `runId`:
 * `one_by_one` means the bot lacks the Server Members intent (a listing is tried again a day later).
 */
export async function lastMemberSource(db: Db, organizationId: string, runId: string): Promise<MemberSource | null> {
  const { rows } = await db.query<{ member_source: MemberSource }>(
    `SELECT member_source FROM reconciliation_runs
     WHERE organization_id = $1 AND id <> $2 AND member_source IS NOT NULL AND finished_at > now() - interval '1 day'
     ORDER BY finished_at DESC LIMIT 1`,
    [organizationId, runId],
  );
  return rows[0]?.member_source ?? null;
}

/** The last finished run's health check (any trigger) of the current connection: what Settings shows. */
export async function latestHealth(
  db: Db,
  organizationId: string,
): Promise<{ checkedAt: Date; findings: HealthFinding[]; repaired: number; runId: string } | null> {
  const { rows } = await db.query(
    `SELECT ${RUN_COLUMNS} FROM reconciliation_runs r
     JOIN discord_configs c ON c.organization_id = r.organization_id
     WHERE r.organization_id = $1 AND r.finished_at IS NOT NULL AND r.error IS NULL
       -- A check of an earlier connection says nothing of this one.
       AND r.guild_id = c.guild_id AND r.started_at >= c.bot_added_at
     ORDER BY r.finished_at DESC LIMIT 1`,
    [organizationId],
  );
  if (!rows[0]) return null;
  const run = toRun(rows[0]);
  return { checkedAt: run.finishedAt!, findings: run.findings, repaired: run.repaired, runId: run.id };
}

// --- What is compared ---------------------------------------------------------------------------

/** An application a reconciliation compares with Discord: a settled grant, or a settled reversal. */
export interface ReconciliationSubject {
  applicationId: string;
  discordUserId: string;
  status: ApplicationStatus;
  roleStatus: RoleAssignmentStatus;
  roleIds: string[] | null;
  rolesHeldBefore: string[] | null;
}

const SUBJECT_FILTER = `a.discord_user_id IS NOT NULL AND a.discord_role_ids IS NOT NULL
  AND (a.status = 'approved_role_assigned' OR (a.status = 'Rejected' AND a.discord_role_assignment_status = 'not_applicable'))`;

const toSubject = (row: Record<string, unknown>): ReconciliationSubject => ({
  applicationId: row.id as string,
  discordUserId: row.discord_user_id as string,
  status: row.status as ApplicationStatus,
  roleStatus: row.discord_role_assignment_status as RoleAssignmentStatus,
  roleIds: row.discord_role_ids as string[] | null,
  rolesHeldBefore: row.discord_roles_held_before as string[] | null,
});

/** The subjects among these Discord users, and every live approval of theirs (for shared roles). */
export async function findSubjectsOfUsers(
  db: Db,
  organizationId: string,
  discordUserIds: string[],
): Promise<{ subjects: ReconciliationSubject[]; neededRoles: Map<string, Map<string, Set<string>>> }> {
  const { rows } = await db.query(
    `SELECT a.id, a.discord_user_id, a.status, a.discord_role_assignment_status, a.discord_role_ids,
            a.discord_roles_held_before
     FROM applications a
     WHERE a.organization_id = $1 AND a.discord_user_id = ANY($2::text[])
       AND (${SUBJECT_FILTER} OR a.status IN ('approved_pending_role', 'approved_role_failed'))`,
    [organizationId, discordUserIds],
  );
  const all = rows.map(toSubject);
  // Per user, per application: the roles their other live approvals are for.
  const neededRoles = new Map<string, Map<string, Set<string>>>();
  for (const s of all) {
    const needed = new Set<string>();
    for (const o of all) {
      if (o.discordUserId !== s.discordUserId || o.applicationId === s.applicationId) continue;
      if (o.status === 'Rejected') continue;
      for (const r of o.roleIds ?? []) needed.add(r);
    }
    const perUser = neededRoles.get(s.discordUserId) ?? new Map<string, Set<string>>();
    perUser.set(s.applicationId, needed);
    neededRoles.set(s.discordUserId, perUser);
  }
  const subjects = all.filter(
    (s) => s.status === 'approved_role_assigned' || (s.status === 'Rejected' && s.roleStatus === 'not_applicable'),
  );
  return { subjects, neededRoles };
}

/** The next Discord users (by ID) with a subject, for a reconciliation that checks them one by one. */
export async function listSubjectUsersAfter(
  db: Db,
  organizationId: string,
  input: { afterUserId: string | null; limit: number },
): Promise<string[]> {
  const { rows } = await db.query<{ discord_user_id: string }>(
    `SELECT a.discord_user_id FROM applications a
     WHERE a.organization_id = $1 AND ${SUBJECT_FILTER}
       AND ($2::text IS NULL OR a.discord_user_id::numeric > $2::numeric)
     GROUP BY a.discord_user_id ORDER BY a.discord_user_id::numeric LIMIT $3`,
    [organizationId, input.afterUserId, input.limit],
  );
  return rows.map((r) => r.discord_user_id);
}

/** How many Discord users have a subject (to spread one-by-one checks over the period). */
export async function countSubjectUsers(db: Db, organizationId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(DISTINCT a.discord_user_id)::int AS n FROM applications a WHERE a.organization_id = $1 AND ${SUBJECT_FILTER}`,
    [organizationId],
  );
  return rows[0]?.n ?? 0;
}

/**
 * Approved members the run's full listing of the guild did not see (`listedSince`: when the listing
 * began): they left the server.
 */
export async function findApprovedNotListedSince(
  db: Db,
  input: { organizationId: string; guildId: string; listedSince: Date; limit: number },
): Promise<ReconciliationSubject[]> {
  const { rows } = await db.query(
    `SELECT a.id, a.discord_user_id, a.status, a.discord_role_assignment_status, a.discord_role_ids,
            a.discord_roles_held_before
     FROM applications a
     WHERE a.organization_id = $1 AND a.status = 'approved_role_assigned' AND ${SUBJECT_FILTER}
       AND NOT EXISTS (SELECT 1 FROM discord_guild_members m
                       WHERE m.guild_id = $2 AND m.user_id = a.discord_user_id AND m.seen_at >= $3)
     ORDER BY a.id LIMIT $4`,
    [input.organizationId, input.guildId, input.listedSince, input.limit],
  );
  return rows.map(toSubject);
}

// --- The member cache ---------------------------------------------------------------------------

/** Members seen now (their roles and screening). */
export async function saveGuildMembers(
  db: Db,
  guildId: string,
  members: Array<{ userId: string; roleIds: string[]; pending: boolean }>,
): Promise<void> {
  if (members.length === 0) return;
  await db.query(
    `INSERT INTO discord_guild_members (guild_id, user_id, role_ids, pending, seen_at)
     SELECT $1, m.user_id, ARRAY(SELECT jsonb_array_elements_text(m.role_ids)), m.pending, now()
     FROM jsonb_to_recordset($2::jsonb) AS m(user_id text, role_ids jsonb, pending boolean)
     ON CONFLICT (guild_id, user_id) DO UPDATE
       SET role_ids = EXCLUDED.role_ids, pending = EXCLUDED.pending, seen_at = EXCLUDED.seen_at`,
    [guildId, JSON.stringify(members.map((m) => ({ user_id: m.userId, role_ids: m.roleIds, pending: m.pending })))],
  );
}

/** A guild disconnected: the cache of its members goes. */
export async function forgetGuild(db: Db, guildId: string): Promise<void> {
  await db.query(`DELETE FROM discord_guild_members WHERE guild_id = $1`, [guildId]);
}

/** Members found gone: forgotten. */
export async function forgetGuildMembers(db: Db, guildId: string, userIds: string[]): Promise<void> {
  if (userIds.length === 0) return;
  await db.query(`DELETE FROM discord_guild_members WHERE guild_id = $1 AND user_id = ANY($2::text[])`, [
    guildId,
    userIds,
  ]);
}

/**
 * A full listing of the guild finished: members not seen since it began are gone, and the cache is
 * complete as of `listedSince`.
 */
export async function completeMemberListing(
  pool: Pool,
  input: { organizationId: string; guildId: string; listedSince: Date },
): Promise<void> {
  await withTransaction(pool, async (tx) => {
    await tx.query(`DELETE FROM discord_guild_members WHERE guild_id = $1 AND seen_at < $2`, [
      input.guildId,
      input.listedSince,
    ]);
    await tx.query(`UPDATE discord_configs SET members_listed_at = $3 WHERE organization_id = $1 AND guild_id = $2`, [
      input.organizationId,
      input.guildId,
      input.listedSince,
    ]);
  });
}

/** The bot cannot list members (no Server Members intent): the cache is partial from now on. */
export async function markMemberListingUnavailable(db: Db, organizationId: string): Promise<void> {
  await db.query(`UPDATE discord_configs SET members_listed_at = NULL WHERE organization_id = $1`, [organizationId]);
}

/** What the cache says of these users: present (with screening), or absent. */
export async function findCachedMembers(
  db: Db,
  guildId: string,
  userIds: string[],
): Promise<Map<string, { pending: boolean; roleIds: string[] }>> {
  if (userIds.length === 0) return new Map();
  const { rows } = await db.query<{ user_id: string; pending: boolean; role_ids: string[] }>(
    `SELECT user_id, pending, role_ids FROM discord_guild_members WHERE guild_id = $1 AND user_id = ANY($2::text[])`,
    [guildId, userIds],
  );
  return new Map(rows.map((r) => [r.user_id, { pending: r.pending, roleIds: r.role_ids }]));
}
