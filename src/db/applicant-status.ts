import type { Application } from '../domain/application.js';
import type { ApplicationStatus, RoleAssignmentStatus } from '../domain/application-lifecycle.js';
import { applicationColumns, toApplication } from './applications.js';
import type { Pool, PoolClient } from './pool.js';

type Db = Pool | PoolClient;

/** What the applicant's status page and decision email are made of. */
export interface ApplicantStatusRecord {
  application: Application;
  organization: { id: string; name: string; slug: string };
  /** The configured Discord server, if any. */
  guildId: string | null;
  /** The form the application answered, if it answered one. */
  form: { title: string; shareNotes: boolean } | null;
}

async function formOf(db: Db, applicationId: string): Promise<{ title: string; shareNotes: boolean } | null> {
  // The note is shared when the form shares notes and did so when the note was written (the
  // review): turning sharing on later does not publish notes written while they were private.
  const { rows } = await db.query<{ title: string; share_notes: boolean }>(
    `SELECT f.title, (f.share_notes AND a.reviewed_at >= f.share_notes_since) IS TRUE AS share_notes
     FROM applications a JOIN forms f ON f.id = a.form_id WHERE a.id = $1`,
    [applicationId],
  );
  return rows[0] ? { title: rows[0].title, shareNotes: rows[0].share_notes === true } : null;
}

/** One application with its organization, server and form, or null. */
export async function findApplicantStatus(db: Db, applicationId: string): Promise<ApplicantStatusRecord | null> {
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT ${applicationColumns
      .split(',')
      .map((c) => `a.${c.trim()}`)
      .join(', ')},
       o.name AS organization_name, o.slug AS organization_slug, dc.guild_id AS configured_guild_id
     FROM applications a
     JOIN organizations o ON o.id = a.organization_id
     LEFT JOIN discord_configs dc ON dc.organization_id = a.organization_id
     WHERE a.id = $1`,
    [applicationId],
  );
  const row = rows[0];
  if (!row) return null;
  const application = toApplication(row);
  return {
    application,
    organization: {
      id: application.organizationId,
      name: row.organization_name as string,
      slug: row.organization_slug as string,
    },
    guildId: (row.configured_guild_id as string | null) ?? null,
    form: await formOf(db, applicationId),
  };
}

export interface AccountApplication {
  id: string;
  formTitle: string | null;
  submittedAt: string;
  status: ApplicationStatus;
  roleStatus: RoleAssignmentStatus;
}

/** The applications of a verified Discord account at an organization, newest first. */
export async function listApplicationsOfAccount(
  db: Db,
  input: { organizationId: string; discordUserId: string; limit: number },
): Promise<AccountApplication[]> {
  const { rows } = await db.query<{
    id: string;
    form_title: string | null;
    created_at: Date;
    status: ApplicationStatus;
    discord_role_assignment_status: RoleAssignmentStatus;
  }>(
    `SELECT a.id, f.title AS form_title, a.created_at, a.status, a.discord_role_assignment_status
     FROM applications a LEFT JOIN forms f ON f.id = a.form_id
     WHERE a.organization_id = $1 AND a.discord_user_id = $2 AND a.discord_verified
     ORDER BY a.created_at DESC, a.id DESC
     LIMIT $3`,
    [input.organizationId, input.discordUserId, input.limit],
  );
  return rows.map((r) => ({
    id: r.id,
    formTitle: r.form_title,
    submittedAt: r.created_at.toISOString(),
    status: r.status,
    roleStatus: r.discord_role_assignment_status,
  }));
}
