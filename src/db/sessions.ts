import type { Pool, PoolClient } from './pool.js';
import type { UserRole } from './users.js';

/** A live session and the user it signs in. */
export interface SessionWithUser {
  sessionId: string;
  expiresAt: Date;
  user: { id: string; email: string; role: UserRole; organizationId: string | null };
}

/** Stores a session by the SHA-256 of its token; the token itself never reaches the database. */
export async function insertSession(
  db: Pool | PoolClient,
  input: { tokenHash: Buffer; userId: string; expiresAt: Date },
): Promise<{ id: string; expiresAt: Date }> {
  const result = await db.query<{ id: string; expires_at: Date }>(
    `INSERT INTO sessions (token_hash, user_id, expires_at)
     VALUES ($1, $2, $3)
     RETURNING id, expires_at`,
    [input.tokenHash, input.userId, input.expiresAt],
  );
  const row = result.rows[0]!;
  return { id: row.id, expiresAt: row.expires_at };
}

/** The unexpired session with this token hash, with its user; null when unknown or expired. */
export async function findLiveSessionByTokenHash(
  db: Pool | PoolClient,
  tokenHash: Buffer,
): Promise<SessionWithUser | null> {
  const result = await db.query<{
    session_id: string;
    expires_at: Date;
    user_id: string;
    email: string;
    role: UserRole;
    organization_id: string | null;
  }>(
    `SELECT s.id AS session_id, s.expires_at, u.id AS user_id, u.email, u.role, u.organization_id
     FROM sessions s
     JOIN users u ON u.id = s.user_id
     WHERE s.token_hash = $1
       AND s.expires_at > now()`,
    [tokenHash],
  );
  const row = result.rows[0];
  if (!row) return null;
  return {
    sessionId: row.session_id,
    expiresAt: row.expires_at,
    user: { id: row.user_id, email: row.email, role: row.role, organizationId: row.organization_id },
  };
}

/** Deletes one session; true when it existed. */
export async function deleteSession(db: Pool | PoolClient, sessionId: string): Promise<boolean> {
  const result = await db.query(
    `DELETE FROM sessions
     WHERE id = $1`,
    [sessionId],
  );
  return (result.rowCount ?? 0) > 0;
}

/** Deletes the sessions that expired; returns how many. Lookups refuse them anyway; this keeps the table small. */
export async function deleteExpiredSessions(db: Pool | PoolClient): Promise<number> {
  const result = await db.query(
    `DELETE FROM sessions
     WHERE expires_at <= now()`,
  );
  return result.rowCount ?? 0;
}
