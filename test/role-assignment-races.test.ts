// The durable core on the real stack (Postgres, Temporal, the sandbox): reviews racing grants,
// repeated steps and requests, and a worker killed at random moments.
import { randomUUID } from 'node:crypto';
import { createDatabaseActivities } from '../activities/database.js';
import { createDiscordActivities } from '../activities/discord.js';
import { createDiscordApi } from '../src/discord/api.js';
import { createDiscordRest } from '../src/discord/rest.js';
import type { Application } from '../src/domain/application.js';
import { isReachable } from '../src/domain/application-lifecycle.js';
import { connectDiscord, getApplication, seedApplication, waitForApplication } from './helpers/flows.js';
import { startStack, type Org, type Stack } from './helpers/stack.js';
import { spawnWorkerProcess } from './helpers/worker-process.js';

let stack: Stack;
let org: Org;
let cookie: string;
let guildId: string;
let roleId: string;
let nextUser = 310000000000000000n;
const member = () => {
  const id = String(nextUser++);
  stack.sandbox.addMember(guildId, id);
  return id;
};

beforeAll(async () => {
  // Re-checks of missing members would blur what these tests look at: push them out of the way.
  stack = await startStack({ roleWorkflowOptions: { memberRecheckDelaysMs: [600_000] } });
  org = await stack.createOrg();
  cookie = await stack.login(org.adminEmail);
  guildId = stack.sandbox.createGuild({ name: 'Races' }).id;
  expect(await connectDiscord(stack, cookie, guildId)).toMatch(/success=bot_connected/);
  roleId = stack.sandbox.roles(guildId).find((r) => r.name === 'Approved')!.id;
}, 60_000);
afterAll(async () => {
  await stack?.close();
});

let lastServerError = '';

