import {
  applicationStatuses,
  isReachable,
  MAX_MANUAL_RETRIES,
  roleAssignmentStatuses,
} from '../src/domain/application-lifecycle.js';
import { migrate } from '../src/db/migrate.js';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';

const dbs: TestDatabase[] = [];
async function emptyDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase({ template: null });
  dbs.push(db);
  return db;
}
afterAll(async () => {
  await Promise.all(dbs.map((db) => db.drop()));
});

const tables = async (db: TestDatabase) =>
  (
    await db.pool.query<{ tablename: string }>(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`)
  ).rows.map((r) => r.tablename);

test('migrates an empty database, and a second run is a no-op', async () => {
  const db = await emptyDatabase();
  const applied = await migrate(db.url);
  expect(applied.length).toBeGreaterThanOrEqual(3);
  expect(await tables(db)).toEqual(
    expect.arrayContaining([
      'organizations',
      'users',
      'sessions',
      'applications',
      'discord_configs',
      'discord_configs_duplicates_backup',
      'audit_log',
      'oauth_state_uses',
      'pgmigrations',
    ]),
  );
  expect(await migrate(db.url)).toEqual([]);
  const { rows } = await db.pool.query(`SELECT enum_range(NULL::application_status)::text[] AS statuses`);
  // The Postgres enum and the code's list are one concept: they must not drift apart.
  expect(rows[0].statuses).toEqual([...applicationStatuses]);
  const roles = await db.pool.query(`SELECT enum_range(NULL::role_assignment_status)::text[] AS statuses`);
  expect(roles.rows[0].statuses).toEqual([...roleAssignmentStatuses]);
});

test("the database accepts exactly the state machine's (status, role status) pairs and its retry limit", async () => {
  const db = await emptyDatabase();
  await migrate(db.url);
  const org = (await db.pool.query(`INSERT INTO organizations (name, slug) VALUES ('A', 'a') RETURNING id`)).rows[0].id;
  const accepted = async (status: string, roleStatus: string, retryCount = 0) =>
    db.pool
      .query(
        `INSERT INTO applications (organization_id, applicant_name, applicant_email, status,
           discord_role_assignment_status, discord_role_assignment_retry_count)
         VALUES ($1, 'A', 'a@example.com', $2, $3, $4)`,
        [org, status, roleStatus, retryCount],
      )
      .then(
        () => true,
        (err: Error) => {
          if (!/applications_reachable_state|retry_count_check/.test(err.message)) throw err;
          return false;
        },
      );
  for (const status of applicationStatuses) {
    for (const roleStatus of roleAssignmentStatuses) {
      expect([status, roleStatus, await accepted(status, roleStatus)]).toEqual([
        status,
        roleStatus,
        isReachable(status, roleStatus),
      ]);
    }
  }
  expect(await accepted('approved_role_failed', 'failed', MAX_MANUAL_RETRIES)).toBe(true);
  expect(await accepted('approved_role_failed', 'failed', MAX_MANUAL_RETRIES + 1)).toBe(false);
});

test('Discord IDs are text columns, never numbers', async () => {
  const db = await emptyDatabase();
  await migrate(db.url);
  const { rows } = await db.pool.query<{ column_name: string; data_type: string }>(
    `SELECT column_name, data_type FROM information_schema.columns
     WHERE table_name = 'discord_configs' AND column_name IN ('guild_id', 'approved_role_id')`,
  );
  expect(rows.map((r) => r.data_type)).toEqual(['text', 'text']);
});

test("the old app's duplicate discord_configs rows: the newest per organization stays, the others go to the backup, then UNIQUE holds", async () => {
  const db = await emptyDatabase();
  await migrate(db.url, { count: 1 }); // the old app's tables, before the clean-up
  const org = (await db.pool.query(`INSERT INTO organizations (name, slug) VALUES ('A', 'a') RETURNING id`)).rows[0].id;
  const other = (await db.pool.query(`INSERT INTO organizations (name, slug) VALUES ('B', 'b') RETURNING id`)).rows[0]
    .id;
  const insert = (orgId: string, guild: string, age: string) =>
    db.pool.query(
      `INSERT INTO discord_configs (organization_id, guild_id, guild_name, approved_role_id, approved_role_name, created_at, updated_at)
       VALUES ($1, $2, 'Guild', '111111111111111111', 'Approved', now() - $3::interval, now() - $3::interval) RETURNING id`,
      [orgId, guild, age],
    );
  await insert(org, '900000000000000001', '3 days');
  const newest = (await insert(org, '900000000000000002', '1 hour')).rows[0].id;
  await insert(org, '900000000000000003', '2 days');
  const only = (await insert(other, '900000000000000004', '5 days')).rows[0].id;

  await migrate(db.url);

  const kept = await db.pool.query(
    `SELECT id, organization_id, guild_id, connection_state FROM discord_configs ORDER BY guild_id`,
  );
  expect(kept.rows.map((r) => r.id).sort()).toEqual([newest, only].sort());
  expect(kept.rows.every((r) => r.connection_state === 'connected')).toBe(true);
  const backup = await db.pool.query(`SELECT guild_id FROM discord_configs_duplicates_backup ORDER BY guild_id`);
  expect(backup.rows.map((r) => r.guild_id)).toEqual(['900000000000000001', '900000000000000003']);
  await expect(insert(org, '900000000000000005', '1 minute')).rejects.toThrow(/discord_configs_organization_id_key/);
});

test('forms: organizations and applications from before get the default form (version 1, no questions); a new organization gets one; one default each; an application answers a form of its own organization', async () => {
  const db = await emptyDatabase();
  await migrate(db.url, { count: 8 }); // up to 1732000000007, before forms
  const orgs = await db.pool.query<{ id: string }>(
    `INSERT INTO organizations (name, slug) VALUES ('A', 'a'), ('B', 'b') RETURNING id`,
  );
  const [a, b] = orgs.rows.map((r) => r.id) as [string, string];
  await db.pool.query(
    `INSERT INTO applications (organization_id, applicant_name, applicant_email) VALUES ($1, 'X', 'x@example.com'), ($1, 'Y', 'y@example.com'), ($2, 'Z', 'z@example.com')`,
    [a, b],
  );
  expect(await migrate(db.url)).toContain('1732000000008_forms');

  const forms = await db.pool.query(
    `SELECT f.organization_id, f.slug, f.title, f.is_default, f.current_version, v.definition
     FROM forms f JOIN form_versions v ON v.form_id = f.id ORDER BY f.organization_id`,
  );
  expect(forms.rows).toEqual(
    [a, b].sort().map((organization_id) => ({
      organization_id,
      slug: 'apply',
      title: 'Membership application',
      is_default: true,
      current_version: 1,
      definition: { title: 'Membership application', description: '', questions: [] },
    })),
  );
  const apps = await db.pool.query(
    `SELECT a.organization_id = f.organization_id AS own, f.is_default, a.form_version, a.answers
     FROM applications a JOIN forms f ON f.id = a.form_id`,
  );
  expect(apps.rows).toEqual(Array(3).fill({ own: true, is_default: true, form_version: 1, answers: {} }));

  // A new organization, however created, has its default form; an application stored without a
  // form answers it.
  const c = (await db.pool.query(`INSERT INTO organizations (name, slug) VALUES ('C', 'c') RETURNING id`)).rows[0].id;
  const cForm = (await db.pool.query(`SELECT id FROM forms WHERE organization_id = $1 AND is_default`, [c])).rows[0].id;
  const app = await db.pool.query(
    `INSERT INTO applications (organization_id, applicant_name, applicant_email) VALUES ($1, 'W', 'w@example.com') RETURNING form_id, form_version`,
    [c],
  );
  expect(app.rows[0]).toEqual({ form_id: cForm, form_version: 1 });
  // One default form per organization.
  await expect(
    db.pool.query(`INSERT INTO forms (organization_id, slug, title, is_default) VALUES ($1, 'x', 'X', true)`, [c]),
  ).rejects.toThrow(/forms_one_default_per_organization/);
  // Another organization's form, or a version that does not exist, is refused.
  await expect(
    db.pool.query(
      `INSERT INTO applications (organization_id, applicant_name, applicant_email, form_id, form_version) VALUES ($1, 'V', 'v@example.com', $2, 1)`,
      [a, cForm],
    ),
  ).rejects.toThrow(/applications_form_fkey/);
  await expect(
    db.pool.query(
      `INSERT INTO applications (organization_id, applicant_name, applicant_email, form_id, form_version) VALUES ($1, 'V', 'v@example.com', $2, 2)`,
      [c, cForm],
    ),
  ).rejects.toThrow(/applications_form_version_fkey/);
});

test('the audit log is append-only', async () => {
  const db = await emptyDatabase();
  await migrate(db.url);
  await db.pool.query(`INSERT INTO audit_log (action) VALUES ('test')`);
  await expect(db.pool.query(`UPDATE audit_log SET action = 'changed'`)).rejects.toThrow(/append-only/);
  await expect(db.pool.query(`DELETE FROM audit_log`)).rejects.toThrow(/append-only/);
});

test('concurrent runs wait for each other instead of failing, and apply each migration once', async () => {
  const db = await emptyDatabase();
  const runs = await Promise.all([migrate(db.url), migrate(db.url), migrate(db.url)]);
  // The first to take the lock applies everything; the others then find nothing left to do.
  expect(runs.filter((applied) => applied.length > 0)).toHaveLength(1);
  expect(runs.flat().length).toBeGreaterThanOrEqual(3);
  const { rows } = await db.pool.query(`SELECT count(*) AS n, count(DISTINCT name) AS d FROM pgmigrations`);
  expect(rows[0].n).toBe(rows[0].d);
});
