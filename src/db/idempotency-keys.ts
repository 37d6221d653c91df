import type { Pool, PoolClient } from './pool.js';

type Db = Pool | PoolClient;

export interface IdempotentResponse<T> {
  request: unknown;
  response: T;
}

/** The first answer given under `key`, if any. */
export async function findIdempotentResponse<T>(db: Db, key: string): Promise<IdempotentResponse<T> | null> {
  const { rows } = await db.query<{ request: unknown; response: T }>(
    `SELECT request, response FROM idempotency_keys WHERE key = $1`,
    [key],
  );
  return rows[0] ?? null;
}

/** Records the answer given under `key`, in the same transaction as the write it answers for. */
export async function saveIdempotentResponse(
  db: Db,
  entry: { key: string; applicationId: string; operation: string; request: unknown; response: unknown },
): Promise<void> {
  await db.query(
    `INSERT INTO idempotency_keys (key, application_id, operation, request, response) VALUES ($1, $2, $3, $4, $5)`,
    [entry.key, entry.applicationId, entry.operation, JSON.stringify(entry.request), JSON.stringify(entry.response)],
  );
}

/**
 * Deletes keys older than `olderThanDays` (past that, no step or client retries under them any
 * more), in batches, so each statement stays short however many there are.
 */
export async function deleteExpiredIdempotencyKeys(db: Db, olderThanDays = 30, batch = 5_000): Promise<number> {
  let deleted = 0;
  for (;;) {
    const { rowCount } = await db.query(
      `DELETE FROM idempotency_keys WHERE key IN (
         SELECT key FROM idempotency_keys WHERE created_at < now() - make_interval(days => $1) LIMIT $2)`,
      [olderThanDays, batch],
    );
    deleted += rowCount ?? 0;
    if ((rowCount ?? 0) < batch) return deleted;
  }
}
