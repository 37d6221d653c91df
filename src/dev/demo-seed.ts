import { hashPassword } from '../auth/password.js';
import { createOrganizationWithAdmin, findOrganizationByIdOrSlug } from '../db/organizations.js';
import { findDiscordConfig, setConnectionState } from '../db/discord-configs.js';
import { findForm, listForms, updateForm } from '../db/forms.js';
import { withTransaction, type Pool } from '../db/pool.js';
import { formInputSchema } from '../domain/form.js';
import type { Sandbox } from './sandbox/index.js';
import { createUser, findUserByEmail } from '../db/users.js';

export const DEMO_ADMIN = { email: 'admin@demo.example', password: 'demo-admin-password' } as const;
export const DEMO_REVIEWER = { email: 'reviewer@demo.example', password: 'demo-reviewer-password' } as const;

/** The demo's default form: two questions, so `/apply/demo` shows what forms can ask. */
export const DEMO_FORM_QUESTIONS = [
  {
    id: 'why_join',
    label: 'Why do you want to join?',
    type: 'long_text',
    required: true,
    maxLength: 2000,
    help: 'A few sentences are enough.',
  },
  { id: 'rules', label: 'I have read the rules', type: 'checkbox', required: true },
] as const;

/**
 * Gives the demo organization's default form its two questions, once: a default form without
 * questions (a new organization's, or one seeded before forms existed) gets them; one an admin
 * changed is left alone.
 */
async function seedDemoForm(pool: Pool, organizationId: string): Promise<void> {
  const defaultForm = (await listForms(pool, organizationId)).find((f) => f.isDefault);
  if (!defaultForm || defaultForm.questions.length > 0 || defaultForm.version > 1) return;
  const input = formInputSchema.parse({
    title: defaultForm.title,
    slug: defaultForm.slug,
    description: 'Tell the Demo Organization a little about yourself. A reviewer reads every application.',
    cooldownDays: 7,
    shareNotes: true,
    questions: DEMO_FORM_QUESTIONS,
  });
  await withTransaction(pool, async (tx) => {
    // Changed by someone meanwhile: theirs stays.
    const current = await findForm(tx, organizationId, defaultForm.id);
    if (current && current.questions.length === 0) await updateForm(tx, organizationId, defaultForm.id, input);
  });
}

/** The embedded default's demo organization, created once, with a two-question default form. */
export async function seedDemoOrganization(pool: Pool): Promise<{ organizationId: string; slug: string }> {
  const existing = await findOrganizationByIdOrSlug(pool, 'demo');
  if (existing) {
    await seedDemoForm(pool, existing.id);
    return { organizationId: existing.id, slug: existing.slug };
  }
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
  await seedDemoForm(pool, organization.id);
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
