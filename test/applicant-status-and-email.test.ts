// The applicant is told the outcome: the private status link (each state, refused when tampered
// with), the list reached by signing in with Discord again, and the decision emails, durable and
// sent once per decision, through the local SMTP sink, on the real stack (Postgres, Temporal, the
// Discord sandbox, a worker process killed mid-step).
import { randomBytes } from 'node:crypto';
import { statusTokenOf, statusUrlOf } from '../src/auth/status-token.js';
import { insertApplication } from '../src/db/applications.js';
import type { ReceivedMail } from '../src/dev/smtp-sink.js';
import { applicantViewOf } from '../src/domain/applicant-status.js';
import {
  reachablePairs,
  type ApplicationStatus,
  type RoleAssignmentStatus,
} from '../src/domain/application-lifecycle.js';
import { decisionMessageId, renderDecisionEmail } from '../src/email/render.js';
import { classifySendError } from '../src/email/transport.js';
import { listDecisionEmails } from '../src/db/decision-emails.js';
import { roleWorkflowId } from '../src/temporal/shared.js';
import { TEST_STATE_SECRET } from './helpers/app.js';
import { signInApplicant, submitApplication } from './helpers/applicant.js';
import { bulkReview, connectDiscord, waitForApplication, waitForBulk } from './helpers/flows.js';
import { pollUntil } from './helpers/poll.js';
import { startStack, type Org, type Stack } from './helpers/stack.js';
import { spawnWorkerProcess } from './helpers/worker-process.js';

interface StatusBody {
  status: string;
  roleGranted: boolean;
  serverUrl: string | null;
  note: string | null;
  organization: { name: string; slug: string };
  form: { title: string } | null;
  submittedAt: string;
  decidedAt: string | null;
}

const NOT_FOUND = { error: { code: 'not_found', message: 'No such application.' } };

let stack: Stack;
let org: Org;
let cookie: string;
let guildId: string;

const newEmail = (who: string) => `${who}-${randomBytes(3).toString('hex')}@example.org`;

/** An application as the public form stores it, with a typed Discord ID. */
async function apply(name: string, discordUserId: string, email = newEmail(name.toLowerCase())) {
  const app = await insertApplication(stack.db.pool, {
    organizationId: org.id,
    name,
    email,
    customData: { discord_user_id: discordUserId },
  });
  return { id: app.id, email };
}

/** `token` null: no token at all. */
async function statusOf(id: string, token: string | null = statusTokenOf(TEST_STATE_SECRET, id)) {
  const res = await fetch(
    `${stack.app.baseUrl}/api/public/applications/${id}/status${token === null ? '' : `?token=${encodeURIComponent(token)}`}`,
  );
  return { status: res.status, body: (await res.json()) as StatusBody & typeof NOT_FOUND };
}

async function decide(id: string, decision: 'approve' | 'reject', note?: string) {
  const res = await stack.api(`/api/applications/${id}/review`, {
    method: 'POST',
    cookie,
    body: { decision, ...(note ? { note } : {}) },
  });
  expect(res.status).toBe(200);
}

const mailTo = (email: string): ReceivedMail[] => stack.smtpSink!.messages().filter((m) => m.to.includes(email));
const waitForMail = (email: string, count: number) =>
  pollUntil(
    async () => mailTo(email),
    (m) => m.length >= count,
    { timeoutMs: 60_000, intervalMs: 150, what: `${count} email(s) to ${email}` },
  );
const waitForRows = (id: string, until: (rows: Awaited<ReturnType<typeof listDecisionEmails>>) => boolean) =>
  pollUntil(() => listDecisionEmails(stack.db.pool, id), until, {
    timeoutMs: 60_000,
    intervalMs: 150,
    what: `decision emails of ${id}`,
  });

/**
 * Whether the application's latest workflow run, or a run it continued from, scheduled `activityType`.
 */
