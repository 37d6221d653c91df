import pg from 'pg';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

// Postgres `bigint` (audit ids, counts) as JS numbers would silently lose precision past 2^53;
// keep them strings. Discord IDs are `text` in the schema and never touch this.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => v);

/**
 * Every statement ends within this, on the server: below the workflows' 10 s local-activity
 * timeout. (A step of several statements can still outlast its timeout; the row lock it takes first
 * and its idempotency key make its retry wait for it, then find its answer.)
 */
export const STATEMENT_TIMEOUT_MS = 5_000;

export function createPool(
  databaseUrl: string,
  options: { max?: number; applicationName?: string; statementTimeoutMs?: number } = {},
): Pool {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'discord-role-grants',
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    statement_timeout: options.statementTimeoutMs ?? STATEMENT_TIMEOUT_MS,
    // A transaction left open by a crashed step must not hold its row locks for long either.
    idle_in_transaction_session_timeout: 10_000,
  });
  // An idle client that loses its connection emits here; without a listener the process would crash.
  pool.on('error', () => undefined);
  return pool;
}

/** Runs `fn` in a transaction on one client; rolls back on any error. */
export async function withTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** One round trip to the server (readiness checks). */
export async function pingDatabase(pool: Pool): Promise<void> {
  await pool.query('SELECT 1');
}
