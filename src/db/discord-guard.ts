/**
 * The tables of the Discord guard (src/discord/guard.ts), shared by every worker: the request
 * schedule (`discord_request_slots`), the 401/403 answers per guild
 * (`discord_authorization_failures`), whether Discord refused the bot token
 * (`discord_bot_token_status`), and the pause of connected organizations (`discord_configs`).
 */
import type { Pool, PoolClient } from './pool.js';

type Db = Pool | PoolClient;

/**
 * Takes the next free slot of the shared schedule (slots `spacingSeconds` apart), unless it is
 * more than `maxWaitSeconds` ahead. Returns how long until that slot, and whether it was taken.
 */
export async function reserveRequestSlot(
  db: Db,
  { spacingSeconds, maxWaitSeconds }: { spacingSeconds: number; maxWaitSeconds: number },
): Promise<{ waitMs: number; reserved: boolean }> {
  const { rows } = await db.query<{ wait_ms: number; reserved: boolean }>(
    `WITH slot AS (
       SELECT greatest(next_slot_at, clock_timestamp()) AS at FROM discord_request_slots FOR UPDATE
     ), taken AS (
       UPDATE discord_request_slots SET next_slot_at = slot.at + make_interval(secs => $1)
       FROM slot WHERE slot.at <= clock_timestamp() + make_interval(secs => $2)
       RETURNING 1
     )
     SELECT extract(epoch FROM slot.at - clock_timestamp()) * 1000 AS wait_ms, EXISTS (SELECT 1 FROM taken) AS reserved
     FROM slot`,
    [spacingSeconds, maxWaitSeconds],
  );
  return { waitMs: Number(rows[0]?.wait_ms ?? 0), reserved: rows[0]?.reserved ?? false };
}

export interface RequestGate {
  /** Discord refused the bot token: every guild waits. */
  tokenRejected: boolean;
  /** Why the organization's grants are paused (its connection is in `error`), if they are. */
  pausedReason: string | null;
  /** The guild's 401/403 answers within the window, counted up to `maxFailures`. */
  failures: number;
  /** How long ago the oldest of those was. */
  oldestFailureAgeMs: number | null;
}

/** What decides whether a request to `guildId` for `organizationId` may be sent now. */
export async function readRequestGate(
  db: Db,
  input: { guildId: string | null; organizationId: string | null; windowSeconds: number; maxFailures: number },
): Promise<RequestGate> {
  const { rows } = await db.query<{
    token_rejected: boolean | null;
    paused_reason: string | null;
    failures: number;
    oldest_failure_age_ms: number | null;
  }>(
    `SELECT (SELECT rejected_at IS NOT NULL FROM discord_bot_token_status) AS token_rejected,
            (SELECT connection_error FROM discord_configs
              WHERE organization_id = $4::uuid AND connection_state = 'error') AS paused_reason,
            count(f.id)::int AS failures,
            extract(epoch FROM clock_timestamp() - min(f.at)) * 1000 AS oldest_failure_age_ms
     FROM (SELECT id, at FROM discord_authorization_failures
           WHERE $1::text IS NOT NULL AND guild_id = $1 AND at > clock_timestamp() - make_interval(secs => $2)
           ORDER BY at DESC LIMIT $3) f`,
    [input.guildId, input.windowSeconds, input.maxFailures, input.organizationId],
  );
  const row = rows[0]!;
  return {
    tokenRejected: row.token_rejected === true,
    pausedReason: row.paused_reason,
    failures: row.failures,
    oldestFailureAgeMs: row.oldest_failure_age_ms === null ? null : Number(row.oldest_failure_age_ms),
  };
}

/** Records a 401 or 403 answer of Discord (the route with its IDs replaced). */
export async function recordAuthorizationFailure(
  db: Db,
  input: { guildId: string | null; status: number; code: number | null; route: string },
): Promise<void> {
  await db.query(`INSERT INTO discord_authorization_failures (guild_id, status, code, route) VALUES ($1, $2, $3, $4)`, [
    input.guildId,
    input.status,
    input.code,
    input.route,
  ]);
}

/** Deletes the authorization failures older than `olderThanSeconds`; returns how many. */
export async function deleteAuthorizationFailuresOlderThan(db: Db, olderThanSeconds: number): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM discord_authorization_failures WHERE at < now() - make_interval(secs => $1)`,
    [olderThanSeconds],
  );
  return rowCount ?? 0;
}

/** Discord refused the bot token: kept (with the first time it did) until it accepts it again. */
export async function markBotTokenRejected(db: Db, message: string): Promise<void> {
  await db.query(`UPDATE discord_bot_token_status SET rejected_at = coalesce(rejected_at, now()), message = $1`, [
    message,
  ]);
}

/** Discord accepted the bot token again. */
export async function clearBotTokenRejection(db: Db): Promise<void> {
  await db.query(
    `UPDATE discord_bot_token_status SET rejected_at = NULL, message = NULL WHERE rejected_at IS NOT NULL`,
  );
}

/** Whether Discord refused the bot token, and since when. */
export async function findBotTokenRejection(db: Db): Promise<{ rejectedAt: Date | null }> {
  const { rows } = await db.query<{ rejected_at: Date | null }>(`SELECT rejected_at FROM discord_bot_token_status`);
  return { rejectedAt: rows[0]?.rejected_at ?? null };
}

/**
 * Puts the connected organizations of a guild (or one organization) in `error` with the reason:
 * their grants wait for a fix. Returns how many it paused.
 */
export async function pauseConnectedOrganizations(
  db: Db,
  which: { guildId: string } | { organizationId: string },
  reason: string,
): Promise<number> {
  const { rowCount } = await db.query(
    `UPDATE discord_configs
     SET connection_state = 'error', connection_error = $3, connection_state_updated_at = now(), updated_at = now()
     WHERE connection_state = 'connected' AND (guild_id = $1 OR organization_id = $2::uuid)`,
    ['guildId' in which ? which.guildId : null, 'organizationId' in which ? which.organizationId : null, reason],
  );
  return rowCount ?? 0;
}
