import { withTransaction, type Pool, type PoolClient } from './pool.js';
import { createUser, type User } from './users.js';
import { isUuid } from '../domain/uuid.js';
import type { DriftRepairMode } from '../domain/drift.js';

export interface Organization {
  id: string;
  slug: string;
  name: string;
  /** Applicants must sign in with Discord on the public form (new organizations: yes). */
  requireDiscordSignIn: boolean;
  /** What a reconciliation does with an approved member missing a granted role. */
  driftRepair: DriftRepairMode;
  createdAt: Date;
}

/** What an organization's admins can change in Settings. */
export interface OrganizationSettings {
  requireDiscordSignIn: boolean;
  driftRepair: DriftRepairMode;
}

/** Lowercase letters and digits in groups joined by single hyphens, at most 63 characters. */
export const SLUG_PATTERN = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const SLUG_MAX_LENGTH = 63;

export class SlugTakenError extends Error {
  constructor(slug: string) {
    super(`the slug "${slug}" is taken by another organization; choose another with --slug`);
    this.name = 'SlugTakenError';
  }
}

export function isValidSlug(slug: string): boolean {
  return slug.length <= SLUG_MAX_LENGTH && SLUG_PATTERN.test(slug);
}

/** "Société Générale d'Été!" -> "societe-generale-d-ete"; "org" when nothing usable is left. */
export function slugify(name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 50)
    .replace(/-+$/, '');
  return slug === '' ? 'org' : slug;
}

interface OrganizationRow {
  id: string;
  slug: string;
  name: string;
  require_discord_sign_in: boolean;
  drift_repair: DriftRepairMode;
  created_at: Date;
}

const COLUMNS = 'id, slug, name, require_discord_sign_in, drift_repair, created_at';

const toOrganization = (row: OrganizationRow): Organization => ({
  id: row.id,
  slug: row.slug,
  name: row.name,
  requireDiscordSignIn: row.require_discord_sign_in,
  driftRepair: row.drift_repair,
  createdAt: row.created_at,
});

/** Inserts unless the slug is taken; null when it is. */
async function insertOrganizationIfSlugFree(
  db: Pool | PoolClient,
  name: string,
  slug: string,
): Promise<Organization | null> {
  const result = await db.query<OrganizationRow>(
    `INSERT INTO organizations (name, slug)
     VALUES ($1, $2)
     ON CONFLICT (slug) DO NOTHING
     RETURNING ${COLUMNS}`,
    [name, slug],
  );
  const row = result.rows[0];
  return row ? toOrganization(row) : null;
}

/**
 * Creates an organization. With `slug`, that slug or `SlugTakenError`; without, the slug derived
 * from the name, suffixed `-2`, `-3`, ... until one is free. Its default form (`apply`, the fixed
 * name and email, no questions: src/db/forms.ts) comes with it in the same statement, made by the
 * database (the `organizations_default_form` trigger of migrations/1732000000008_forms.sql), so
 * every organization has one however it is created.
 */
export async function createOrganization(
  db: Pool | PoolClient,
  input: { name: string; slug?: string },
): Promise<Organization> {
  const name = input.name.trim();
  if (name === '') throw new Error('an organization needs a name');
  if (input.slug !== undefined) {
    if (!isValidSlug(input.slug)) {
      throw new Error(`the slug "${input.slug}" is not valid: use lowercase letters, digits and single hyphens`);
    }
    const created = await insertOrganizationIfSlugFree(db, name, input.slug);
    if (!created) throw new SlugTakenError(input.slug);
    return created;
  }
  const base = slugify(name);
  for (let n = 1; ; n++) {
    const candidate = n === 1 ? base : `${base}-${n}`;
    const created = await insertOrganizationIfSlugFree(db, name, candidate);
    if (created) return created;
  }
}

/** The organization with this id (a UUID) or this slug, or null. */
export async function findOrganizationByIdOrSlug(
  db: Pool | PoolClient,
  idOrSlug: string,
): Promise<Organization | null> {
  const value = idOrSlug.trim();
  // A slug could look like a UUID; the id wins then.
  const result = isUuid(value)
    ? await db.query<OrganizationRow>(
        `SELECT ${COLUMNS}
         FROM organizations
         WHERE id = $1::uuid OR slug = lower($2::text)
         ORDER BY id = $1::uuid DESC
         LIMIT 1`,
        [value, value],
      )
    : await db.query<OrganizationRow>(
        `SELECT ${COLUMNS}
         FROM organizations
         WHERE slug = lower($1)`,
        [value],
      );
  const row = result.rows[0];
  return row ? toOrganization(row) : null;
}

/** Changes the organization's settings; returns them as stored. */
export async function updateOrganizationSettings(
  db: Pool | PoolClient,
  organizationId: string,
  settings: Partial<OrganizationSettings>,
): Promise<OrganizationSettings> {
  const { rows } = await db.query<{ require_discord_sign_in: boolean; drift_repair: DriftRepairMode }>(
    `UPDATE organizations
     SET require_discord_sign_in = COALESCE($2, require_discord_sign_in),
         drift_repair = COALESCE($3, drift_repair), updated_at = now()
     WHERE id = $1
     RETURNING require_discord_sign_in, drift_repair`,
    [organizationId, settings.requireDiscordSignIn ?? null, settings.driftRepair ?? null],
  );
  if (!rows[0]) throw new Error(`organization ${organizationId} does not exist`);
  return { requireDiscordSignIn: rows[0].require_discord_sign_in, driftRepair: rows[0].drift_repair };
}

/**
 * An organization and its first admin, in one transaction: a duplicate email leaves no organization
 * behind. Used by `npm run cli -- create-organization` and the dev stack's demo seed. The admin's
 * password comes hashed (`hashPassword` of src/auth/password.ts).
 */
export async function createOrganizationWithAdmin(
  pool: Pool,
  input: { name: string; slug?: string; adminEmail: string; adminPasswordHash: string },
): Promise<{ organization: Organization; admin: User }> {
  return withTransaction(pool, async (client) => {
    const organization = await createOrganization(client, { name: input.name, slug: input.slug });
    const admin = await createUser(client, {
      organizationId: organization.id,
      email: input.adminEmail,
      passwordHash: input.adminPasswordHash,
      role: 'admin',
    });
    return { organization, admin };
  });
}
