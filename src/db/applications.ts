import type { Application } from '../domain/application.js';
import type { ApplicationStatus, RoleAssignmentStatus, StateChange } from '../domain/application-lifecycle.js';
import { discordUserIdOf, isValidDiscordId } from '../domain/discord-id.js';
import { discordUserOf } from '../domain/discord-user.js';
import type { Pool, PoolClient } from './pool.js';

type Db = Pool | PoolClient;

export const applicationColumns = `id, organization_id, applicant_name, applicant_email, custom_data, status, notes,
  reviewed_by, reviewed_at, discord_role_assignment_status, discord_role_assignment_error,
  discord_role_assignment_error_type, discord_role_assignment_attempted_at, discord_role_assignment_retry_count,
  discord_user_id, discord_verified, discord_username, discord_global_name, discord_avatar, created_at, updated_at,
  form_id, form_version, answers`;

const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : v === null || v === undefined ? null : String(v));

export function toApplication(row: Record<string, unknown>): Application {
  return {
    id: row.id as string,
    organizationId: row.organization_id as string,
    applicant: { name: row.applicant_name as string, email: row.applicant_email as string },
    custom_data: (row.custom_data ?? {}) as Record<string, unknown>,
    formId: row.form_id as string,
    formVersion: Number(row.form_version),
    answers: (row.answers ?? {}) as Application['answers'],
    discordUser: row.discord_user_id
      ? {
          ...discordUserOf({
            id: row.discord_user_id as string,
            username: (row.discord_username as string | null) ?? null,
            globalName: (row.discord_global_name as string | null) ?? null,
            avatar: (row.discord_avatar as string | null) ?? null,
          }),
          verified: row.discord_verified === true,
        }
      : null,
    status: row.status as ApplicationStatus,
    notes: (row.notes as string | null) ?? null,
    reviewedBy: (row.reviewed_by as string | null) ?? null,
    reviewedAt: iso(row.reviewed_at),
    roleAssignment: {
      status: row.discord_role_assignment_status as RoleAssignmentStatus,
      error: (row.discord_role_assignment_error as string | null) ?? null,
      errorType: (row.discord_role_assignment_error_type as string | null) ?? null,
      attemptedAt: iso(row.discord_role_assignment_attempted_at),
      retryCount: Number(row.discord_role_assignment_retry_count),
    },
    createdAt: iso(row.created_at)!,
    updatedAt: iso(row.updated_at)!,
  };
}

/** The Discord account an applicant signed in with. */
export interface VerifiedDiscordAccount {
  id: string;
  username: string;
  globalName: string | null;
  avatar: string | null;
}

/**
 * Stores an application. The role goes to `verifiedAccount` when the applicant signed in; else to
 * the ID typed into `customData` when it is a valid one (unverified).
 */
export async function insertApplication(
  db: Db,
  input: {
    organizationId: string;
    name: string;
    email: string;
    customData: Record<string, unknown>;
    verifiedAccount?: VerifiedDiscordAccount;
    /** The form and version answered (read in the same transaction), and the checked answers. */
    form?: { id: string; version: number; answers: Record<string, unknown> };
  },
): Promise<Application> {
  const typed = discordUserIdOf(input.customData);
  const account = input.verifiedAccount;
  const { rows } = await db.query(
    `INSERT INTO applications (organization_id, applicant_name, applicant_email, custom_data, discord_user_id,
       discord_verified, discord_username, discord_global_name, discord_avatar, form_id, form_version, answers)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING ${applicationColumns}`,
    [
      input.organizationId,
      input.name,
      input.email,
      JSON.stringify(input.customData),
      account?.id ?? (isValidDiscordId(typed) ? typed : null),
      account !== undefined,
      account?.username ?? null,
      account?.globalName ?? null,
      account?.avatar ?? null,
      // Without a form: the organization's default form as it is now (a trigger fills it in).
      input.form?.id ?? null,
      input.form?.version ?? null,
      JSON.stringify(input.form?.answers ?? {}),
    ],
  );
  return toApplication(rows[0]!);
}

/** The organization's live (pending or approved) application of a verified account, if any. */
export async function findLiveApplicationOfAccount(
  db: Db,
  organizationId: string,
  discordUserId: string,
): Promise<Application | null> {
  const { rows } = await db.query(
    `SELECT ${applicationColumns} FROM applications
     WHERE organization_id = $1 AND discord_user_id = $2 AND discord_verified
       AND status IN ('Pending', 'Approved', 'approved_pending_role', 'approved_role_assigned', 'approved_role_failed')
     LIMIT 1`,
    [organizationId, discordUserId],
  );
  return rows[0] ? toApplication(rows[0]) : null;
}

