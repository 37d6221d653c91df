import type { Pool, PoolClient } from './pool.js';
import type { ConnectionState } from '../domain/discord-connection.js';
import type { GuildRoles } from '../domain/bot-health.js';

type Db = Pool | PoolClient;

export interface DiscordConfig {
  organizationId: string;
  guildId: string | null;
  guildName: string | null;
  approvedRoleId: string | null;
  approvedRoleName: string | null;
  botAddedAt: Date | null;
  connectionState: ConnectionState;
  connectionStateUpdatedAt: Date;
  connectionError: string | null;
  /** The roles an approval adds (1 to 5 once connected) and removes. */
  addRoleIds: string[];
  removeRoleIds: string[];
  /** The guild's roles and the bot's place, as last seen (null: not looked at since connecting). */
  guildRoles: GuildRoles | null;
  /** When a reconciliation last listed every member (null: never, or no Server Members intent). */
  membersListedAt: Date | null;
}

const columns = `organization_id, guild_id, guild_name, approved_role_id, approved_role_name, bot_added_at,
  connection_state, connection_state_updated_at, connection_error, add_role_ids, remove_role_ids, guild_roles,
  members_listed_at`;

function toConfig(row: Record<string, unknown>): DiscordConfig {
  return {
    organizationId: row.organization_id as string,
    guildId: row.guild_id as string | null,
    guildName: row.guild_name as string | null,
    approvedRoleId: row.approved_role_id as string | null,
    approvedRoleName: row.approved_role_name as string | null,
    botAddedAt: row.bot_added_at as Date | null,
    connectionState: row.connection_state as ConnectionState,
    connectionStateUpdatedAt: row.connection_state_updated_at as Date,
    connectionError: row.connection_error as string | null,
    addRoleIds: row.add_role_ids as string[],
    removeRoleIds: row.remove_role_ids as string[],
    guildRoles: row.guild_roles as GuildRoles | null,
    membersListedAt: row.members_listed_at as Date | null,
  };
}

export async function findDiscordConfig(db: Db, organizationId: string): Promise<DiscordConfig | null> {
  const { rows } = await db.query(`SELECT ${columns} FROM discord_configs WHERE organization_id = $1`, [
    organizationId,
  ]);
  return rows[0] ? toConfig(rows[0]) : null;
}

/**
 * Marks a connection attempt as running, unless the organization is connected already. Only one
 * connection workflow per organization runs at a time, so a `connecting` row found here is stale.
 * Returns false when the organization is connected.
 */
