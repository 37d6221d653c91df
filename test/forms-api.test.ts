// Forms on the real stack (Postgres, Temporal, HTTP): the admins' forms API and its versions, the
// public form's answers checked against the version they answer, the re-apply cooldown, and the
// CSV export.
import { parse as parseCsv } from 'csv-parse/sync';
import { seedDemoOrganization } from '../src/dev/demo-seed.js';
import { checkAnswers, formDefinitionSchema } from '../src/domain/form.js';
import { signInApplicant } from './helpers/applicant.js';
import { getApplication, review } from './helpers/flows.js';
import { startStack, type Org, type Stack } from './helpers/stack.js';

let stack: Stack;
let org: Org;
let other: Org;
let admin: string;
let reviewer: string;
let otherAdmin: string;

interface FormView {
  id: string;
  organizationId: string;
  slug: string;
  title: string;
  description: string;
  cooldownDays: number;
  shareNotes: boolean;
  isDefault: boolean;
  version: number;
  questions: Array<Record<string, unknown> & { id: string; label: string; type: string }>;
  applicationCount: number;
  createdAt: string;
  updatedAt: string;
}
interface ErrorBody {
  error: { code: string; message: string; retryAfter?: string };
}

const everyType = [
  { id: 'nick', label: 'Nickname', type: 'short_text', required: true, maxLength: 40 },
  { id: 'why_join', label: 'Why do you want to join?', type: 'long_text', required: true, help: 'A few lines.' },
  { id: 'level', label: 'Your level', type: 'single_choice', required: true, options: ['Beginner', 'Club', 'Master'] },
  { id: 'days', label: 'Days you play', type: 'multiple_choice', required: false, options: ['Mon', 'Tue', 'Wed'] },
  { id: 'rules', label: 'I have read the rules', type: 'checkbox', required: true },
  { id: 'site', label: 'Your website', type: 'url', required: false },
];
const goodAnswers = {
  nick: 'Ada',
  why_join: 'Chess on Tuesdays.\nAnd Thursdays.',
  level: 'Club',
  days: ['Mon', 'Wed'],
  rules: true,
  site: 'https://example.org/ada',
};
const formBody = (slug: string, changes: Record<string, unknown> = {}) => ({
  title: `Form ${slug}`,
  slug,
  description: 'Tell us about yourself.',
  cooldownDays: 0,
  shareNotes: false,
  questions: everyType,
  ...changes,
});

const countApplications = async (formId?: string) =>
  Number(
    (
      await stack.db.pool.query(
        'SELECT count(*) AS n FROM applications WHERE organization_id = $1 AND ($2::uuid IS NULL OR form_id = $2)',
        [org.id, formId ?? null],
      )
    ).rows[0].n,
  );

