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
