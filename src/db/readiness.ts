/**
 * What readiness before approval needs to know, read in three queries for a page of applications:
 * the connection and its last health check, the guild's members as the last reconciliation saw
 * them, and which applicants' Discord sign-ins can still add them to the server.
 */
import type { Application } from '../domain/application.js';
import { discordIdPresence } from '../domain/discord-id.js';
import type { ReadinessInput } from '../domain/readiness.js';
import { findDiscordConfig } from './discord-configs.js';
import type { Pool, PoolClient } from './pool.js';
import { findCachedMembers, latestHealth } from './reconciliation.js';

type Db = Pool | PoolClient;

/** The readiness facts of each application (by ID); grantReadiness (src/domain/readiness.ts) decides. */
export async function loadReadinessInputs(
  db: Db,
  organizationId: string,
  applications: Application[],
): Promise<Map<string, ReadinessInput>> {
  const result = new Map<string, ReadinessInput>();
  if (applications.length === 0) return result;
  const config = await findDiscordConfig(db, organizationId);
  const health = config?.connectionState === 'connected' ? await latestHealth(db, organizationId) : null;
  const userIds = applications.flatMap((a) => (a.discordUser ? [a.discordUser.id] : []));
  const members = config?.guildId ? await findCachedMembers(db, config.guildId, userIds) : new Map();
  const { rows } = await db.query<{ application_id: string }>(
    `SELECT application_id FROM applicant_tokens WHERE application_id = ANY($1::uuid[])`,
    [applications.map((a) => a.id)],
  );
  const withToken = new Set(rows.map((r) => r.application_id));
  const connection = {
    state: config?.connectionState ?? 'disconnected',
    error: config?.connectionError ?? null,
    findings: health?.findings ?? [],
  } as const;
  for (const app of applications) {
    const member = app.discordUser ? members.get(app.discordUser.id) : undefined;
    result.set(app.id, {
      connection,
      discordId: discordIdPresence(app),
      canBeAdded: withToken.has(app.id),
      member: member
        ? { present: true, pending: member.pending }
        : { present: false, listComplete: config?.membersListedAt != null },
    });
  }
  return result;
}