async function createForm(body: unknown, cookie = admin): Promise<FormView> {
  const res = await stack.api('/api/forms', { method: 'POST', cookie, body });
  if (res.status !== 201) throw new Error(`POST /api/forms answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as FormView;
}
const putForm = (id: string, body: unknown, cookie = admin) =>
  stack.api(`/api/forms/${id}`, { method: 'PUT', cookie, body });
async function getForm(id: string, query = '', cookie = admin): Promise<FormView> {
  const res = await stack.api(`/api/forms/${id}${query}`, { cookie });
  if (res.status !== 200) throw new Error(`GET form answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as FormView;
}

async function submit(
  slug: string,
  formSlug: string | null,
  body: Record<string, unknown>,
  cookie?: string,
): Promise<{ status: number; body: { id: string; status: string; statusUrl: string } & ErrorBody; res: Response }> {
  const path =
    formSlug === null
      ? `/api/public/organizations/${slug}/applications`
      : `/api/public/organizations/${slug}/forms/${formSlug}/applications`;
  const res = await stack.api(path, { method: 'POST', body, ...(cookie ? { cookie } : {}) });
  return { status: res.status, body: (await res.json()) as never, res };
}
const applicant = (email = 'ada@example.org', name = 'Ada Lovelace') => ({ name, email });

beforeAll(async () => {
  stack = await startStack();
  org = await stack.createOrg('Forms Club', { requireDiscordSignIn: false });
  other = await stack.createOrg('Other Club', { requireDiscordSignIn: false });
  admin = await stack.login(org.adminEmail);
  reviewer = await stack.login(org.reviewerEmail);
  otherAdmin = await stack.login(other.adminEmail);
  // This file sends far more than the public form's 30 applications a minute: every counter of its
  // database stays at one hit, until the last test drops this to see the limit.
  await stack.db.pool.query(`
    CREATE FUNCTION forms_test_one_hit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.hits := 1; RETURN NEW; END $$;
    CREATE TRIGGER forms_test_one_hit BEFORE INSERT OR UPDATE ON rate_limit_hits
      FOR EACH ROW EXECUTE FUNCTION forms_test_one_hit();
  `);
}, 60_000);
afterAll(async () => {
  await stack?.close();
});

describe('the forms API', () => {
  test('every organization has its default form; a form with each question type is created and read back', async () => {
    const list = (await (await stack.api('/api/forms', { cookie: admin })).json()) as { items: FormView[] };
    expect(list.items).toEqual([
      expect.objectContaining({
        slug: 'apply',
        title: 'Membership application',
        isDefault: true,
        version: 1,
        questions: [],
        organizationId: org.id,
      }),
    ]);

    const created = await createForm(formBody('every-type', { cooldownDays: 14, shareNotes: true }));
    expect(created).toMatchObject({
      organizationId: org.id,
      slug: 'every-type',
      title: 'Form every-type',
      description: 'Tell us about yourself.',
      cooldownDays: 14,
      shareNotes: true,
      isDefault: false,
      version: 1,
      applicationCount: 0,
    });
    // Stored as given, with the defaults filled in (a long text's maxLength, an option list kept in order).
    expect(created.questions).toEqual([
      everyType[0],
      { ...everyType[1], maxLength: 2000 },
      everyType[2],
      everyType[3],
      everyType[4],
      everyType[5],
    ]);
    expect(await getForm(created.id)).toEqual(created);
    // Reviewers read forms too.
    expect(await getForm(created.id, '', reviewer)).toEqual(created);
    const again = (await (await stack.api('/api/forms', { cookie: reviewer })).json()) as { items: FormView[] };
    expect(again.items.map((f) => f.slug)).toEqual(['apply', 'every-type']);
    // The audit log says who created it, at which version.
    const audit = await stack.db.pool.query(
      `SELECT actor_user_id IS NOT NULL AS by_user, details FROM audit_log WHERE action = 'form.created' AND subject_id = $1`,
      [created.id],
    );
    expect(audit.rows).toEqual([{ by_user: true, details: expect.objectContaining({ version: 1, questions: 6 }) }]);

    // The public form shows it, at its current version.
    const pub = await stack.api(`/api/public/organizations/${org.slug}/forms/every-type`);
    expect(pub.status).toBe(200);
    expect(await pub.json()).toEqual({
      organization: { slug: org.slug, name: 'Forms Club', requireDiscordSignIn: false },
      form: {
        slug: 'every-type',
        title: 'Form every-type',
        description: 'Tell us about yourself.',
        version: 1,
        cooldownDays: 14,
        questions: created.questions,
      },
    });
    for (const path of [
      `/api/public/organizations/${org.slug}/forms/nope`,
      `/api/public/organizations/no-such-org/forms/every-type`,
      // Another organization's form is not at this organization's address.
      `/api/public/organizations/${other.slug}/forms/every-type`,
    ]) {
      expect((await stack.api(path)).status).toBe(404);
    }
  });

  test('refusals: a taken slug 409, two questions with one id 422, a bad field 400 naming it; nothing stored', async () => {
    const forms = async () => Number((await stack.db.pool.query('SELECT count(*) AS n FROM forms')).rows[0].n);
    const before = await forms();
    const taken = await stack.api('/api/forms', { method: 'POST', cookie: admin, body: formBody('apply') });
    expect(taken.status).toBe(409);
    expect(((await taken.json()) as ErrorBody).error.code).toBe('form_slug_taken');
    const twice = await stack.api('/api/forms', {
      method: 'POST',
      cookie: admin,
      body: formBody('twice', { questions: [everyType[0], everyType[4], { ...everyType[1], id: 'nick' }] }),
    });
    expect(twice.status).toBe(422);
    expect(await twice.json()).toEqual({
      error: {
        code: 'duplicate_question_id',
        message: 'questions.2.id: "nick" is the id of an earlier question; each question needs its own',
      },
    });
    for (const [body, message] of [
      [formBody('new'), /^slug: must not be one of/],
      [formBody('Bad Slug'), /^slug: /],
      [formBody('ok', { cooldownDays: 366 }), /^cooldownDays: /],
      [formBody('ok', { isDefault: true }), /isDefault: is not a known field/],
      [
        formBody('ok', { questions: [{ id: 'a', label: 'A', type: 'single_choice', required: true }] }),
        /^questions\.0\.options: /,
      ],
      [
        formBody('ok', { questions: [{ id: 'a', label: 'A', type: 'short_text', maxLength: 1001 }] }),
        /^questions\.0\.maxLength: /,
      ],
    ] as const) {
      const res = await stack.api('/api/forms', { method: 'POST', cookie: admin, body });
      expect([res.status, ((await res.json()) as ErrorBody).error]).toEqual([
        400,
        { code: 'invalid_request', message: expect.stringMatching(message) },
      ]);
    }
    expect(await forms()).toBe(before);
  });

  test('reviewers cannot create or edit forms, nor export; another organization sees none of them', async () => {
    const form = await createForm(formBody('staff-only'));
    const created = await stack.api('/api/forms', { method: 'POST', cookie: reviewer, body: formBody('by-reviewer') });
    expect([created.status, ((await created.json()) as ErrorBody).error.code]).toEqual([403, 'forbidden']);
    const edited = await putForm(form.id, formBody('staff-only', { title: 'Changed' }), reviewer);
    expect([edited.status, ((await edited.json()) as ErrorBody).error.code]).toEqual([403, 'forbidden']);
    const exported = await stack.api(`/api/applications/export.csv?formId=${form.id}`, { cookie: reviewer });
    expect([exported.status, ((await exported.json()) as ErrorBody).error.code]).toEqual([403, 'forbidden']);
    expect((await getForm(form.id)).title).toBe('Form staff-only');

    expect((await stack.api(`/api/forms/${form.id}`, { cookie: otherAdmin })).status).toBe(404);
    expect((await putForm(form.id, formBody('staff-only'), otherAdmin)).status).toBe(404);
    expect((await stack.api(`/api/applications/export.csv?formId=${form.id}`, { cookie: otherAdmin })).status).toBe(
      404,
    );
    expect((await stack.api('/api/forms')).status).toBe(401);
  });
});

describe('answers', () => {
  let form: FormView;
  beforeAll(async () => {
    form = await createForm(formBody('answers'));
  });

  test('valid answers are stored with the form and its version, and the application says so', async () => {
    const before = await countApplications(form.id);
    const res = await submit(org.slug, 'answers', {
      applicant: applicant(),
      answers: { ...goodAnswers, nick: '  Ada  ' },
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.any(String),
      status: 'Pending',
      statusUrl: `${stack.app.config.publicBaseUrl}/status/${res.body.id}?token=${new URL(res.body.statusUrl).searchParams.get('token')}`,
    });
    expect(new URL(res.body.statusUrl).searchParams.get('token')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const stored = await getApplication(stack, admin, res.body.id);
    expect(stored).toMatchObject({ formId: form.id, formVersion: 1, answers: { ...goodAnswers, nick: 'Ada' } });
    expect(await countApplications(form.id)).toBe(before + 1);
    // The submission is in the audit log, by no one (the applicant has no account here).
    const audit = await stack.db.pool.query(
      `SELECT actor_user_id, details FROM audit_log WHERE action = 'application.submitted' AND subject_id = $1`,
      [res.body.id],
    );
    expect(audit.rows).toEqual([{ actor_user_id: null, details: { formId: form.id, formVersion: 1 } }]);
    // Optional questions may be left out.
    const { days: _days, site: _site, ...required } = goodAnswers;
    expect(
      (await submit(org.slug, 'answers', { applicant: applicant('b@example.org'), answers: required })).status,
    ).toBe(201);
    // The list filters by form.
    const listed = (await (await stack.api(`/api/applications?formId=${form.id}`, { cookie: admin })).json()) as {
      items: Array<{ id: string; formId: string }>;
    };
    expect(listed.items.length).toBe(before + 2);
    expect(listed.items.every((a) => a.formId === form.id)).toBe(true);
    expect(listed.items.map((a) => a.id)).toContain(res.body.id);
    // And another form's list (the default form's, which has applications of its own) leaves them out.
    expect((await submit(org.slug, null, { applicant: applicant('c@example.org') })).status).toBe(201);
    const forms = (await (await stack.api('/api/forms', { cookie: admin })).json()) as {
      items: Array<{ id: string; isDefault: boolean }>;
    };
    const defaultForm = forms.items.find((f) => f.isDefault)!;
    const others = (await (
      await stack.api(`/api/applications?formId=${defaultForm.id}&limit=200`, { cookie: admin })
    ).json()) as { items: Array<{ id: string; formId: string }> };
    expect(others.items.length).toBeGreaterThan(0);
    expect(others.items.every((a) => a.formId === defaultForm.id)).toBe(true);
    expect(others.items.map((a) => a.id)).not.toContain(res.body.id);
  });

  test.each([
    ['a required text left out', { nick: undefined }, 'answers.nick: is required'],
    ['a text of spaces for a required one', { nick: '   ' }, 'answers.nick: is required'],
    ['a number as a text', { nick: 7 }, 'answers.nick: must be a text, a list of texts, or true or false'],
    ['a list for a text', { nick: ['Ada'] }, 'answers.nick: must be a text'],
    ['an over-long short text', { nick: 'x'.repeat(41) }, 'answers.nick: must be at most 40 characters'],
    [
      'a line break in a short text',
      { nick: 'A\nB' },
      'answers.nick: must not contain control characters (such as NUL)',
    ],
    ['an over-long long text', { why_join: 'x'.repeat(2001) }, 'answers.why_join: must be at most 2000 characters'],
    [
      'a NUL in a long text',
      { why_join: 'a\u0000b' },
      'answers.why_join: must not contain control characters other than tabs and line breaks',
    ],
    [
      'a choice not offered',
      { level: 'Grandmaster' },
      'answers.level: must be one of the options: "Beginner", "Club", "Master"',
    ],
    ['an option not offered', { days: ['Mon', 'Sun'] }, 'answers.days.1: is not one of the options'],
    ['an option twice', { days: ['Mon', 'Mon'] }, 'answers.days: must not name an option twice'],
    ['a text for a multiple choice', { days: 'Mon' }, 'answers.days: must be a list of options'],
    ['the rules not accepted', { rules: false }, 'answers.rules: must be checked (true): it is required'],
    ['"true" as a text for a checkbox', { rules: 'true' }, 'answers.rules: must be checked (true): it is required'],
    [
      'a link that is not http(s)',
      { site: 'javascript:alert(1)' },
      'answers.site: must be a link starting with https:// or http:// (or empty)',
    ],
    ['an unknown question', { extra: 'x' }, 'answers.extra: is not a question of this form'],
  ])('refuses %s with a 400 naming the question, storing nothing', async (_label, change, message) => {
    const before = await countApplications();
    const answers = Object.fromEntries(
      Object.entries({ ...goodAnswers, ...change }).filter(([, v]) => v !== undefined),
    );
    const res = await submit(org.slug, 'answers', { applicant: applicant('refused@example.org'), answers });
    expect([res.status, res.body.error]).toEqual([400, { code: 'invalid_request', message }]);
    expect(await countApplications()).toBe(before);
  });

  test('hostile form addresses are a 404, never a 500', async () => {
    for (const formSlug of ['%00', 'a%00b', '%F0%9F%8E%B2', 'A'.repeat(300), '..%2F..%2Fapi']) {
      const read = await stack.api(`/api/public/organizations/${org.slug}/forms/${formSlug}`);
      const post = await stack.api(`/api/public/organizations/${org.slug}/forms/${formSlug}/applications`, {
        method: 'POST',
        body: { applicant: applicant(), answers: {} },
      });
      expect([formSlug, read.status, post.status]).toEqual([formSlug, 404, 404]);
    }
    for (const id of ['%00', 'not-a-uuid', '00000000-0000-0000-0000-000000000000']) {
      expect([id, (await stack.api(`/api/forms/${id}`, { cookie: admin })).status]).toEqual([id, 404]);
    }
  });

  test('answers of the wrong JSON type are refused before the form is read (400 naming them)', async () => {
    const before = await countApplications();
    for (const answers of [['x'], 'x', { nick: { nested: true } }]) {
      const res = await submit(org.slug, 'answers', { applicant: applicant(), answers });
      expect(res.status).toBe(400);
      expect(res.body.error.message).toMatch(/^answers/);
    }
    expect(await countApplications()).toBe(before);
  });
});

describe('versions', () => {
  test('editing an unused form changes it in place (still version 1)', async () => {
    const form = await createForm(formBody('unused'));
    const res = await putForm(form.id, formBody('unused-renamed', { title: 'Renamed', questions: [everyType[4]] }));
    expect(res.status).toBe(200);
    const edited = (await res.json()) as FormView;
    expect(edited).toMatchObject({ id: form.id, slug: 'unused-renamed', title: 'Renamed', version: 1 });
    expect(edited.questions).toEqual([everyType[4]]);
    const versions = await stack.db.pool.query('SELECT version FROM form_versions WHERE form_id = $1', [form.id]);
    expect(versions.rows).toEqual([{ version: 1 }]);
    expect((await stack.api(`/api/public/organizations/${org.slug}/forms/unused`)).status).toBe(404);
    expect((await stack.api(`/api/public/organizations/${org.slug}/forms/unused-renamed`)).status).toBe(200);
  });

  test('editing a used form creates version 2; the old application keeps version 1 and its answers', async () => {
    const form = await createForm(formBody('versioned'));
    const first = await submit(org.slug, 'versioned', { applicant: applicant(), answers: goodAnswers });
    expect(first.status).toBe(201);

    const v2Questions = [
      { id: 'nick', label: 'Your name in the club', type: 'short_text', required: true, maxLength: 40 },
      { id: 'motto', label: 'Your motto', type: 'short_text', required: false, maxLength: 200 },
    ];
    const res = await putForm(form.id, formBody('versioned', { title: 'Versioned, v2', questions: v2Questions }));
    expect(res.status).toBe(200);
    const v2 = (await res.json()) as FormView;
    expect(v2).toMatchObject({ version: 2, title: 'Versioned, v2', questions: v2Questions, applicationCount: 1 });
    const audit = await stack.db.pool.query(
      `SELECT details FROM audit_log WHERE action = 'form.updated' AND subject_id = $1`,
      [form.id],
    );
    expect(audit.rows).toEqual([{ details: expect.objectContaining({ version: 2, newVersion: true }) }]);

    // The old application: version 1, its answers as given; version 1 reads back as it was.
    const old = await getApplication(stack, admin, first.body.id);
    expect(old).toMatchObject({ formId: form.id, formVersion: 1, answers: goodAnswers });
    const v1 = await getForm(form.id, '?version=1');
    expect(v1).toMatchObject({ version: 1, title: 'Form versioned', questions: expect.any(Array) });
    expect(v1.questions.map((q) => q.id)).toEqual(everyType.map((q) => q.id));
    expect((await stack.api(`/api/forms/${form.id}?version=3`, { cookie: admin })).status).toBe(404);
    expect((await stack.api(`/api/forms/${form.id}?version=0`, { cookie: admin })).status).toBe(400);

    // New applications answer version 2: the old answers are refused, the new ones stored with version 2.
    const stale = await submit(org.slug, 'versioned', { applicant: applicant('c@example.org'), answers: goodAnswers });
    expect(stale.status).toBe(400);
    expect(stale.body.error.message).toMatch(/^answers\.why_join: is not a question of this form/);
    const fresh = await submit(org.slug, 'versioned', {
      applicant: applicant('c@example.org'),
      answers: { nick: 'Cee', motto: 'Play on' },
    });
    expect(fresh.status).toBe(201);
    expect(await getApplication(stack, admin, fresh.body.id)).toMatchObject({ formVersion: 2 });

    // Version 2 has an application now: the next edit is version 3; one without a change in between stays 3.
    const v3 = (await (
      await putForm(form.id, formBody('versioned', { questions: v2Questions.slice(0, 1) }))
    ).json()) as FormView;
    expect(v3.version).toBe(3);
    const v3again = (await (await putForm(form.id, formBody('versioned', { title: 'Again' }))).json()) as FormView;
    expect(v3again.version).toBe(3);
  });

  test('concurrent edits and submissions: versions are consecutive and no application points at a version changed after it answered it', async () => {
    const form = await createForm(
      formBody('busy', { questions: [{ id: 'q0', label: 'Q0', type: 'short_text', required: true }] }),
    );
    // Each edit renames the question: answers keyed by another version's id would not fit.
    const edits = Array.from({ length: 6 }, (_, i) =>
      putForm(
        form.id,
        formBody('busy', { questions: [{ id: `q${i + 1}`, label: `Q${i + 1}`, type: 'short_text', required: true }] }),
      ),
    );
    const submissions = Array.from({ length: 12 }, async (_, i) => {
      const current = (await (await stack.api(`/api/public/organizations/${org.slug}/forms/busy`)).json()) as {
        form: { questions: Array<{ id: string }> };
      };
      return submit(org.slug, 'busy', {
        applicant: applicant(`busy${i}@example.org`),
        answers: { [current.form.questions[0]!.id]: `answer ${i}` },
      });
    });
    const [editResults, submitResults] = await Promise.all([Promise.all(edits), Promise.all(submissions)]);
    expect(editResults.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    // A submission that read the form before an edit may find its question renamed: a 400, never a 500.
    for (const r of submitResults) expect([201, 400]).toContain(r.status);

    const versions = (
      await stack.db.pool.query<{ version: number; definition: unknown }>(
        'SELECT version, definition FROM form_versions WHERE form_id = $1 ORDER BY version',
        [form.id],
      )
    ).rows;
    expect(versions.map((v) => v.version)).toEqual(versions.map((_, i) => i + 1));
    const current = await getForm(form.id);
    expect(current.version).toBe(versions.length);
    // Every stored application's answers still fit the version it points at.
    const apps = (
      await stack.db.pool.query<{ form_version: number; answers: unknown }>(
        'SELECT form_version, answers FROM applications WHERE form_id = $1',
        [form.id],
      )
    ).rows;
    expect(apps.length).toBe(submitResults.filter((r) => r.status === 201).length);
    for (const app of apps) {
      const definition = formDefinitionSchema.parse(versions.find((v) => v.version === app.form_version)!.definition);
      expect([app.form_version, checkAnswers(definition, app.answers).ok]).toEqual([app.form_version, true]);
    }
  });

  test('concurrent edits of a used form all succeed and add exactly one version', async () => {
    const form = await createForm(formBody('racing'));
    expect((await submit(org.slug, 'racing', { applicant: applicant(), answers: goodAnswers })).status).toBe(201);
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) => putForm(form.id, formBody('racing', { title: `Edit ${i}` }))),
    );
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    const bodies = (await Promise.all(results.map((r) => r.json()))) as FormView[];
    expect(bodies.map((b) => b.version)).toEqual([2, 2, 2, 2, 2]);
    const versions = await stack.db.pool.query('SELECT version FROM form_versions WHERE form_id = $1 ORDER BY 1', [
      form.id,
    ]);
    expect(versions.rows).toEqual([{ version: 1 }, { version: 2 }]);
    const audits = await stack.db.pool.query(
      `SELECT count(*)::int AS n FROM audit_log WHERE action = 'form.updated' AND subject_id = $1`,
      [form.id],
    );
    expect(audits.rows[0].n).toBe(5);
  });
});

