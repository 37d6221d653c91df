import { hashPassword } from './auth/password.js';
import { createOrganizationWithAdmin, findOrganizationByIdOrSlug } from './db/organizations.js';
import type { Pool } from './db/pool.js';
import { createUser, findUserByEmail } from './db/users.js';

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
    adminPassword: DEMO_ADMIN.password,
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