/** POSTs with an Idempotency-Key, sending the same request again while the answer is a 5xx or the network fails. */
async function postUntilAnswered(path: string, body: unknown, key = randomUUID()) {
  const deadline = Date.now() + 90_000;
  for (;;) {
    try {
      const res = await fetch(`${stack.app.baseUrl}${path}`, {
        method: 'POST',
        headers: {
          cookie,
          origin: stack.app.config.publicBaseUrl,
          'content-type': 'application/json',
          'idempotency-key': key,
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
      const answer = (await res.json()) as Application & { error?: { code: string; message: string } };
      if (res.status < 500 || Date.now() > deadline) return { status: res.status, body: answer };
      lastServerError = `${res.status} ${JSON.stringify(answer.error)}`;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

const settledRole = (a: Application) => a.roleAssignment.status !== 'pending';

test('finding 1: approve then reject 24 applications at delays from 0 to 350 ms: every one ends Rejected, nobody keeps the role', async () => {
  const cases = await Promise.all(
    Array.from({ length: 24 }, async (_, i) => {
      const user = member();
      return {
        user,
        id: await seedApplication(stack, org, { discord_user_id: user }),
        delayMs: Math.round((i * 350) / 23),
      };
    }),
  );
  const answers = await Promise.all(
    cases.map(async ({ id, delayMs }) => {
      const approved = postUntilAnswered(`/api/applications/${id}/review`, { decision: 'approve' });
      await new Promise((r) => setTimeout(r, delayMs));
      const rejected = await postUntilAnswered(`/api/applications/${id}/review`, { decision: 'reject' });
      return [(await approved).status, rejected.status];
    }),
  );
  for (const [approve, reject] of answers) {
    expect(reject).toBe(200);
    // An approval that lost the race to the reject is refused as already reviewed: never a 5xx.
    expect([200, 409]).toContain(approve);
  }
  for (const { id, user } of cases) {
    const done = await waitForApplication(stack, cookie, id, settledRole, 30_000);
    expect({ id, status: done.status, role: done.roleAssignment.status }).toEqual({
      id,
      status: 'Rejected',
      role: 'not_applicable',
    });
    expect(stack.sandbox.memberRoles(guildId, user)).not.toContain(roleId);
  }
  const { rows } = await stack.db.pool.query(
    `SELECT count(*)::int AS n FROM applications WHERE id = ANY($1) AND discord_role_assignment_status = 'pending'`,
    [cases.map((c) => c.id)],
  );
  expect(rows[0].n).toBe(0);
}, 120_000);

describe('finding 2: every step is idempotent', () => {
  const activities = () => createDatabaseActivities({ pool: stack.db.pool });
  const auditCount = async (id: string, action: string) =>
    (
      await stack.db.pool.query(`SELECT count(*)::int AS n FROM audit_log WHERE subject_id = $1 AND action = $2`, [
        id,
        action,
      ])
    ).rows[0].n as number;

  test('recordReview run twice with one key (a worker crash after the commit): the same answer, one write, no 409', async () => {
    const id = await seedApplication(stack, org, { discord_user_id: member() });
    const reviewer = (await stack.db.pool.query(`SELECT id FROM users WHERE email = $1`, [org.adminEmail])).rows[0].id;
    const input = {
      key: `review:${id}:${randomUUID()}`,
      applicationId: id,
      organizationId: org.id,
      decision: 'approve' as const,
      reviewerId: reviewer,
    };
    const first = await activities().recordReview(input);
    const second = await activities().recordReview(input);
    expect(first.refusal).toBeNull();
    expect(second).toMatchObject({ refusal: null, replayed: true, answer: first.answer });
    expect(await auditCount(id, 'application.approved')).toBe(1);
    // The same key for another request is refused rather than answered with the wrong thing.
    await expect(activities().recordReview({ ...input, decision: 'reject' })).rejects.toMatchObject({
      type: 'idempotency_key_reused',
    });
  });

  test('beginManualRetry run twice with one key: one retry spent, the same answer (not "nothing to retry")', async () => {
    const id = await seedApplication(stack, org, { discord_user_id: '12345' });
    await postUntilAnswered(`/api/applications/${id}/review`, { decision: 'approve' });
    await waitForApplication(stack, cookie, id, (a) => a.roleAssignment.status === 'failed');
    // Straight against the database, as a re-run after a crash would be (the workflow is not involved).
    const input = { key: `retry:${id}:${randomUUID()}`, applicationId: id };
    const first = await activities().beginManualRetry(input);
    const second = await activities().beginManualRetry(input);
    expect(first).toMatchObject({ refusal: null, replayed: false, state: { roleStatus: 'pending', retryCount: 1 } });
    expect(second).toMatchObject({ refusal: null, replayed: true, state: { retryCount: 1 } });
    expect(await auditCount(id, 'application.role_retry')).toBe(1);
  });

  test('a review sent twice with one Idempotency-Key gets the first answer twice; the key with another body is refused', async () => {
    const user = member();
    const id = await seedApplication(stack, org, { discord_user_id: user });
    const key = randomUUID();
    const first = await postUntilAnswered(`/api/applications/${id}/review`, { decision: 'approve' }, key);
    await waitForApplication(stack, cookie, id, settledRole);
    const again = await postUntilAnswered(`/api/applications/${id}/review`, { decision: 'approve' }, key);
    expect(first.status).toBe(200);
    expect(again).toEqual(first);
    const other = await postUntilAnswered(`/api/applications/${id}/review`, { decision: 'reject' }, key);
    expect(other.status).toBe(422);
    expect(other.body.error?.code).toBe('idempotency_key_reused');
    expect((await getApplication(stack, cookie, id)).status).toBe('approved_role_assigned');
  });

  test('a retry-role sent twice with one Idempotency-Key counts once and answers 202 twice', async () => {
    const user = String(nextUser++); // not in the server yet
    const id = await seedApplication(stack, org, { discord_user_id: user });
    await postUntilAnswered(`/api/applications/${id}/review`, { decision: 'approve' });
    await waitForApplication(stack, cookie, id, (a) => a.roleAssignment.status === 'failed');
    stack.sandbox.addMember(guildId, user);
    const key = randomUUID();
    const first = await postUntilAnswered(`/api/applications/${id}/retry-role`, {}, key);
    expect(first.status).toBe(202);
    await waitForApplication(stack, cookie, id, (a) => a.status === 'approved_role_assigned');
    const again = await postUntilAnswered(`/api/applications/${id}/retry-role`, {}, key);
    expect(again.status).toBe(202);
    expect((await getApplication(stack, cookie, id)).roleAssignment.retryCount).toBe(1);
  });

  test('each statement ends on the server within 5 s, below the 10 s of a local activity', async () => {
    expect((await stack.db.pool.query(`SHOW statement_timeout`)).rows[0].statement_timeout).toBe('5s');
    await expect(stack.db.pool.query(`SELECT pg_sleep(6)`)).rejects.toThrow(/statement timeout/);
  });

  test('an Idempotency-Key that is not one is a 400 naming the header, and nothing is reviewed', async () => {
    const id = await seedApplication(stack, org, {});
    const res = await fetch(`${stack.app.baseUrl}/api/applications/${id}/review`, {
      method: 'POST',
      headers: {
        cookie,
        origin: stack.app.config.publicBaseUrl,
        'content-type': 'application/json',
        'idempotency-key': 'x'.repeat(101),
      },
      body: JSON.stringify({ decision: 'approve' }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/^Idempotency-Key:/);
    expect((await getApplication(stack, cookie, id)).status).toBe('Pending');
  });
});

test('finding 5: the grant activity reads the decision first: a reversed application makes no Discord call', async () => {
  const user = member();
  const id = await seedApplication(stack, org, { discord_user_id: user });
  await stack.db.pool.query(
    `UPDATE applications SET status = 'Rejected', discord_role_assignment_status = 'not_applicable' WHERE id = $1`,
    [id],
  );
  const discord = createDiscordActivities({
    pool: stack.db.pool,
    discord: createDiscordApi(
      createDiscordRest({ apiBaseUrl: stack.sandbox.apiBaseUrl, botToken: stack.sandbox.botToken }),
    ),
    oauth: {
      apiBaseUrl: stack.sandbox.apiBaseUrl,
      clientId: stack.sandbox.clientId,
      clientSecret: stack.sandbox.clientSecret,
    },
    publicBaseUrl: stack.app.config.publicBaseUrl,
    tokenEncryptionKey: stack.app.config.tokenEncryptionKey,
  });
  stack.sandbox.resetStats();
  expect(await discord.changeMemberRole({ applicationId: id, organizationId: org.id, action: 'grant' })).toEqual({
    skipped: true,
  });
  expect(stack.sandbox.stats().requests).toBe(0);
  expect(stack.sandbox.memberRoles(guildId, user)).not.toContain(roleId);
});

test('a worker SIGKILLed at random moments during 100 mixed reviews and retries: every application ends in a state the machine allows, Discord matches, and no reviewer got a 409', async () => {
  await stack.worker.stop();
  let worker = await spawnWorkerProcess(stack);
  let chaos = true;
  let kills = 0;
  // Four kills at random moments while the requests flow (each costs the runs on that worker a
  // workflow task timeout, so more would only slow the test down).
  const killer = (async () => {
    while (chaos && kills < 4) {
      await new Promise((r) => setTimeout(r, 500 + Math.random() * 2_500));
      if (!chaos) break;
      await worker.kill();
      kills += 1;
      worker = await spawnWorkerProcess(stack);
    }
  })();

  type Kind = 'approve' | 'approve-then-reject' | 'missing-then-retry';
  const kinds: Kind[] = Array.from({ length: 100 }, (_, i) =>
    i % 5 < 2 ? 'approve' : i % 5 < 4 ? 'approve-then-reject' : 'missing-then-retry',
  );
  const cases = await Promise.all(
    kinds.map(async (kind) => {
      const user = kind === 'missing-then-retry' ? String(nextUser++) : member();
      return { kind, user, id: await seedApplication(stack, org, { discord_user_id: user }) };
    }),
  );
  const statuses: number[] = [];
  lastServerError = '';
  const run = async ({ kind, user, id }: (typeof cases)[number]) => {
    const approved = await postUntilAnswered(`/api/applications/${id}/review`, { decision: 'approve' });
    statuses.push(approved.status);
    if (kind === 'approve-then-reject') {
      statuses.push((await postUntilAnswered(`/api/applications/${id}/review`, { decision: 'reject' })).status);
    }
    if (kind === 'missing-then-retry') {
      await waitForApplication(stack, cookie, id, (a) => a.roleAssignment.status === 'failed', 90_000);
      stack.sandbox.addMember(guildId, user);
      statuses.push((await postUntilAnswered(`/api/applications/${id}/retry-role`, {})).status);
    }
  };
  let next = 0;
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      while (next < cases.length) await run(cases[next++]!);
    }),
  );
  chaos = false;
  await killer;
  expect(kills).toBeGreaterThanOrEqual(2);
  // Every request got its answer: 200 for reviews, 202 for retries; no 409 for anyone's own request.
  const unexpected = statuses.filter((s) => s !== 200 && s !== 202);
  if (unexpected.length > 0)
    throw new Error(`unexpected answers ${unexpected.join(', ')}; last 5xx: ${lastServerError}`);

  for (const { kind, user, id } of cases) {
    const done = await waitForApplication(stack, cookie, id, settledRole, 90_000);
    expect(isReachable(done.status, done.roleAssignment.status)).toBe(true);
    const expected = kind === 'approve-then-reject' ? 'Rejected' : 'approved_role_assigned';
    // On a mismatch, the role state and the workflow's own account of the retries say why.
    const why =
      done.status === expected
        ? {}
        : {
            roleAssignment: done.roleAssignment,
            workflow: await stack.app.temporal.workflow
              .getHandle(`application-role:${id}`)
              .query('roleAssignment')
              .catch((err: Error) => err.message),
          };
    expect({ id, kind, status: done.status, ...why }).toEqual({ id, kind, status: expected });
    expect({ id, kind, holdsRole: stack.sandbox.memberRoles(guildId, user).includes(roleId) }).toEqual({
      id,
      kind,
      holdsRole: expected === 'approved_role_assigned',
    });
  }
  await worker.kill();
  stack.worker = await stack.startWorker();
}, 300_000);