export async function findApplication(db: Db, id: string, organizationId?: string): Promise<Application | null> {
  const { rows } = await db.query(
    `SELECT ${applicationColumns} FROM applications WHERE id = $1 AND ($2::uuid IS NULL OR organization_id = $2)`,
    [id, organizationId ?? null],
  );
  return rows[0] ? toApplication(rows[0]) : null;
}

export async function lockApplication(db: PoolClient, id: string): Promise<Application | null> {
  const { rows } = await db.query(`SELECT ${applicationColumns} FROM applications WHERE id = $1 FOR UPDATE`, [id]);
  return rows[0] ? toApplication(rows[0]) : null;
}

export interface ListApplicationsQuery {
  organizationId: string;
  status?: ApplicationStatus;
  roleStatus?: RoleAssignmentStatus;
  /** Only the applications to this form. */
  formId?: string;
  limit: number;
  /** Keyset cursor: the (created_at, id) of the last item of the previous page. */
  after?: PageKey;
}

/** Where a page ends. `createdAt` is Postgres' own text of the timestamp: microseconds, which a JS Date would cut to milliseconds. */
export interface PageKey {
  createdAt: string;
  id: string;
}

/** One page, each application with the key a cursor after it is made of. */
export async function listApplications(
  db: Db,
  q: ListApplicationsQuery,
): Promise<Array<{ application: Application; key: PageKey }>> {
  const { rows } = await db.query(
    `SELECT ${applicationColumns}, created_at::text AS page_created_at FROM applications
     WHERE organization_id = $1
       AND ($2::application_status IS NULL OR status = $2)
       AND ($3::role_assignment_status IS NULL OR discord_role_assignment_status = $3)
       AND ($4::timestamptz IS NULL OR (created_at, id) < ($4, $5::uuid))
       AND ($7::uuid IS NULL OR form_id = $7)
     ORDER BY created_at DESC, id DESC
     LIMIT $6`,
    [
      q.organizationId,
      q.status ?? null,
      q.roleStatus ?? null,
      q.after?.createdAt ?? null,
      q.after?.id ?? null,
      q.limit,
      q.formId ?? null,
    ],
  );
  return rows.map((row) => ({
    application: toApplication(row),
    key: { createdAt: row.page_created_at as string, id: row.id as string },
  }));
}

/** Assignments pending for longer than `olderThanSeconds`, and failed ones, oldest first. */
export async function listStuckAssignments(
  db: Db,
  q: { organizationId: string; olderThanSeconds: number; limit: number },
): Promise<Application[]> {
  const { rows } = await db.query(
    `SELECT ${applicationColumns} FROM applications
     WHERE organization_id = $1
       AND ((discord_role_assignment_status = 'pending' AND updated_at < now() - make_interval(secs => $2))
            OR discord_role_assignment_status = 'failed')
     ORDER BY updated_at ASC
     LIMIT $3`,
    [q.organizationId, q.olderThanSeconds, q.limit],
  );
  return rows.map(toApplication);
}

/**
 * Writes a change the application state machine decided (src/domain/application-lifecycle.ts).
 * The caller holds the row's lock (`lockApplication`) and decided the change from what it read
 * there, so nothing else can have moved the row meanwhile.
 */
export async function writeStateChange(
  db: PoolClient,
  input: { id: string; change: StateChange; review?: { reviewedBy: string; notes: string | null | undefined } },
): Promise<Application> {
  const c = input.change;
  const { rows } = await db.query(
    `UPDATE applications SET
       status = $2,
       discord_role_assignment_status = $3,
       discord_role_assignment_error = CASE WHEN $4::boolean THEN $5 ELSE discord_role_assignment_error END,
       discord_role_assignment_error_type = CASE WHEN $6::boolean THEN $7 ELSE discord_role_assignment_error_type END,
       discord_role_assignment_attempted_at = CASE WHEN $8::boolean THEN now() ELSE discord_role_assignment_attempted_at END,
       discord_role_assignment_retry_count = discord_role_assignment_retry_count + CASE WHEN $9::boolean THEN 1 ELSE 0 END,
       reviewed_by = CASE WHEN $10::boolean THEN $11::uuid ELSE reviewed_by END,
       reviewed_at = CASE WHEN $10::boolean THEN now() ELSE reviewed_at END,
       notes = CASE WHEN $10::boolean AND $12::boolean THEN $13 ELSE notes END,
       updated_at = now()
     WHERE id = $1
     RETURNING ${applicationColumns}`,
    [
      input.id,
      c.status,
      c.roleStatus,
      c.roleError !== undefined,
      c.roleError ?? null,
      c.errorType !== undefined,
      c.errorType ?? null,
      c.attempted ?? false,
      c.incrementRetryCount ?? false,
      input.review !== undefined,
      input.review?.reviewedBy ?? null,
      input.review?.notes !== undefined,
      input.review?.notes ?? null,
    ],
  );
  if (!rows[0]) throw new Error(`application ${input.id} vanished while locked`);
  return toApplication(rows[0]);
}