describe('the default form and the old address', () => {
  test('the old address lands on the default form, with answers when it has questions, and gives the status link', async () => {
    const defaultForm = ((await (await stack.api('/api/forms', { cookie: admin })).json()) as { items: FormView[] })
      .items[0]!;
    expect(defaultForm.isDefault).toBe(true);
    const legacy = await submit(org.slug, null, {
      applicant: applicant('legacy@example.org'),
      custom_data: { discord_user_id: '80351110224678912' },
    });
    expect(legacy.status).toBe(201);
    expect(legacy.body.statusUrl).toMatch(new RegExp(`/status/${legacy.body.id}\\?token=[A-Za-z0-9_-]{43}$`));
    expect(await getApplication(stack, admin, legacy.body.id)).toMatchObject({
      formId: defaultForm.id,
      formVersion: 1,
      answers: {},
      custom_data: { discord_user_id: '80351110224678912' },
    });
    // The same form at its own address.
    expect((await submit(org.slug, 'apply', { applicant: applicant('legacy2@example.org') })).status).toBe(201);

    // The default form can be edited, its slug too; it stays the default, and the old address follows it.
    const res = await putForm(defaultForm.id, formBody('join', { title: 'Join us', questions: [everyType[4]] }));
    expect(res.status).toBe(200);
    const edited = (await res.json()) as FormView;
    expect(edited).toMatchObject({ isDefault: true, slug: 'join', version: 2 });
    const before = await countApplications(defaultForm.id);
    const missing = await submit(org.slug, null, { applicant: applicant('legacy3@example.org') });
    expect([missing.status, missing.body.error]).toEqual([
      400,
      { code: 'invalid_request', message: 'answers.rules: is required' },
    ]);
    expect(await countApplications(defaultForm.id)).toBe(before);
    const answered = await submit(org.slug, null, {
      applicant: applicant('legacy3@example.org'),
      answers: { rules: true },
    });
    expect(answered.status).toBe(201);
    expect(await getApplication(stack, admin, answered.body.id)).toMatchObject({
      formId: defaultForm.id,
      formVersion: 2,
      answers: { rules: true },
    });
    expect((await stack.api(`/api/public/organizations/${org.slug}/forms/join`)).status).toBe(200);
    // `/apply/<org>` asks for the default form without knowing its slug.
    const byDefault = await stack.api(`/api/public/organizations/${org.slug}/form`);
    expect(byDefault.status).toBe(200);
    expect(((await byDefault.json()) as { form: { slug: string; version: number } }).form).toMatchObject({
      slug: 'join',
      version: 2,
    });
    expect((await stack.api('/api/public/organizations/no-such-org/form')).status).toBe(404);
    // Setting isDefault is not a field: a form cannot be un-defaulted.
    const undefault = await putForm(defaultForm.id, formBody('join', { isDefault: false }));
    expect(undefault.status).toBe(400);
    // Back as it was (version 3), for the tests below.
    const restored = await putForm(
      defaultForm.id,
      formBody('apply', { title: 'Membership application', questions: [] }),
    );
    expect(((await restored.json()) as FormView).version).toBe(3);
  });
});

