import { hashPassword } from '../auth/password.js';
import { createOrganizationWithAdmin, findOrganizationByIdOrSlug } from '../db/organizations.js';
import { findDiscordConfig, setConnectionState } from '../db/discord-configs.js';
import type { Pool } from '../db/pool.js';
import type { Sandbox } from './sandbox/index.js';
import { createUser, findUserByEmail } from '../db/users.js';

export const DEMO_ADMIN = { email: 'admin@demo.example', password: 'demo-admin-password' } as const;
export const DEMO_REVIEWER = { email: 'reviewer@demo.example', password: 'demo-reviewer-password' } as const;

/** The embedded default's demo organization, created once. */
export async function seedDemoOrganization(pool: Pool): Promise<{ organizationId: string; slug: string }> {
  const existing = await findOrganizationByIdOrSlug(pool, 'demo');
  if (existing) return { organizationId: existing.id, slug: existing.slug };
  const { organization } = await createOrganizationWithAdmin(pool, {
    name: 'Demo Organization',
    slug: 'demo',
    adminEmail: DEMO_ADMIN.email,
    adminPasswordHash: await hashPassword(DEMO_ADMIN.password),
  });
  if (!(await findUserByEmail(pool, DEMO_REVIEWER.email))) {
    await createUser(pool, {
      organizationId: organization.id,
      email: DEMO_REVIEWER.email,
      passwordHash: await hashPassword(DEMO_REVIEWER.password),
      role: 'reviewer',
    });
  }
  return { organizationId: organization.id, slug: organization.slug };
}

/**
 * The sandbox keeps its servers in memory: after it restarts, a demo organization still marked
 * connected points at a server that is gone, so it is marked disconnected. True when it was.
 */
export async function forgetVanishedSandboxGuild(
  pool: Pool,
  sandbox: Sandbox,
  organizationId: string,
): Promise<boolean> {
  const current = await findDiscordConfig(pool, organizationId);
  if (current?.connectionState !== 'connected' || !current.guildId) return false;
  try {
    sandbox.roles(current.guildId);
    return false;
  } catch {
    await setConnectionState(pool, { organizationId, state: 'disconnected', error: null });
    return true;
  }
}