async function scheduled(on: Stack, id: string, activityType: string): Promise<boolean> {
  let runId: string | undefined;
  for (;;) {
    const history = await on.app.temporal.workflow.getHandle(roleWorkflowId(id), runId).fetchHistory();
    const events = history.events ?? [];
    if (events.some((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === activityType)) return true;
    runId = events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
    if (!runId) return false;
  }
}

beforeAll(async () => {
  stack = await startStack({
    smtpSink: true,
    roleWorkflowOptions: { memberRecheckDelaysMs: Array<number>(20).fill(400) },
  });
  org = await stack.createOrg('Status Club', { requireDiscordSignIn: false });
  cookie = await stack.login(org.adminEmail);
  guildId = stack.sandbox.createGuild({ name: 'Status Guild' }).id;
  expect(await connectDiscord(stack, cookie, guildId)).toMatch(/success=bot_connected/);
}, 90_000);
afterEach(() => stack.sandbox.faults.clear());
afterAll(async () => {
  await stack?.close();
});

describe('the pure rules', () => {
  const app = (status: ApplicationStatus, roleStatus: RoleAssignmentStatus, notes: string | null = 'A note') => ({
    status,
    notes,
    roleAssignment: { status: roleStatus, error: null, errorType: null, attemptedAt: null, retryCount: 0 },
  });
  const guild = { guildId: '123456789012345678', shareNotes: true };

  test('every reachable state has its public word; the server only once the role is granted', () => {
    const expected: Record<string, [string, boolean]> = {
      'Pending/not_applicable': ['received', false],
      'Approved/not_applicable': ['approved', false],
      'approved_pending_role/pending': ['approved', false],
      'approved_role_failed/failed': ['approved', false],
      'approved_role_assigned/success': ['approved', true],
      'Rejected/not_applicable': ['rejected', false],
      'Rejected/pending': ['rejected', false],
      'Rejected/failed': ['rejected', false],
    };
    expect(reachablePairs.map(([s, r]) => `${s}/${r}`).sort()).toEqual(Object.keys(expected).sort());
    for (const [status, roleStatus] of reachablePairs) {
      const view = applicantViewOf(app(status, roleStatus), guild);
      const [word, granted] = expected[`${status}/${roleStatus}`]!;
      expect({ status, roleStatus, view }).toEqual({
        status,
        roleStatus,
        view: {
          status: word,
          roleGranted: granted,
          serverUrl: granted ? 'https://discord.com/channels/123456789012345678' : null,
          note: word === 'received' ? null : 'A note',
        },
      });
    }
    expect(applicantViewOf(app('approved_role_assigned', 'success'), { guildId: null, shareNotes: false })).toEqual({
      status: 'approved',
      roleGranted: true,
      serverUrl: null,
      note: null,
    });
  });

  test('SMTP failures: a 5xx is permanent, a 4xx or a lost connection temporary', () => {
    expect(
      classifySendError(Object.assign(new Error('x'), { responseCode: 451, response: '451 4.7.1 Try later' })),
    ).toEqual({ kind: 'temporary', message: '451 4.7.1 Try later' });
    expect(
      classifySendError(Object.assign(new Error('x'), { responseCode: 550, response: '550 5.1.1 No such user' })),
    ).toEqual({ kind: 'permanent', message: '550 5.1.1 No such user' });
    expect(classifySendError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ESOCKET' })).kind).toBe(
      'temporary',
    );
  });

  test('the email: plain words, escaped HTML, one-line subject, a stable Message-ID per decision', () => {
    const email = renderDecisionEmail({
      organizationName: 'Chess\r\nBcc: x@evil.test Club',
      formTitle: null,
      applicantName: '<b>Ada</b>',
      decision: 'reject',
      reversal: false,
      roleFollows: false,
      statusUrl: 'https://apply.example.org/status/1?token=t',
      note: '<script>alert(1)</script>',
    });
    expect(email.subject).toBe('Your application to Chess Bcc: x@evil.test Club was not accepted');
    expect(email.html).not.toContain('<script>');
    expect(email.html).toContain('&lt;b&gt;Ada&lt;/b&gt;');
    expect(email.text).toContain('https://apply.example.org/status/1?token=t');
    expect(decisionMessageId('a', 'k', 'example.org')).toBe(decisionMessageId('a', 'k', 'example.org'));
    expect(decisionMessageId('a', 'k', 'example.org')).not.toBe(decisionMessageId('a', 'k2', 'example.org'));
    expect(decisionMessageId('a', 'k', 'example.org')).toMatch(/^<decision\.[0-9a-f]{40}@example\.org>$/);
  });
});

describe('the status link', () => {
  test('received, approved with the role on its way, role granted with the server, one email per decision', async () => {
    const user = stack.sandbox.createUser({ username: 'late.joiner' });
    const { id, email } = await apply('Ada', user.id);

    const received = await statusOf(id);
    expect(received.status).toBe(200);
    expect(received.body).toEqual({
      status: 'received',
      roleGranted: false,
      serverUrl: null,
      note: null,
      organization: { name: 'Status Club', slug: org.slug },
      form: { title: 'Membership application' },
      submittedAt: expect.any(String),
      decidedAt: null,
    });
    // Nothing about the applicant, the reviewer or the internals.
    expect(JSON.stringify(received.body)).not.toMatch(/@|reviewer|error/i);

    // Approved while the applicant is not in the server yet: the role is on its way.
    await decide(id, 'approve', 'Welcome, see you Tuesday');
    await waitForApplication(stack, cookie, id, (a) => a.roleAssignment.errorType === 'unknown_member');
    const approved = await statusOf(id);
    expect(approved.body).toMatchObject({ status: 'approved', roleGranted: false, serverUrl: null, note: null });
    expect(approved.body.decidedAt).toEqual(expect.any(String));
    expect(JSON.stringify(approved.body)).not.toMatch(/unknown_member|not a member/i);

    const [mail] = await waitForMail(email, 1);
    expect(mail!.subject).toBe('Your application to Status Club was approved');
    expect(mail!.link).toBe(statusUrlOf(stack.app.config, id));
    expect(mail!.text).toMatch(/Discord role is on its way/);
    // The form does not share notes.
    expect(mail!.text).not.toMatch(/Tuesday/);
    // MAIL_FROM's default: no-reply at PUBLIC_BASE_URL's host.
    expect(mail!.from).toMatch(/^no-reply@/);

    // The applicant joins; the automatic re-check grants the role.
    stack.sandbox.addMember(guildId, user.id);
    await waitForApplication(stack, cookie, id, (a) => a.status === 'approved_role_assigned');
    const granted = await statusOf(id);
    expect(granted.body).toMatchObject({
      status: 'approved',
      roleGranted: true,
      serverUrl: `https://discord.com/channels/${guildId}`,
    });

    // The status link followed by the email answers the same.
    const viaLink = await fetch(mail!.link!.replace('/status/', '/api/public/applications/').replace('?', '/status?'));
    expect(((await viaLink.json()) as StatusBody).roleGranted).toBe(true);

    // One decision, one email, its row sent; the role's later steps send nothing.
    expect(mailTo(email)).toHaveLength(1);
    expect(await scheduled(stack, id, 'sendDecisionEmail')).toBe(true);
    expect(await listDecisionEmails(stack.db.pool, id)).toEqual([
      expect.objectContaining({ decision: 'approve', state: 'sent', attempts: 1, messageId: mail!.messageId }),
    ]);

    // The sandbox's page and its JSON list show it.
    const page = await (await fetch(`${stack.sandbox.url}/`)).text();
    expect(page).toContain('Your application to Status Club was approved');
    expect(page).toContain(email);
    const listed = (await (await fetch(`${stack.sandbox.url}/_sandbox/mail`)).json()) as { messages: ReceivedMail[] };
    expect(listed.messages.map((m) => m.messageId)).toContain(mail!.messageId);
  });

  test("rejected, with the reviewer's note only when the form shared notes when it was written", async () => {
    const { id, email } = await apply('Bob', stack.sandbox.createUser().id);
    await decide(id, 'reject', 'Not this season');
    const hidden = await statusOf(id);
    expect(hidden.body).toMatchObject({ status: 'rejected', roleGranted: false, note: null });
    const [mail] = await waitForMail(email, 1);
    expect(mail!.subject).toBe('Your application to Status Club was not accepted');
    expect(mail!.text).not.toMatch(/Not this season/);

    await stack.db.pool.query(
      `UPDATE forms SET share_notes = true, share_notes_since = now() WHERE organization_id = $1`,
      [org.id],
    );
    try {
      // Written while notes were private, it stays private: only notes written since sharing began show.
      expect((await statusOf(id)).body).toMatchObject({ status: 'rejected', note: null });
      const shared = await apply('Cleo', stack.sandbox.createUser().id);
      await decide(shared.id, 'reject', 'Come back with a rating');
      const [sharedMail] = await waitForMail(shared.email, 1);
      expect(sharedMail!.text).toMatch(/A note from the reviewer:\nCome back with a rating/);
      expect(sharedMail!.html).toContain('Come back with a rating');
      expect((await statusOf(shared.id)).body.note).toBe('Come back with a rating');
    } finally {
      await stack.db.pool.query(
        `UPDATE forms SET share_notes = false, share_notes_since = NULL WHERE organization_id = $1`,
        [org.id],
      );
    }
  });

  test('a reversal of an approval: rejected, and a second email saying the approval was withdrawn', async () => {
    const member = stack.sandbox.createUser();
    stack.sandbox.addMember(guildId, member.id);
    const { id, email } = await apply('Dora', member.id);
    await decide(id, 'approve');
    await waitForApplication(stack, cookie, id, (a) => a.status === 'approved_role_assigned');
    await decide(id, 'reject');
    await waitForApplication(
      stack,
      cookie,
      id,
      (a) => a.status === 'Rejected' && a.roleAssignment.status !== 'pending',
    );
    expect((await statusOf(id)).body).toMatchObject({ status: 'rejected', roleGranted: false, serverUrl: null });
    const mails = await waitForMail(email, 2);
    expect(mails.map((m) => m.subject)).toEqual([
      'Your application to Status Club was approved',
      'The approval of your application to Status Club was withdrawn',
    ]);
    const rows = await waitForRows(id, (r) => r.length === 2 && r.every((x) => x.state === 'sent'));
    expect(rows.map((r) => r.decision)).toEqual(['approve', 'reject']);
    expect(new Set(rows.map((r) => r.messageId)).size).toBe(2);
  });

  test('a tampered, foreign, malformed or missing token and an unknown application: the same 404', async () => {
    const { id } = await apply('Eve', stack.sandbox.createUser().id);
    const other = await apply('Finn', stack.sandbox.createUser().id);
    const token = statusTokenOf(TEST_STATE_SECRET, id);
    const flipped = token.slice(0, 10) + (token[10] === 'A' ? 'B' : 'A') + token.slice(11);
    const unknown = '00000000-0000-4000-8000-000000000000';
    const cases: Array<[string, string | null]> = [
      [id, flipped],
      [id, statusTokenOf(TEST_STATE_SECRET, other.id)],
      [id, 'not-a-token'],
      [id, `${token}x`],
      [id, ''],
      [id, null],
      [unknown, statusTokenOf(TEST_STATE_SECRET, unknown)],
      ['not-a-uuid', statusTokenOf(TEST_STATE_SECRET, 'not-a-uuid')],
      [id, statusTokenOf('another-secret-of-at-least-32-bytes-long', id)],
    ];
    for (const [appId, t] of cases) {
      const res = await statusOf(appId, t);
      expect({ appId, t, status: res.status, body: res.body }).toEqual({ appId, t, status: 404, body: NOT_FOUND });
    }
    // The right one still works; a repeated token is no token; hostile input is a 4xx, never a 500.
    expect((await statusOf(id, token)).status).toBe(200);
    const repeated = await fetch(
      `${stack.app.baseUrl}/api/public/applications/${id}/status?token=${token}&token=${token}`,
    );
    expect({ status: repeated.status, body: await repeated.json() }).toEqual({ status: 404, body: NOT_FOUND });
    for (const path of [`/api/public/applications/%E0/status`, `/api/public/applications/${id}/status?token=%E0`]) {
      const res = await fetch(`${stack.app.baseUrl}${path}`);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
    }
  });
});

describe('signing in with Discord again', () => {
  test("lists the account's applications at the organization with their status links", async () => {
    const signInOrg = await stack.createOrg('Sign-in Club'); // requires the sign-in
    const user = stack.sandbox.createUser({ username: 'returning' });
    const first = await signInApplicant(stack, signInOrg.slug, user.id);
    const submitted = await submitApplication(
      stack,
      signInOrg.slug,
      { applicant: { name: 'Returning', email: newEmail('returning') } },
      first,
    );
    expect(submitted.status).toBe(201);

    // No sign-in: nobody's applications.
    const anonymous = await fetch(`${stack.app.baseUrl}/api/public/organizations/${signInOrg.slug}/applicant`);
    expect(((await anonymous.json()) as { applications: unknown[] }).applications).toEqual([]);

    const again = await signInApplicant(stack, signInOrg.slug, user.id);
    const res = await fetch(`${stack.app.baseUrl}/api/public/organizations/${signInOrg.slug}/applicant`, {
      headers: { cookie: again },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      organization: { name: string };
      discordUser: { id: string } | null;
      applications: Array<{ id: string; formTitle: string | null; status: string; statusUrl: string }>;
    };
    expect(body.organization.name).toBe('Sign-in Club');
    expect(body.discordUser?.id).toBe(user.id);
    expect(body.applications).toEqual([
      {
        id: submitted.body.id,
        formTitle: 'Membership application',
        submittedAt: expect.any(String),
        status: 'received',
        statusUrl: statusUrlOf(stack.app.config, submitted.body.id),
      },
    ]);

    // Another account signed in sees none of them.
    const stranger = await signInApplicant(stack, signInOrg.slug, stack.sandbox.createUser().id);
    const strangers = await fetch(`${stack.app.baseUrl}/api/public/organizations/${signInOrg.slug}/applicant`, {
      headers: { cookie: stranger },
    });
    expect(((await strangers.json()) as { applications: unknown[] }).applications).toEqual([]);
  });
});

describe('decision emails through the SMTP sink', () => {
  test('an SMTP server refusing with 451 twice: retried, delivered once', async () => {
    const { id, email } = await apply('Gus', stack.sandbox.createUser().id);
    stack.smtpSink!.refuseNext(2, 451);
    const refusedBefore = stack.smtpSink!.refusals();
    await decide(id, 'reject');
    const [row] = await waitForRows(id, (r) => r[0]?.state === 'sent');
    expect(row).toMatchObject({ state: 'sent', attempts: 3 });
    expect(stack.smtpSink!.refusals() - refusedBefore).toBe(2);
    const mails = mailTo(email);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.deliveries).toBe(1);
  }, 60_000);

  test('a permanent refusal (550) is recorded and not retried; the role is granted all the same', async () => {
    const member = stack.sandbox.createUser();
    stack.sandbox.addMember(guildId, member.id);
    const { id, email } = await apply('Hal', member.id);
    stack.smtpSink!.refuseNext(1, 550, 'No such user here');
    await decide(id, 'approve');
    await waitForApplication(stack, cookie, id, (a) => a.status === 'approved_role_assigned');
    const [row] = await waitForRows(id, (r) => r[0]?.state === 'failed');
    expect(row).toMatchObject({ state: 'failed', attempts: 1 });
    expect(row!.lastError).toMatch(/550/);
    // Not retried: a while later, still one attempt and no message.
    await new Promise((r) => setTimeout(r, 4_000));
    expect((await listDecisionEmails(stack.db.pool, id))[0]).toMatchObject({ state: 'failed', attempts: 1 });
    expect(mailTo(email)).toEqual([]);
    expect(stack.smtpSink!.messages().some((m) => m.to.includes(email))).toBe(false);
  }, 60_000);

  test('a worker killed after the SMTP server accepted the email, before marking it: one message for the decision', async () => {
    const member = stack.sandbox.createUser();
    stack.sandbox.addMember(guildId, member.id);
    const { id, email } = await apply('Ivy', member.id);
    await stack.worker.stop();
    const worker = await spawnWorkerProcess(stack);
    const lock = await stack.db.pool.connect();
    try {
      // The sink holds its answer: a slow SMTP server.
      const hold = stack.smtpSink!.hold();
      await decide(id, 'approve');
      await hold.arrived;
      // The role does not wait for the email.
      await waitForApplication(stack, cookie, id, (a) => a.status === 'approved_role_assigned');
      const [pending] = await listDecisionEmails(stack.db.pool, id);
      expect(pending).toMatchObject({ state: 'pending', attempts: 1 });

      // The worker will be stopped between the server's acceptance and the mark: the mark waits
      // for this lock; once it waits, the worker dies and its statement with it.
      await lock.query('BEGIN');
      await lock.query(`SELECT 1 FROM decision_emails WHERE application_id = $1 FOR UPDATE`, [id]);
      hold.release();
      await waitForMail(email, 1);
      const waiting = await pollUntil(
        async () =>
          (
            await stack.db.pool.query<{ pid: number }>(
              `SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'UPDATE decision_emails%'`,
            )
          ).rows,
        (rows) => rows.length === 1,
        { timeoutMs: 20_000, what: "the worker's mark waiting for the lock" },
      );
      await worker.kill();
      await stack.db.pool.query('SELECT pg_terminate_backend($1)', [waiting[0]!.pid]);
      await lock.query('ROLLBACK');
      expect((await listDecisionEmails(stack.db.pool, id))[0]).toMatchObject({ state: 'pending' });
    } finally {
      lock.release();
      await worker.kill();
      stack.worker = await stack.startWorker();
    }

    // A fresh worker retries the step: the same message (same Message-ID) is sent again and the
    // receiver collapses it; the row is marked sent.
    const [row] = await waitForRows(id, (r) => r[0]?.state === 'sent');
    expect(row).toMatchObject({ state: 'sent', attempts: 2 });
    const mails = mailTo(email);
    expect(mails).toHaveLength(1);
    expect(mails[0]).toMatchObject({ messageId: row!.messageId, deliveries: 2 });
    expect(mails[0]!.subject).toBe('Your application to Status Club was approved');
  }, 120_000);
});

describe('bulk reviews', () => {
  test('a bulk approval emails each application it decided, once, and not the ones it refused', async () => {
    const members = [stack.sandbox.createUser(), stack.sandbox.createUser()];
    for (const m of members) stack.sandbox.addMember(guildId, m.id);
    const first = await apply('Kim', members[0]!.id);
    const second = await apply('Lee', members[1]!.id);
    const decided = await apply('Max', stack.sandbox.createUser().id);
    await decide(decided.id, 'reject');
    await waitForMail(decided.email, 1);
    const res = await bulkReview(stack, cookie, [first.id, second.id, decided.id], 'approve');
    expect(res.status).toBe(202);
    await waitForBulk(stack, cookie, res.body.bulkId!);
    for (const { id, email } of [first, second]) {
      const [mail] = await waitForMail(email, 1);
      expect(mail!.subject).toBe('Your application to Status Club was approved');
      expect(mail!.link).toBe(statusUrlOf(stack.app.config, id));
      const rows = await waitForRows(id, (r) => r[0]?.state === 'sent');
      expect(rows).toEqual([expect.objectContaining({ decisionKey: `bulk:${res.body.bulkId}`, state: 'sent' })]);
      await waitForApplication(stack, cookie, id, (a) => a.status === 'approved_role_assigned');
    }
    // The bulk is over when its emails are: nothing more comes.
    await stack.app.temporal.workflow.getHandle(`bulk-review:${res.body.bulkId}`).result();
    expect(mailTo(first.email)).toHaveLength(1);
    expect(mailTo(second.email)).toHaveLength(1);
    // The already rejected one was refused by the bulk: only its own rejection's email.
    expect(mailTo(decided.email)).toHaveLength(1);
    expect(await listDecisionEmails(stack.db.pool, decided.id)).toHaveLength(1);
  }, 60_000);
});

describe('without SMTP_URL', () => {
  let plain: Stack;
  beforeAll(async () => {
    plain = await startStack();
  }, 90_000);
  afterAll(async () => {
    await plain?.close();
  });

  test('no email step, and decisions and the status link work as before', async () => {
    const plainOrg = await plain.createOrg('Plain Club', { requireDiscordSignIn: false });
    const plainCookie = await plain.login(plainOrg.adminEmail);
    const app = await insertApplication(plain.db.pool, {
      organizationId: plainOrg.id,
      name: 'Jo',
      email: newEmail('jo'),
      customData: {},
    });
    const approve = await plain.api(`/api/applications/${app.id}/review`, {
      method: 'POST',
      cookie: plainCookie,
      body: { decision: 'approve' },
    });
    expect(approve.status).toBe(200);
    expect(((await approve.json()) as { status: string }).status).toBe('Approved');
    expect(await scheduled(plain, app.id, 'sendDecisionEmail')).toBe(false);
    const reject = await plain.api(`/api/applications/${app.id}/review`, {
      method: 'POST',
      cookie: plainCookie,
      body: { decision: 'reject' },
    });
    expect(reject.status).toBe(200);
    const res = await fetch(
      `${plain.app.baseUrl}/api/public/applications/${app.id}/status?token=${statusTokenOf(TEST_STATE_SECRET, app.id)}`,
    );
    expect(((await res.json()) as StatusBody).status).toBe('rejected');
    expect(await listDecisionEmails(plain.db.pool, app.id)).toEqual([]);
    expect(await scheduled(plain, app.id, 'sendDecisionEmail')).toBe(false);
  });
});
