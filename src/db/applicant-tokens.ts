import type { Pool, PoolClient } from './pool.js';

type Db = Pool | PoolClient;

/** An application's Discord tokens, encrypted (bound to the application). */
export interface StoredApplicantTokens {
  accessTokenEnc: string;
  refreshTokenEnc: string;
  expiresAt: Date;
}

/** Stores (or replaces, after a refresh or a new sign-in) the application's tokens. */
export async function saveApplicantTokens(db: Db, applicationId: string, tokens: StoredApplicantTokens): Promise<void> {
  await db.query(
    `INSERT INTO applicant_tokens (application_id, access_token_enc, refresh_token_enc, expires_at)
     VALUES ($1, $2, $3, $4)
     ON CONFLICT (application_id) DO UPDATE
       SET access_token_enc = EXCLUDED.access_token_enc, refresh_token_enc = EXCLUDED.refresh_token_enc,
           expires_at = EXCLUDED.expires_at, created_at = now(), updated_at = now()`,
    [applicationId, tokens.accessTokenEnc, tokens.refreshTokenEnc, tokens.expiresAt],
  );
}

export async function findApplicantTokens(db: Db, applicationId: string): Promise<StoredApplicantTokens | null> {
  const { rows } = await db.query<{ access_token_enc: string; refresh_token_enc: string; expires_at: Date }>(
    `SELECT access_token_enc, refresh_token_enc, expires_at FROM applicant_tokens WHERE application_id = $1`,
    [applicationId],
  );
  const row = rows[0];
  return row
    ? { accessTokenEnc: row.access_token_enc, refreshTokenEnc: row.refresh_token_enc, expiresAt: row.expires_at }
    : null;
}

/** The tokens are no longer needed (the role was granted, or the application rejected). */
export async function deleteApplicantTokens(db: Db, applicationId: string): Promise<void> {
  await db.query(`DELETE FROM applicant_tokens WHERE application_id = $1`, [applicationId]);
}

/** Tokens kept longer than `olderThanDays`: whatever they were for, they go. */
export async function deleteOldApplicantTokens(db: Db, olderThanDays = 30): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM applicant_tokens WHERE created_at < now() - make_interval(days => $1)`,
    [olderThanDays],
  );
  return rowCount ?? 0;
}