test('the demo organization of npm start: its default form asks two questions, and seeding again changes nothing', async () => {
  const { slug } = await seedDemoOrganization(stack.db.pool);
  const res = await stack.api(`/api/public/organizations/${slug}/form`);
  expect(res.status).toBe(200);
  const demo = (await res.json()) as {
    form: { version: number; questions: Array<{ id: string; type: string; required: boolean }> };
  };
  expect(demo.form.questions.map((q) => [q.id, q.type, q.required])).toEqual([
    ['why_join', 'long_text', true],
    ['rules', 'checkbox', true],
  ]);
  await seedDemoOrganization(stack.db.pool);
  const again = (await (await stack.api(`/api/public/organizations/${slug}/form`)).json()) as typeof demo;
  expect(again).toEqual(demo);
});

describe('the re-apply cooldown', () => {
  test('a rejected applicant is refused with 409, the date and Retry-After; the same email in another case, the same typed ID too; after the cooldown they may apply again', async () => {
    const form = await createForm(formBody('cooling', { cooldownDays: 30, questions: [] }));
    const first = await submit(org.slug, 'cooling', {
      applicant: applicant('cool@example.org'),
      custom_data: { discord_user_id: '80351110224678913' },
    });
    expect(first.status).toBe(201);
    // Pending: no cooldown yet (only a rejection counts).
    const pending = await submit(org.slug, 'cooling', { applicant: applicant('cool@example.org') });
    expect(pending.status).toBe(201);
    expect((await review(stack, admin, first.body.id, 'reject')).status).toBe(200);
    const { rows } = await stack.db.pool.query<{ reviewed_at: Date }>(
      'SELECT reviewed_at FROM applications WHERE id = $1',
      [first.body.id],
    );
    // The day they may apply again: the next midnight (UTC) after the cooldown, never the moment of the rejection.
    const end = new Date(rows[0]!.reviewed_at.getTime() + 30 * 86_400_000);
    const until = new Date(Date.UTC(end.getUTCFullYear(), end.getUTCMonth(), end.getUTCDate() + 1));

    const before = await countApplications(form.id);
    for (const body of [
      { applicant: applicant('cool@example.org') },
      { applicant: applicant('COOL@Example.org', 'Someone') },
      { applicant: applicant('other@example.org'), custom_data: { discord_user_id: '80351110224678913' } },
    ]) {
      const res = await submit(org.slug, 'cooling', body);
      expect(res.status).toBe(409);
      expect(res.body).toEqual({
        error: {
          code: 'cooldown',
          message: `You may apply again on ${until.toISOString().slice(0, 10)}.`,
          retryAfter: until.toISOString(),
        },
      });
      const retryAfter = Number(res.res.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(30 * 86_400 - 120);
      expect(retryAfter).toBeLessThanOrEqual(31 * 86_400);
    }
    expect(await countApplications(form.id)).toBe(before);
    // Someone else is not held back; nor is the same person on another form.
    expect((await submit(org.slug, 'cooling', { applicant: applicant('new@example.org') })).status).toBe(201);
    expect((await submit(org.slug, null, { applicant: applicant('cool@example.org') })).status).toBe(201);

    // 31 days later (the rejection moved back in time): accepted again.
    await stack.db.pool.query(`UPDATE applications SET reviewed_at = now() - interval '31 days' WHERE id = $1`, [
      first.body.id,
    ]);
    expect((await submit(org.slug, 'cooling', { applicant: applicant('cool@example.org') })).status).toBe(201);
  });

  test('the cooldown tells nobody who was rejected: a submission that fails its answers is a 400 first, whoever it names', async () => {
    const form = await createForm(formBody('probe', { cooldownDays: 30 }));
    const first = await submit(org.slug, 'probe', { applicant: applicant('probed@example.org'), answers: goodAnswers });
    expect(first.status).toBe(201);
    expect((await review(stack, admin, first.body.id, 'reject')).status).toBe(200);
    // Someone trying emails with empty answers learns nothing: the same 400 for the rejected one and a stranger.
    for (const email of ['probed@example.org', 'stranger@example.org']) {
      const res = await submit(org.slug, 'probe', { applicant: applicant(email), answers: {} });
      expect(res.status).toBe(400);
      expect(res.body.error.message).toMatch(/^answers\.nick: is required/);
    }
    // Only a submission that would otherwise be stored meets the cooldown.
    const refused = await submit(org.slug, 'probe', {
      applicant: applicant('probed@example.org'),
      answers: goodAnswers,
    });
    expect(refused.status).toBe(409);
    expect(refused.body.error.retryAfter).toMatch(/T00:00:00\.000Z$/);
    expect(await countApplications(form.id)).toBe(1);
  });

  test('cooldownDays 0: a rejected applicant may apply again at once', async () => {
    await createForm(formBody('no-wait', { cooldownDays: 0, questions: [] }));
    const first = await submit(org.slug, 'no-wait', { applicant: applicant('again@example.org') });
    expect((await review(stack, admin, first.body.id, 'reject')).status).toBe(200);
    expect((await submit(org.slug, 'no-wait', { applicant: applicant('again@example.org') })).status).toBe(201);
  });

  test('a signed-in applicant: the verified Discord account is held back, whatever email it gives', async () => {
    const signed = await stack.createOrg('Signed Club'); // requires the Discord sign-in
    const signedAdmin = await stack.login(signed.adminEmail);
    const res = await stack.api('/api/forms', {
      method: 'POST',
      cookie: signedAdmin,
      body: formBody('members', { cooldownDays: 7, questions: [] }),
    });
    expect(res.status).toBe(201);
    const user = stack.sandbox.createUser({ username: 'cooling_down' });
    const first = await submit(
      signed.slug,
      'members',
      { applicant: applicant('one@example.org') },
      await signInApplicant(stack, signed.slug, user.id),
    );
    expect(first.status).toBe(201);
    const audit = await stack.db.pool.query(
      `SELECT details FROM audit_log WHERE action = 'application.submitted' AND subject_id = $1`,
      [first.body.id],
    );
    expect(audit.rows[0].details).toMatchObject({ discordUserId: user.id, formVersion: 1 });
    expect((await review(stack, signedAdmin, first.body.id, 'reject')).status).toBe(200);
    const again = await submit(
      signed.slug,
      'members',
      { applicant: applicant('two@example.org') },
      await signInApplicant(stack, signed.slug, user.id),
    );
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('cooldown');
  });
});

describe('the CSV export', () => {
  test('one column per question (older versions too), formulas neutralised, text round-trips, only this organization', async () => {
    const form = await createForm(
      formBody('export', {
        questions: [
          { id: 'old_q', label: 'Old question', type: 'short_text', required: false },
          ...everyType.slice(0, 5),
        ],
      }),
    );
    const tricky = {
      nick: "=cmd|' /C calc'!A0",
      why_join: 'Commas, "quotes";\nnew lines\r\nand ünïcödé — 日本語 🎲',
      level: 'Club',
      days: ['Mon', 'Wed'],
      rules: true,
      old_q: '@SUM(1+1)',
    };
    const a = await submit(org.slug, 'export', {
      applicant: applicant('x@example.org', '+Plus Name'),
      answers: tricky,
    });
    expect(a.status).toBe(201);
    // Version 2 drops old_q and adds a URL question.
    const questionsV2 = [...everyType.slice(0, 5), { id: 'site', label: '-Site', type: 'url', required: false }];
    expect((await putForm(form.id, formBody('export', { questions: questionsV2 }))).status).toBe(200);
    const b = await submit(org.slug, 'export', {
      applicant: applicant('y@example.org', 'Béatrice'),
      answers: { ...goodAnswers, site: 'https://example.org/b', days: [] },
    });
    expect(b.status).toBe(201);
    expect((await review(stack, admin, b.body.id, 'reject')).status).toBe(200);
    // Another organization's form with the same slug and an application: never in this export.
    const theirs = await stack.api('/api/forms', { method: 'POST', cookie: otherAdmin, body: formBody('export') });
    expect(theirs.status).toBe(201);
    expect(
      (await submit(other.slug, 'export', { applicant: applicant('z@example.org', 'Zed'), answers: goodAnswers }))
        .status,
    ).toBe(201);

    const res = await stack.api(`/api/applications/export.csv?formId=${form.id}`, { cookie: admin });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="export-applications.csv"');
    const bytes = Buffer.from(await res.arrayBuffer());
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const records = parseCsv(bytes, { bom: true }) as string[][];
    const [header, ...rows] = records;
    expect(header).toEqual([
      'id',
      'submitted at',
      'status',
      'role status',
      'name',
      'email',
      'Discord user id',
      'verified',
      'reviewed by',
      'reviewed at',
      'note',
      'form version',
      'Nickname',
      'Why do you want to join?',
      'Your level',
      'Days you play',
      'I have read the rules',
      "'-Site",
      'Old question',
    ]);
    expect(rows).toHaveLength(2);
    const [rowA, rowB] = rows as [string[], string[]];
    expect(rowA[0]).toBe(a.body.id);
    expect(rowA.slice(2, 9)).toEqual(['Pending', 'not_applicable', "'+Plus Name", 'x@example.org', '', 'no', '']);
    expect(rowA.slice(11)).toEqual([
      '1',
      "'=cmd|' /C calc'!A0",
      'Commas, "quotes";\nnew lines\r\nand ünïcödé — 日本語 🎲',
      'Club',
      'Mon; Wed',
      'yes',
      '',
      "'@SUM(1+1)",
    ]);
    expect(rowB[0]).toBe(b.body.id);
    expect(rowB[2]).toBe('Rejected');
    expect(rowB[4]).toBe('Béatrice');
    expect(rowB[8]).toBe(org.adminEmail);
    expect(new Date(rowB[9]!).getTime()).toBeGreaterThan(0);
    expect(rowB.slice(11)).toEqual(['2', 'Ada', goodAnswers.why_join, 'Club', '', 'yes', 'https://example.org/b', '']);
    expect(records.flat()).not.toContain('Zed');

    // Refusals: no form, not a form id.
    expect((await stack.api('/api/applications/export.csv', { cookie: admin })).status).toBe(400);
    expect((await stack.api('/api/applications/export.csv?formId=nope', { cookie: admin })).status).toBe(400);
    const theirForm = (await theirs.json()) as FormView;
    expect((await stack.api(`/api/applications/export.csv?formId=${theirForm.id}`, { cookie: admin })).status).toBe(
      404,
    );
  });

  test('a few thousand rows stream out page by page, in order', async () => {
    const form = await createForm(formBody('bulk-export', { questions: [everyType[0]] }));
    await stack.db.pool.query(
      `INSERT INTO applications (organization_id, applicant_name, applicant_email, form_id, form_version, answers, created_at)
       SELECT $1, 'Applicant ' || i, 'a' || i || '@example.org', $2, 1, jsonb_build_object('nick', 'n' || i),
              now() - make_interval(secs => 3000 - i)
       FROM generate_series(1, 2100) i`,
      [org.id, form.id],
    );
    const res = await stack.api(`/api/applications/export.csv?formId=${form.id}`, { cookie: admin });
    expect(res.status).toBe(200);
    const rows = (parseCsv(Buffer.from(await res.arrayBuffer()), { bom: true }) as string[][]).slice(1);
    expect(rows).toHaveLength(2100);
    expect(rows.map((r) => r[12])).toEqual(Array.from({ length: 2100 }, (_, i) => `n${i + 1}`));
  });
});

test('both addresses of the public form share one limit: 30 applications a minute per client', async () => {
  await stack.db.pool.query('DROP TRIGGER forms_test_one_hit ON rate_limit_hits; DELETE FROM rate_limit_hits');
  const statuses: number[] = [];
  for (let i = 0; i < 31; i++) {
    const res = await submit(org.slug, i % 2 === 0 ? null : 'apply', { applicant: applicant(`limit${i}@example.org`) });
    statuses.push(res.status);
  }
  expect(statuses.slice(0, 30).every((s) => s === 201)).toBe(true);
  expect(statuses[30]).toBe(429);
});
