import {
  definitionOf,
  formDefinitionSchema,
  type FormDefinition,
  type FormInput,
  type Question,
} from '../domain/form.js';
import type { Pool, PoolClient } from './pool.js';

type Db = Pool | PoolClient;

/** A form as the API shows it: its settings and the questions of one version (the current one unless asked). */
export interface Form {
  id: string;
  organizationId: string;
  slug: string;
  title: string;
  description: string;
  cooldownDays: number;
  shareNotes: boolean;
  isDefault: boolean;
  /** The version the questions (and title, description) are of. */
  version: number;
  /** The form's current version (equal to `version` unless an older one was asked for). */
  currentVersion: number;
  questions: Question[];
  applicationCount: number;
  createdAt: string;
  updatedAt: string;
}

export class FormSlugTakenError extends Error {
  constructor(readonly slug: string) {
    super(`another form of this organization has the slug "${slug}"`);
    this.name = 'FormSlugTakenError';
  }
}

const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : String(v));

interface FormRow {
  id: string;
  organization_id: string;
  slug: string;
  title: string;
  description: string;
  cooldown_days: number;
  share_notes: boolean;
  is_default: boolean;
  current_version: number;
  version: number;
  definition: unknown;
  application_count: string | number;
  created_at: Date;
  updated_at: Date;
}

