import type { Pool, PoolClient } from './pool.js';

/** What happened, who did it, to what. `details` must never hold passwords, tokens or cookies. */
export interface AuditLogEntry {
  organizationId: string | null;
  actorUserId: string | null;
  /** A dotted verb such as `user.login` or `application.approve`. */
  action: string;
  subjectType: string | null;
  subjectId: string | null;
  details?: Record<string, unknown>;
}

/** Appends one row to `audit_log` (append-only: a trigger refuses UPDATE and DELETE). Returns its id. */
export async function appendAuditLog(db: Pool | PoolClient, entry: AuditLogEntry): Promise<string> {
  const result = await db.query<{ id: string }>(
    `INSERT INTO audit_log (organization_id, actor_user_id, action, subject_type, subject_id, details)
     VALUES ($1, $2, $3, $4, $5, $6)
     RETURNING id`,
    [
      entry.organizationId,
      entry.actorUserId,
      entry.action,
      entry.subjectType,
      entry.subjectId,
      JSON.stringify(entry.details ?? {}),
    ],
  );
  return result.rows[0]!.id;
}

/** Appends many rows in one statement. */
export async function appendAuditLogs(db: Pool | PoolClient, entries: AuditLogEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await db.query(
    `INSERT INTO audit_log (organization_id, actor_user_id, action, subject_type, subject_id, details)
     SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::jsonb[])`,
    [
      entries.map((e) => e.organizationId),
      entries.map((e) => e.actorUserId),
      entries.map((e) => e.action),
      entries.map((e) => e.subjectType),
      entries.map((e) => e.subjectId),
      entries.map((e) => JSON.stringify(e.details ?? {})),
    ],
  );
}

/** One audit-log row as the API shows it, with the actor's email when the actor is a user. */
export interface AuditLogRecord {
  id: string;
  at: Date;
  action: string;
  actor: { id: string; email: string } | null;
  subjectType: string | null;
  subjectId: string | null;
  details: Record<string, unknown>;
}

export interface AuditLogFilter {
  organizationId: string;
  applicationId?: string;
  actorUserId?: string;
  /** An exact action (`application.approved`), or a prefix ending with a dot (`application.`). */
  action?: string;
  after?: Date;
  before?: Date;
  /** Rows older than this row id (the previous page's last `id`). */
  beforeId?: string;
  limit: number;
}

interface AuditLogRow {
  id: string;
  created_at: Date;
  action: string;
  actor_user_id: string | null;
  actor_email: string | null;
  subject_type: string | null;
  subject_id: string | null;
  details: Record<string, unknown>;
}

const toRecord = (row: AuditLogRow): AuditLogRecord => ({
  id: row.id,
  at: row.created_at,
  action: row.action,
  actor: row.actor_user_id && row.actor_email ? { id: row.actor_user_id, email: row.actor_email } : null,
  subjectType: row.subject_type,
  subjectId: row.subject_id,
  details: row.details,
});

/** An organization's audit log, newest first, filtered; `limit` rows at most. */
export async function listAuditLog(db: Pool | PoolClient, filter: AuditLogFilter): Promise<AuditLogRecord[]> {
  const prefix = filter.action?.endsWith('.') ? filter.action : null;
  const { rows } = await db.query<AuditLogRow>(
    `SELECT a.id::text AS id, a.created_at, a.action, a.actor_user_id, u.email AS actor_email,
            a.subject_type, a.subject_id, a.details
       FROM audit_log a LEFT JOIN users u ON u.id = a.actor_user_id
      WHERE a.organization_id = $1
        AND ($2::text IS NULL OR (a.subject_type = 'application' AND a.subject_id = $2))
        AND ($3::uuid IS NULL OR a.actor_user_id = $3)
        AND ($4::text IS NULL OR a.action = $4)
        AND ($5::text IS NULL OR starts_with(a.action, $5))
        AND ($6::timestamptz IS NULL OR a.created_at >= $6)
        AND ($7::timestamptz IS NULL OR a.created_at < $7)
        AND ($8::bigint IS NULL OR a.id < $8)
      ORDER BY a.id DESC
      LIMIT $9`,
    [
      filter.organizationId,
      filter.applicationId ?? null,
      filter.actorUserId ?? null,
      prefix ? null : (filter.action ?? null),
      prefix,
      filter.after ?? null,
      filter.before ?? null,
      filter.beforeId ?? null,
      filter.limit,
    ],
  );
  return rows.map(toRecord);
}

/** What the audit log says about one application, oldest first: its latest `limit` entries. */
export async function applicationAuditTrail(
  db: Pool | PoolClient,
  input: { organizationId: string; applicationId: string; limit: number },
): Promise<AuditLogRecord[]> {
  const { rows } = await db.query<AuditLogRow>(
    `SELECT a.id::text AS id, a.created_at, a.action, a.actor_user_id, u.email AS actor_email,
            a.subject_type, a.subject_id, a.details
       FROM audit_log a LEFT JOIN users u ON u.id = a.actor_user_id
      WHERE a.organization_id = $1 AND a.subject_type = 'application' AND a.subject_id = $2
      ORDER BY a.id DESC
      LIMIT $3`,
    [input.organizationId, input.applicationId, input.limit],
  );
  return rows.map(toRecord).reverse();
}