/**
 * One page (by id) of an organization's assignments that a new connection may fix: those that
 * failed with one of `errorTypes`, and those still running (an attempt may be about to fail with
 * one of them).
 */
export async function listAssignmentsToRedrive(
  db: Db,
  q: { organizationId: string; errorTypes: readonly string[]; afterId: string | null; limit: number },
): Promise<Array<{ id: string; organizationId: string }>> {
  const { rows } = await db.query<{ id: string; organization_id: string }>(
    `SELECT id, organization_id FROM applications
     WHERE organization_id = $1
       AND (discord_role_assignment_status = 'pending'
            OR (discord_role_assignment_status = 'failed' AND discord_role_assignment_error_type = ANY($2::text[])))
       AND ($3::uuid IS NULL OR id > $3)
     ORDER BY id
     LIMIT $4`,
    [q.organizationId, q.errorTypes, q.afterId, q.limit],
  );
  return rows.map((r) => ({ id: r.id, organizationId: r.organization_id }));
}

/**
 * Records what a grant saw of the roles it is for before it changed anything: which of them the
 * member already held on their own (an admin gave them, or they had them before this project).
 * A role that another application of theirs here gave does not count as their own: this
 * application shares it. Each role is observed once, the first time a grant of this application
 * looks with that role among the organization's add roles (a retry after a grant that landed sees
 * the role, and must not take it for the member's own); `replace` observes those roles again (the
 * member turned out to be in the server after all).
 *
 * Returns the roles observed for the first time now, and every role held before.
 */
export async function observeRolesHeldBefore(
  db: Db,
  id: string,
  input: { roleIds: string[]; heldNow: string[]; replace?: string[] },
): Promise<{ firstObserved: string[]; heldBefore: string[] }> {
  const { rows } = await db.query<{ first: string[]; held_before: string[] }>(
    `WITH b AS (
       SELECT a.id, coalesce(a.discord_role_ids, '{}') AS known, coalesce(a.discord_roles_held_before, '{}') AS held
       FROM applications a WHERE a.id = $1 FOR UPDATE
     ), observed AS (
       SELECT r FROM unnest($2::text[]) r, b WHERE NOT r = ANY(b.known) OR r = ANY($4::text[])
     ), own AS (
       -- Held now, and not given by another live grant of the same member here.
       SELECT r FROM observed
       WHERE r = ANY($3::text[]) AND NOT EXISTS (
         SELECT 1 FROM applications o, applications a
         WHERE a.id = $1 AND o.organization_id = a.organization_id AND o.discord_user_id = a.discord_user_id
           AND o.id <> a.id AND r = ANY(o.discord_role_ids) AND NOT r = ANY(o.discord_roles_held_before)
           AND (o.status IN ('approved_role_assigned', 'approved_pending_role', 'approved_role_failed')
                OR (o.status = 'Rejected' AND o.discord_role_assignment_status IN ('pending', 'failed'))))
     )
     UPDATE applications a
     SET discord_role_ids = ARRAY(SELECT DISTINCT x FROM unnest(b.known || ARRAY(SELECT r FROM observed)) x ORDER BY x),
         discord_roles_held_before = ARRAY(
           SELECT DISTINCT x FROM unnest(b.held) x WHERE NOT x = ANY(ARRAY(SELECT r FROM observed))
           UNION SELECT r FROM own ORDER BY 1)
     FROM b WHERE a.id = b.id
     RETURNING ARRAY(SELECT r FROM observed WHERE NOT r = ANY(b.known)) AS first, a.discord_roles_held_before AS held_before`,
    [id, input.roleIds, input.heldNow, input.replace ?? []],
  );
  return { firstObserved: rows[0]?.first ?? [], heldBefore: rows[0]?.held_before ?? [] };
}

/**
 * Which roles a reversal may take back, and why any other is kept: only roles this application's
 * grant gave (the member did not hold them on their own), and only those no other approval of the
 * member here still holds (assigned, or being assigned).
 */