function toForm(row: FormRow): Form {
  const definition: FormDefinition = formDefinitionSchema.parse(row.definition);
  const isCurrent = row.version === row.current_version;
  return {
    id: row.id,
    organizationId: row.organization_id,
    slug: row.slug,
    // An older version shows the title and description it had.
    title: isCurrent ? row.title : definition.title,
    description: isCurrent ? row.description : definition.description,
    cooldownDays: row.cooldown_days,
    shareNotes: row.share_notes,
    isDefault: row.is_default,
    version: row.version,
    currentVersion: row.current_version,
    questions: definition.questions,
    applicationCount: Number(row.application_count),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

const FORM_COLUMNS = `f.id, f.organization_id, f.slug, f.title, f.description, f.cooldown_days, f.share_notes,
         f.is_default, f.current_version, v.version, v.definition, f.created_at, f.updated_at`;
/** The form's columns with one version's definition and the form's application count. */
const SELECT_FORM = `
  SELECT ${FORM_COLUMNS}, (SELECT count(*) FROM applications a WHERE a.form_id = f.id) AS application_count
  FROM forms f JOIN form_versions v ON v.form_id = f.id`;

/** The organization's forms, the default first, then by title; each with its current version. */
export async function listForms(db: Db, organizationId: string): Promise<Form[]> {
  const { rows } = await db.query<FormRow>(
    `${SELECT_FORM} AND v.version = f.current_version
     WHERE f.organization_id = $1
     ORDER BY f.is_default DESC, lower(f.title), f.id`,
    [organizationId],
  );
  return rows.map(toForm);
}

/** One form of the organization, at `version` (the current one when not given); null when either does not exist. */
export async function findForm(db: Db, organizationId: string, formId: string, version?: number): Promise<Form | null> {
  const { rows } = await db.query<FormRow>(
    `${SELECT_FORM} AND v.version = coalesce($3::integer, f.current_version)
     WHERE f.organization_id = $1 AND f.id = $2`,
    [organizationId, formId, version ?? null],
  );
  return rows[0] ? toForm(rows[0]) : null;
}

/**
 * The form of a public address (`/apply/<org>/<form>`; `slug` null: the default form, `/apply/<org>`),
 * at its current version, in one statement. Public: it does not count the form's applications
 * (`applicationCount` is 0), so an anonymous read costs one index lookup.
 */
export async function findFormBySlug(db: Db, organizationId: string, slug: string | null): Promise<Form | null> {
  const { rows } = await db.query<FormRow>(
    `SELECT ${FORM_COLUMNS}, 0 AS application_count
     FROM forms f JOIN form_versions v ON v.form_id = f.id AND v.version = f.current_version
     WHERE f.organization_id = $1 AND (CASE WHEN $2::text IS NULL THEN f.is_default ELSE f.slug = $2 END)`,
    [organizationId, slug],
  );
  return rows[0] ? toForm(rows[0]) : null;
}

/** What a submission answers: a form and its current version, as read in the submission's transaction. */
export interface FormToAnswer {
  id: string;
  slug: string;
  version: number;
  cooldownDays: number;
  questions: Question[];
}

/**
 * The form an application is about to answer, its row share-locked until the transaction ends: an
 * edit of the form (which locks the row for update) waits for the application to be stored, so it
 * then sees that its current version was answered and adds a new one rather than changing it.
 * `slug` null: the organization's default form.
 */
export async function lockFormToAnswer(
  db: PoolClient,
  organizationId: string,
  slug: string | null,
): Promise<FormToAnswer | null> {
  // The lock first, then the version in a statement of its own: a statement that waited for an
  // edit's lock reads the other tables as they were when it started, without the edit's new version.
  const locked = await db.query<{ id: string; slug: string; current_version: number; cooldown_days: number }>(
    `SELECT id, slug, current_version, cooldown_days FROM forms
     WHERE organization_id = $1 AND (CASE WHEN $2::text IS NULL THEN is_default ELSE slug = $2 END)
     FOR SHARE`,
    [organizationId, slug],
  );
  const row = locked.rows[0];
  if (!row) return null;
  const { rows } = await db.query<{ definition: unknown }>(
    `SELECT definition FROM form_versions WHERE form_id = $1 AND version = $2`,
    [row.id, row.current_version],
  );
  return {
    id: row.id,
    slug: row.slug,
    version: row.current_version,
    cooldownDays: row.cooldown_days,
    questions: formDefinitionSchema.parse(rows[0]!.definition).questions,
  };
}

const isSlugConflict = (err: unknown) =>
  (err as { constraint?: string }).constraint === 'forms_organization_id_slug_key';

/** Creates a form (not the default: every organization has that one already) at version 1. */
export async function insertForm(db: PoolClient, organizationId: string, input: FormInput): Promise<Form> {
  let id: string;
  try {
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO forms (organization_id, slug, title, description, cooldown_days, share_notes, share_notes_since)
       VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $6 THEN now() END) RETURNING id`,
      [organizationId, input.slug, input.title, input.description, input.cooldownDays, input.shareNotes],
    );
    id = rows[0]!.id;
  } catch (err) {
    if (isSlugConflict(err)) throw new FormSlugTakenError(input.slug);
    throw err;
  }
  await db.query(`INSERT INTO form_versions (form_id, version, definition) VALUES ($1, 1, $2)`, [
    id,
    JSON.stringify(definitionOf(input)),
  ]);
  return (await findForm(db, organizationId, id))!;
}

/**
 * Changes a form. Its row is locked first, so two edits (and an edit and a submission) take turns.
 * When no application answered the current version, that version is changed in place; otherwise
 * the new definition is version + 1 and becomes the current one, and the applications keep theirs.
 * Null when the organization has no such form.
 */
export async function updateForm(
  db: PoolClient,
  organizationId: string,
  formId: string,
  input: FormInput,
): Promise<{ form: Form; newVersion: boolean } | null> {
  // The lock first; then, in a statement of its own (a snapshot taken after the lock was granted),
  // whether any application answered the current version: one stored while this waited counts.
  const { rows } = await db.query<{ current_version: number }>(
    `SELECT current_version FROM forms WHERE organization_id = $1 AND id = $2 FOR UPDATE`,
    [organizationId, formId],
  );
  if (!rows[0]) return null;
  const answeredRows = await db.query<{ answered: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM applications WHERE form_id = $1 AND form_version = $2) AS answered`,
    [formId, rows[0].current_version],
  );
  const locked = { current_version: rows[0].current_version, answered: answeredRows.rows[0]!.answered };
  const version = locked.answered ? locked.current_version + 1 : locked.current_version;
  const definition = JSON.stringify(definitionOf(input));
  if (locked.answered) {
    await db.query(`INSERT INTO form_versions (form_id, version, definition) VALUES ($1, $2, $3)`, [
      formId,
      version,
      definition,
    ]);
  } else {
    await db.query(`UPDATE form_versions SET definition = $3, created_at = now() WHERE form_id = $1 AND version = $2`, [
      formId,
      version,
      definition,
    ]);
  }
  try {
    await db.query(
      `UPDATE forms SET slug = $3, title = $4, description = $5, cooldown_days = $6, share_notes = $7,
         share_notes_since = CASE WHEN NOT $7 THEN NULL WHEN share_notes THEN share_notes_since ELSE now() END,
         current_version = $8, updated_at = now()
       WHERE organization_id = $1 AND id = $2`,
      [
        organizationId,
        formId,
        input.slug,
        input.title,
        input.description,
        input.cooldownDays,
        input.shareNotes,
        version,
      ],
    );
  } catch (err) {
    if (isSlugConflict(err)) throw new FormSlugTakenError(input.slug);
    throw err;
  }
  return { form: (await findForm(db, organizationId, formId))!, newVersion: locked.answered };
}

/**
 * The latest time a rejection of this applicant on this form still holds them back: the newest
 * rejection (by its review time) less than `cooldownDays` ago, of an application to the form with
 * the same email (in any case) or, when known, the same Discord account; plus the cooldown. Null
 * when they may apply.
 */
export async function cooldownEnd(
  db: Db,
  input: { formId: string; cooldownDays: number; email: string; discordUserId: string | null },
): Promise<Date | null> {
  if (input.cooldownDays <= 0) return null;
  const { rows } = await db.query<{ until: Date | null }>(
    `SELECT max(reviewed_at) + make_interval(days => $2) AS until
     FROM applications
     WHERE form_id = $1 AND status = 'Rejected' AND reviewed_at IS NOT NULL
       AND reviewed_at > now() - make_interval(days => $2)
       AND (lower(applicant_email) = lower($3) OR ($4::text IS NOT NULL AND discord_user_id = $4))`,
    [input.formId, input.cooldownDays, input.email, input.discordUserId],
  );
  return rows[0]?.until ?? null;
}

/** Every question any version of the form has had, the current version's first (in its order), then older ones' (newest first). */
export async function questionsOfAllVersions(
  db: Db,
  formId: string,
): Promise<Array<{ id: string; label: string; type: Question['type'] }>> {
  const { rows } = await db.query<{ definition: unknown }>(
    `SELECT v.definition FROM form_versions v JOIN forms f ON f.id = v.form_id
     WHERE v.form_id = $1
     ORDER BY (v.version = f.current_version) DESC, v.version DESC`,
    [formId],
  );
  const seen = new Map<string, { id: string; label: string; type: Question['type'] }>();
  for (const row of rows) {
    for (const q of formDefinitionSchema.parse(row.definition).questions) {
      if (!seen.has(q.id)) seen.set(q.id, { id: q.id, label: q.label, type: q.type });
    }
  }
  return [...seen.values()];
}

/** One application as the CSV export writes it. */
export interface ExportRow {
  id: string;
  createdAt: string;
  status: string;
  roleStatus: string;
  name: string;
  email: string;
  discordUserId: string | null;
  verified: boolean;
  reviewedBy: string | null;
  reviewedAt: string | null;
  note: string | null;
  formVersion: number;
  answers: Record<string, unknown>;
  /** Where the next page starts. */
  key: { createdAt: string; id: string };
}

/**
 * One page of the organization's applications to a form, oldest first, after `after` (the `key` of
 * the previous page's last row): the export reads them page by page rather than all at once.
 */
export async function exportPage(
  db: Db,
  q: { organizationId: string; formId: string; after: { createdAt: string; id: string } | null; limit: number },
): Promise<ExportRow[]> {
  const { rows } = await db.query<{
    id: string;
    created_at: Date;
    page_created_at: string;
    status: string;
    discord_role_assignment_status: string;
    applicant_name: string;
    applicant_email: string;
    discord_user_id: string | null;
    discord_verified: boolean;
    reviewer_email: string | null;
    reviewed_at: Date | null;
    notes: string | null;
    form_version: number;
    answers: Record<string, unknown>;
  }>(
    `SELECT a.id, a.created_at, a.created_at::text AS page_created_at, a.status, a.discord_role_assignment_status,
            a.applicant_name, a.applicant_email, a.discord_user_id, a.discord_verified, u.email AS reviewer_email,
            a.reviewed_at, a.notes, a.form_version, a.answers
     FROM applications a LEFT JOIN users u ON u.id = a.reviewed_by
     WHERE a.organization_id = $1 AND a.form_id = $2
       AND ($3::timestamptz IS NULL OR (a.created_at, a.id) > ($3, $4::uuid))
     ORDER BY a.created_at, a.id
     LIMIT $5`,
    [q.organizationId, q.formId, q.after?.createdAt ?? null, q.after?.id ?? null, q.limit],
  );
  return rows.map((r) => ({
    id: r.id,
    createdAt: iso(r.created_at),
    status: r.status,
    roleStatus: r.discord_role_assignment_status,
    name: r.applicant_name,
    email: r.applicant_email,
    discordUserId: r.discord_user_id,
    verified: r.discord_verified,
    reviewedBy: r.reviewer_email,
    reviewedAt: r.reviewed_at ? iso(r.reviewed_at) : null,
    note: r.notes,
    formVersion: r.form_version,
    answers: r.answers ?? {},
    key: { createdAt: r.page_created_at, id: r.id },
  }));
}
