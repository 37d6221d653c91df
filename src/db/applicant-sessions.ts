import type { Pool, PoolClient } from './pool.js';
import type { VerifiedDiscordAccount } from './applications.js';

type Db = Pool | PoolClient;

export interface ApplicantSessionRow {
  id: string;
  organizationId: string;
  account: VerifiedDiscordAccount;
  /** Encrypted (bound to this session); null once moved to an application. */
  accessTokenEnc: string | null;
  refreshTokenEnc: string | null;
  tokenExpiresAt: Date | null;
  expiresAt: Date;
}

function toRow(r: Record<string, unknown>): ApplicantSessionRow {
  return {
    id: r.id as string,
    organizationId: r.organization_id as string,
    account: {
      id: r.discord_user_id as string,
      username: r.discord_username as string,
      globalName: (r.discord_global_name as string | null) ?? null,
      avatar: (r.discord_avatar as string | null) ?? null,
    },
    accessTokenEnc: (r.access_token_enc as string | null) ?? null,
    refreshTokenEnc: (r.refresh_token_enc as string | null) ?? null,
    tokenExpiresAt: (r.token_expires_at as Date | null) ?? null,
    expiresAt: r.expires_at as Date,
  };
}

const COLUMNS = `id, organization_id, discord_user_id, discord_username, discord_global_name, discord_avatar,
  access_token_enc, refresh_token_enc, token_expires_at, expires_at`;

export async function insertApplicantSession(
  db: Db,
  input: {
    id: string;
    tokenHash: Buffer;
    organizationId: string;
    account: VerifiedDiscordAccount;
    accessTokenEnc: string;
    refreshTokenEnc: string;
    tokenExpiresAt: Date;
    expiresAt: Date;
  },
): Promise<void> {
  await db.query(
    `INSERT INTO applicant_sessions (id, token_hash, organization_id, discord_user_id, discord_username,
       discord_global_name, discord_avatar, access_token_enc, refresh_token_enc, token_expires_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
    [
      input.id,
      input.tokenHash,
      input.organizationId,
      input.account.id,
      input.account.username,
      input.account.globalName,
      input.account.avatar,
      input.accessTokenEnc,
      input.refreshTokenEnc,
      input.tokenExpiresAt,
      input.expiresAt,
    ],
  );
}

/** The live sign-in of a cookie's token hash for this organization, or null. */
export async function findLiveApplicantSession(
  db: Db,
  tokenHash: Buffer,
  organizationId: string,
): Promise<ApplicantSessionRow | null> {
  const { rows } = await db.query(
    `SELECT ${COLUMNS} FROM applicant_sessions
     WHERE token_hash = $1 AND organization_id = $2 AND expires_at > now()`,
    [tokenHash, organizationId],
  );
  return rows[0] ? toRow(rows[0]) : null;
}

/** A live sign-in by id, locked for the caller's transaction (a submission uses it once). */
export async function findLiveApplicantSessionById(db: Db, id: string): Promise<ApplicantSessionRow | null> {
  const { rows } = await db.query(
    `SELECT ${COLUMNS} FROM applicant_sessions WHERE id = $1 AND expires_at > now() FOR UPDATE`,
    [id],
  );
  return rows[0] ? toRow(rows[0]) : null;
}

export async function deleteApplicantSession(db: Db, id: string): Promise<void> {
  await db.query(`DELETE FROM applicant_sessions WHERE id = $1`, [id]);
}

export async function deleteExpiredApplicantSessions(db: Db): Promise<number> {
  const { rowCount } = await db.query(`DELETE FROM applicant_sessions WHERE expires_at < now()`);
  return rowCount ?? 0;
}
