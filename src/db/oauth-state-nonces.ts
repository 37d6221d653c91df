import type { Pool, PoolClient } from './pool.js';

/**
 * Records a state's nonce as spent (`oauth_state_uses`): true for the first caller, false for every
 * later (or concurrent) one, decided by the table's primary key.
 */
export async function insertOAuthStateNonce(db: Pool | PoolClient, nonce: string, expiresAt: Date): Promise<boolean> {
  const result = await db.query(
    `INSERT INTO oauth_state_uses (nonce, expires_at)
     VALUES ($1, $2)
     ON CONFLICT (nonce) DO NOTHING`,
    [nonce, expiresAt],
  );
  return result.rowCount === 1;
}

/** Forgets nonces of states that expired (they are refused as expired anyway); returns how many. */
export async function deleteExpiredOAuthStateUses(db: Pool | PoolClient, now: Date = new Date()): Promise<number> {
  const result = await db.query(
    `DELETE FROM oauth_state_uses
     WHERE expires_at < $1`,
    [now],
  );
  return result.rowCount ?? 0;
}