export async function beginConnection(db: Db, organizationId: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO discord_configs (organization_id, connection_state, connection_state_updated_at)
     VALUES ($1, 'connecting', now())
     ON CONFLICT (organization_id) DO UPDATE
       SET connection_state = 'connecting', connection_state_updated_at = now(), connection_error = NULL,
           updated_at = now()
       WHERE discord_configs.connection_state <> 'connected'`,
    [organizationId],
  );
  return rowCount === 1;
}

export async function saveConnectedConfig(
  db: Db,
  input: { organizationId: string; guildId: string; guildName: string; roleId: string; roleName: string },
): Promise<DiscordConfig> {
  const { rows } = await db.query(
    `INSERT INTO discord_configs (organization_id, guild_id, guild_name, approved_role_id, approved_role_name,
       add_role_ids, bot_added_at, connection_state, connection_state_updated_at, connection_error)
     VALUES ($1, $2, $3, $4, $5, ARRAY[$4], now(), 'connected', now(), NULL)
     ON CONFLICT (organization_id) DO UPDATE
       SET guild_id = EXCLUDED.guild_id, guild_name = EXCLUDED.guild_name,
           approved_role_id = EXCLUDED.approved_role_id, approved_role_name = EXCLUDED.approved_role_name,
           add_role_ids = EXCLUDED.add_role_ids, remove_role_ids = '{}', guild_roles = NULL, members_listed_at = NULL,
           bot_added_at = now(), connection_state = 'connected', connection_state_updated_at = now(),
           connection_error = NULL, updated_at = now()
     RETURNING ${columns}`,
    [input.organizationId, input.guildId, input.guildName, input.roleId, input.roleName],
  );
  return toConfig(rows[0]!);
}

export async function setConnectionState(
  db: Db,
  input: {
    organizationId: string;
    state: 'error' | 'disconnected';
    error: string | null;
    /** The guild the bot is in now, when it changed (a failed attempt still added the bot). */
    guild?: { id: string; name: string };
  },
): Promise<void> {
  await db.query(
    `INSERT INTO discord_configs (organization_id, connection_state, connection_state_updated_at, connection_error,
       guild_id, guild_name)
     VALUES ($1, $2, now(), $3, $4, $5)
     ON CONFLICT (organization_id) DO UPDATE
       SET connection_state = EXCLUDED.connection_state, connection_state_updated_at = now(),
           connection_error = EXCLUDED.connection_error,
           guild_id = COALESCE(EXCLUDED.guild_id, discord_configs.guild_id),
           guild_name = COALESCE(EXCLUDED.guild_name, discord_configs.guild_name),
           updated_at = now()`,
    [input.organizationId, input.state, input.error, input.guild?.id ?? null, input.guild?.name ?? null],
  );
}

/**
 * "Check now" found the bot's access fixed: the connection is `connected` again (grants resume).
 * Changes nothing unless it is in `error` with its guild and role still recorded; then returns the
 * guild and the reason it had been paused for.
 */
export async function markConnectionResumed(
  db: Db,
  organizationId: string,
): Promise<{ guildId: string; pausedBecause: string | null } | null> {
  const { rows } = await db.query<{ guild_id: string; connection_error: string | null }>(
    `UPDATE discord_configs
     SET connection_state = 'connected', connection_error = NULL, connection_state_updated_at = now(),
         updated_at = now()
     WHERE organization_id = $1 AND connection_state = 'error'
       AND guild_id IS NOT NULL AND cardinality(add_role_ids) > 0
     RETURNING guild_id, (SELECT connection_error FROM discord_configs WHERE organization_id = $1) AS connection_error`,
    [organizationId],
  );
  return rows[0] ? { guildId: rows[0].guild_id, pausedBecause: rows[0].connection_error } : null;
}

/**
 * An admin's choice of roles: saved only while the organization is connected to `guildId` (a
 * reconnection meanwhile makes the choice moot). Returns the configuration as stored, or null.
 */
export async function saveRoleSettings(
  db: Db,
  input: { organizationId: string; guildId: string; addRoleIds: string[]; removeRoleIds: string[] },
): Promise<DiscordConfig | null> {
  const { rows } = await db.query(
    `UPDATE discord_configs SET add_role_ids = $3, remove_role_ids = $4, updated_at = now()
     WHERE organization_id = $1 AND guild_id = $2 AND connection_state IN ('connected', 'error')
     RETURNING ${columns}`,
    [input.organizationId, input.guildId, input.addRoleIds, input.removeRoleIds],
  );
  return rows[0] ? toConfig(rows[0]) : null;
}

/** Remembers the guild's roles as Discord showed them now (for the picker and for messages). */
export async function saveGuildRoles(db: Db, organizationId: string, guild: GuildRoles): Promise<void> {
  await db.query(`UPDATE discord_configs SET guild_roles = $3 WHERE organization_id = $1 AND guild_id = $2`, [
    organizationId,
    guild.guildId,
    JSON.stringify(guild),
  ]);
}

/** Organizations connected now (or paused), for their reconciliation schedules. */
export async function listConnectedOrganizations(db: Db): Promise<string[]> {
  const { rows } = await db.query<{ organization_id: string }>(
    `SELECT organization_id FROM discord_configs WHERE connection_state IN ('connected', 'error') AND guild_id IS NOT NULL
     ORDER BY organization_id`,
  );
  return rows.map((r) => r.organization_id);
}