export async function rolesToTakeBack(
  db: Db,
  id: string,
): Promise<{ takeBack: string[]; kept: 'held_before' | 'never_granted' | 'other_application' | null }> {
  const { rows } = await db.query<{ role_ids: string[] | null; held_before: string[] | null; others: string[] }>(
    `SELECT a.discord_role_ids AS role_ids, a.discord_roles_held_before AS held_before,
            ARRAY(
              SELECT DISTINCT unnest(o.discord_role_ids) FROM applications o
              WHERE o.organization_id = a.organization_id AND o.discord_user_id = a.discord_user_id
                AND o.id <> a.id
                -- Failed too: a member gone or a role only reported is still approved.
                AND o.status IN ('approved_role_assigned', 'approved_pending_role', 'approved_role_failed')
            ) AS others
     FROM applications a WHERE a.id = $1`,
    [id],
  );
  const row = rows[0];
  if (!row?.role_ids || row.role_ids.length === 0) return { takeBack: [], kept: 'never_granted' };
  const given = row.role_ids.filter((r) => !(row.held_before ?? []).includes(r));
  if (given.length === 0) return { takeBack: [], kept: 'held_before' };
  const takeBack = given.filter((r) => !row.others.includes(r));
  return { takeBack, kept: takeBack.length === 0 ? 'other_application' : null };
}

/**
 * `writeStateChange` for many locked rows in one statement (a bulk review's chunk). Returns the
 * applications as written, in no particular order.
 */
export async function writeStateChanges(
  db: PoolClient,
  rows: Array<{ id: string; change: StateChange; review?: { reviewedBy: string; notes: string | null | undefined } }>,
): Promise<Application[]> {
  if (rows.length === 0) return [];
  const col = <T>(f: (r: (typeof rows)[number]) => T) => rows.map(f);
  const { rows: written } = await db.query(
    `UPDATE applications AS a SET
       status = c.status::application_status,
       discord_role_assignment_status = c.role_status::role_assignment_status,
       discord_role_assignment_error = CASE WHEN c.set_error THEN c.error ELSE a.discord_role_assignment_error END,
       discord_role_assignment_error_type = CASE WHEN c.set_error_type THEN c.error_type ELSE a.discord_role_assignment_error_type END,
       discord_role_assignment_attempted_at = CASE WHEN c.attempted THEN now() ELSE a.discord_role_assignment_attempted_at END,
       discord_role_assignment_retry_count = a.discord_role_assignment_retry_count + CASE WHEN c.increment THEN 1 ELSE 0 END,
       reviewed_by = CASE WHEN c.reviewed THEN c.reviewed_by ELSE a.reviewed_by END,
       reviewed_at = CASE WHEN c.reviewed THEN now() ELSE a.reviewed_at END,
       notes = CASE WHEN c.reviewed AND c.set_notes THEN c.notes ELSE a.notes END,
       updated_at = now()
     FROM unnest($1::uuid[], $2::text[], $3::text[], $4::boolean[], $5::text[], $6::boolean[], $7::text[],
                 $8::boolean[], $9::boolean[], $10::boolean[], $11::uuid[], $12::boolean[], $13::text[])
       AS c(id, status, role_status, set_error, error, set_error_type, error_type, attempted, increment, reviewed,
            reviewed_by, set_notes, notes)
     WHERE a.id = c.id
     RETURNING ${applicationColumns
       .split(',')
       .map((c) => `a.${c.trim()}`)
       .join(', ')}`,
    [
      col((r) => r.id),
      col((r) => r.change.status),
      col((r) => r.change.roleStatus),
      col((r) => r.change.roleError !== undefined),
      col((r) => r.change.roleError ?? null),
      col((r) => r.change.errorType !== undefined),
      col((r) => r.change.errorType ?? null),
      col((r) => r.change.attempted ?? false),
      col((r) => r.change.incrementRetryCount ?? false),
      col((r) => r.review !== undefined),
      col((r) => r.review?.reviewedBy ?? null),
      col((r) => r.review?.notes !== undefined),
      col((r) => r.review?.notes ?? null),
    ],
  );
  return written.map(toApplication);
}

/** Locks the organization's applications among `ids` (in id order, so two bulks never deadlock). */
export async function lockApplications(db: PoolClient, ids: string[], organizationId: string): Promise<Application[]> {
  const { rows } = await db.query(
    `SELECT ${applicationColumns} FROM applications
     WHERE id = ANY($1::uuid[]) AND organization_id = $2 ORDER BY id FOR UPDATE`,
    [ids, organizationId],
  );
  return rows.map(toApplication);
}

/** Organizations with grants held back by the bot token or a paused connection (a fix re-drives them). */
export async function organizationsWithHeldBackGrants(db: Db): Promise<string[]> {
  const { rows } = await db.query<{ organization_id: string }>(
    `SELECT DISTINCT organization_id FROM applications
     WHERE discord_role_assignment_status = 'failed'
       AND discord_role_assignment_error_type IN ('grants_paused', 'invalid_bot_token')`,
  );
  return rows.map((r) => r.organization_id);
}
