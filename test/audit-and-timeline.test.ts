import { startStack, type Org, type Stack } from './helpers/stack.js';
import { connectDiscord, retryRole, waitForApplication } from './helpers/flows.js';

let stack: Stack;
let org: Org;
let other: Org;
let admin: string;
let reviewer: string;
let guildId: string;
let nextUser = 310000000000000100n;

const GRANT = 'PUT /guilds/:guildId/members/:userId/roles/:roleId';

interface TimelineItem {
  at: string;
  action: string;
  actor: { id: string; email: string } | null;
  detail: string;
}
interface AuditEntry {
  id: string;
  at: string;
  action: string;
  actor: { id: string; email: string } | null;
  subjectType: string | null;
  subjectId: string | null;
  details: Record<string, unknown>;
}

/** An application sent through the public form by a member of the guild. */
async function apply(target: Org = org): Promise<string> {
  const user = String(nextUser++);
  if (target === org) stack.sandbox.addMember(guildId, user);
  const res = await stack.api(`/api/public/organizations/${target.slug}/applications`, {
    method: 'POST',
    body: {
      applicant: { name: 'Ada Lovelace', email: `ada-${user}@example.org` },
      custom_data: { discord_user_id: user },
    },
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

async function reviewWithNote(id: string, decision: 'approve' | 'reject', note?: string) {
  const res = await stack.api(`/api/applications/${id}/review`, {
    method: 'POST',
    cookie: reviewer,
    body: { decision, ...(note ? { note } : {}) },
  });
  expect(res.status).toBe(200);
}

async function timeline(id: string, cookie = reviewer): Promise<TimelineItem[]> {
  const res = await stack.api(`/api/applications/${id}/timeline`, { cookie });
  expect(res.status).toBe(200);
  return ((await res.json()) as { items: TimelineItem[] }).items;
}

async function auditLog(query: string, cookie = admin): Promise<{ items: AuditEntry[]; nextCursor: string | null }> {
  const res = await stack.api(`/api/audit-log?${query}`, { cookie });
  expect(res.status).toBe(200);
  return (await res.json()) as { items: AuditEntry[]; nextCursor: string | null };
}

beforeAll(async () => {
  stack = await startStack();
  // Applicants here type their Discord ID (no sign-in): the timeline is about what follows.
  org = await stack.createOrg(undefined, { requireDiscordSignIn: false });
  other = await stack.createOrg(undefined, { requireDiscordSignIn: false });
  admin = await stack.login(org.adminEmail);
  reviewer = await stack.login(org.reviewerEmail);
  guildId = stack.sandbox.createGuild({ name: 'Timeline Guild' }).id;
  expect(await connectDiscord(stack, admin, guildId)).toMatch(/success=bot_connected/);
});
afterEach(() => stack.sandbox.faults.clear());
afterAll(async () => {
  await stack?.close();
});

test('the timeline tells every step of an approval whose grant failed, was retried by hand and succeeded, then its reversal', async () => {
  const id = await apply();
  // Discord refuses the first grant for good (Invalid Form Body): the application waits for a person.
  stack.sandbox.faults.add({ route: GRANT, code: 50035, times: 1 });
  await reviewWithNote(id, 'approve', 'Welcome aboard');
  await waitForApplication(stack, reviewer, id, (a) => a.status === 'approved_role_failed');
  expect((await retryRole(stack, admin, id)).status).toBe(202);
  await waitForApplication(stack, reviewer, id, (a) => a.status === 'approved_role_assigned');
  await reviewWithNote(id, 'reject', 'Left the rules unread');
  await waitForApplication(
    stack,
    reviewer,
    id,
    (a) => a.status === 'Rejected' && a.roleAssignment.status !== 'pending',
  );

  const items = await timeline(id);
  expect(items.map((i) => i.action)).toEqual([
    'application.submitted',
    'application.approved',
    'application.role_grant_failed',
    'application.role_retry',
    'application.role_grant_succeeded',
    'application.rejected',
    'application.role_removal_succeeded',
  ]);
  const [submitted, approved, failed, retry, granted, rejected, removed] = items;
  expect(submitted!.actor).toBeNull();
  expect(submitted!.detail).toMatch(/^Application submitted/);
  expect(approved!.actor).toEqual({ id: expect.any(String), email: org.reviewerEmail });
  expect(approved!.detail).toBe('Approved with the note “Welcome aboard”.');
  expect(failed!.actor).toBeNull();
  expect(failed!.detail).toMatch(/^Granting the Discord role failed: .+/);
  expect(retry!.actor).toEqual({ id: expect.any(String), email: org.adminEmail });
  expect(retry!.detail).toBe('Manual retry of the role change (1 of 5).');
  expect(granted!.detail).toBe('Discord role granted.');
  expect(rejected!.actor?.email).toBe(org.reviewerEmail);
  expect(rejected!.detail).toBe('Rejected (the approval was reversed) with the note “Left the rules unread”.');
  expect(removed!.detail).toBe('Discord role taken back.');
  // Oldest first, with real times.
  const times = items.map((i) => Date.parse(i.at));
  expect(times).toEqual([...times].sort((a, b) => a - b));
});

test("another organization's application, an unknown one and a malformed id are all 404; without a session 401", async () => {
  const foreign = await apply(other);
  for (const id of [foreign, '00000000-0000-4000-8000-000000000000', 'not-a-uuid']) {
    const res = await stack.api(`/api/applications/${id}/timeline`, { cookie: reviewer });
    expect(res.status).toBe(404);
  }
  expect((await stack.api(`/api/applications/${foreign}/timeline`)).status).toBe(401);
});

test('the audit log: admins only, filtered by application, user, action (exact or prefix) and time, paged without gaps', async () => {
  const a = await apply();
  const b = await apply();
  await reviewWithNote(a, 'reject', 'Not this time');
  await reviewWithNote(b, 'reject');

  expect((await stack.api('/api/audit-log', { cookie: reviewer })).status).toBe(403);
  expect((await stack.api('/api/audit-log')).status).toBe(401);

  const ofA = await auditLog(`applicationId=${a}`);
  expect(ofA.items.map((e) => e.action)).toEqual(['application.rejected', 'application.submitted']);
  expect(ofA.items[0]).toMatchObject({
    subjectType: 'application',
    subjectId: a,
    actor: { email: org.reviewerEmail },
    details: { note: 'Not this time' },
  });

  const reviewerId = ofA.items[0]!.actor!.id;
  const byReviewer = await auditLog(`userId=${reviewerId}&limit=200`);
  expect(byReviewer.items.length).toBeGreaterThanOrEqual(2);
  expect(byReviewer.items.every((e) => e.actor?.id === reviewerId)).toBe(true);

  const rejections = await auditLog('action=application.rejected&limit=200');
  expect(rejections.items.map((e) => e.subjectId)).toEqual(expect.arrayContaining([a, b]));
  expect(rejections.items.every((e) => e.action === 'application.rejected')).toBe(true);
  const ofApplications = await auditLog('action=application.&limit=200');
  expect(new Set(ofApplications.items.map((e) => e.action.split('.')[0]))).toEqual(new Set(['application']));
  expect(ofApplications.items.length).toBeGreaterThan(rejections.items.length);

  // Time: nothing after a moment in the future; everything of A before it.
  const future = new Date(Date.now() + 60_000).toISOString();
  expect((await auditLog(`after=${encodeURIComponent(future)}`)).items).toEqual([]);
  expect((await auditLog(`applicationId=${a}&before=${encodeURIComponent(future)}`)).items).toHaveLength(2);

  // Another organization's entries never show.
  const whole = await auditLog('limit=200');
  const foreign = await apply(other);
  expect((await auditLog(`applicationId=${foreign}`)).items).toEqual([]);

  // Paging two at a time walks the same entries as one big page, newest first, without repeats.
  const walked: string[] = [];
  let cursor: string | null = null;
  do {
    const page: { items: AuditEntry[]; nextCursor: string | null } = await auditLog(
      `limit=2${cursor ? `&cursor=${cursor}` : ''}`,
    );
    expect(page.items.length).toBeLessThanOrEqual(2);
    walked.push(...page.items.map((e) => e.id));
    cursor = page.nextCursor;
  } while (cursor && walked.length < 1_000);
  const expected = whole.items.map((e) => e.id);
  expect(walked.slice(0, expected.length)).toEqual(expected);
  expect(new Set(walked).size).toBe(walked.length);
});

test('bad filters are 400s naming the field, never 500s', async () => {
  for (const [query, field] of [
    ['applicationId=123', 'applicationId'],
    ['userId=nope', 'userId'],
    ['action=DROP%20TABLE', 'action'],
    ['after=yesterday', 'after'],
    ['before=2026-13-40', 'before'],
    ['cursor=-1', 'cursor'],
    ['cursor=abc', 'cursor'],
    // Beyond Postgres' bigint: refused by the schema, not a 500 from the query.
    ['cursor=9999999999999999999', 'cursor'],
    ['limit=0', 'limit'],
    ['limit=1000', 'limit'],
  ] as const) {
    const res = await stack.api(`/api/audit-log?${query}`, { cookie: admin });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('invalid_request');
    expect(body.error.message).toContain(field);
  }
});
