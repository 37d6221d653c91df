import type { Application } from '../src/domain/application.js';
import { startStack, type Org, type Stack } from './helpers/stack.js';
import {
  bulkReview,
  connectDiscord,
  getApplication,
  review,
  retryRole,
  seedApplication,
  waitForBulk,
} from './helpers/flows.js';

let stack: Stack;
let a: Org;
let b: Org;
let adminA: string;
let reviewerA: string;
let adminB: string;
let guildA: string;

const count = async (orgId: string) =>
  Number(
    (await stack.db.pool.query('SELECT count(*) FROM applications WHERE organization_id = $1', [orgId])).rows[0].count,
  );

const submit = (slug: string, body: unknown) =>
  stack.api(`/api/public/organizations/${slug}/applications`, { method: 'POST', body });

beforeAll(async () => {
  stack = await startStack();
  // The typed-ID path of the public form: organizations that do not require a Discord sign-in.
  a = await stack.createOrg('Org A', { requireDiscordSignIn: false });
  b = await stack.createOrg('Org B', { requireDiscordSignIn: false });
  adminA = await stack.login(a.adminEmail);
  reviewerA = await stack.login(a.reviewerEmail);
  adminB = await stack.login(b.adminEmail);
  guildA = stack.sandbox.createGuild({ name: 'Guild A' }).id;
  expect(await connectDiscord(stack, adminA, guildA)).toMatch(/success=bot_connected/);
});
afterAll(async () => {
  await stack?.close();
});

describe('public submission', () => {
  test('stores a valid application as Pending and accepts discordUserId as a synonym', async () => {
    const res = await submit(a.slug, {
      applicant: { name: 'Grace', email: 'grace@example.com' },
      custom_data: { discordUserId: '123456789012345678', why: 'I like it' },
    });
    expect(res.status).toBe(201);
    const { id, status } = (await res.json()) as { id: string; status: string };
    expect(status).toBe('Pending');
    const stored = await getApplication(stack, adminA, id);
    expect(stored.custom_data).toEqual({ discord_user_id: '123456789012345678', why: 'I like it' });
    expect(stored.applicant).toEqual({ name: 'Grace', email: 'grace@example.com' });
  });

  test.each([
    ['no applicant', { custom_data: {} }],
    ['an invalid email', { applicant: { name: 'x', email: 'nope' } }],
    ['an empty name', { applicant: { name: ' ', email: 'x@example.com' } }],
    [
      'a short Discord ID',
      { applicant: { name: 'x', email: 'x@example.com' }, custom_data: { discord_user_id: '12345' } },
    ],
    [
      'a Discord ID as a number',
      { applicant: { name: 'x', email: 'x@example.com' }, custom_data: { discord_user_id: 123456789012345 } },
    ],
    [
      'SQL as a Discord ID',
      { applicant: { name: 'x', email: 'x@example.com' }, custom_data: { discord_user_id: "1'; DROP TABLE users--" } },
    ],
    [
      'HTML as a Discord ID',
      { applicant: { name: 'x', email: 'x@example.com' }, custom_data: { discordUserId: '<script>alert(1)</script>' } },
    ],
    [
      'an ID above 2^64-1',
      { applicant: { name: 'x', email: 'x@example.com' }, custom_data: { discord_user_id: '99999999999999999999' } },
    ],
    [
      'an object as a Discord ID',
      { applicant: { name: 'x', email: 'x@example.com' }, custom_data: { discord_user_id: { id: '123' } } },
    ],
  ])('refuses %s with 400 and stores nothing', async (_label, body) => {
    const before = await count(a.id);
    const res = await submit(a.slug, body);
    expect(res.status).toBe(400);
    const err = (await res.json()) as { error: { code: string; message: string } };
    expect(err.error.code).toBe('invalid_request');
    expect(err.error.message.length).toBeGreaterThan(5);
    expect(await count(a.id)).toBe(before);
  });

  const applicant = { name: 'x', email: 'x@example.com' };
  const wide = Object.fromEntries(Array.from({ length: 31 }, (_, i) => [`q${i}`, i]));
  const heavy = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`q${i}`, 'x'.repeat(1_800)]));
  test.each([
    ['a NUL in the name', { applicant: { name: 'a\u0000b', email: 'x@example.com' } }, /^applicant\.name: .*control/],
    ['a line break in the name', { applicant: { name: 'a\nb', email: 'x@example.com' } }, /^applicant\.name: /],
    ['a NUL in an answer', { applicant, custom_data: { why: 'a\u0000b' } }, /^custom_data\.why: .*control/],
    ['a NUL in a key', { applicant, custom_data: { 'w\u0000': 'a' } }, /^custom_data\."w\\u0000": keys .*control/],
    ['a NUL deeper down', { applicant, custom_data: { more: { k: ['\u0000'] } } }, /^custom_data\.more: /],
    ['an escape character', { applicant, custom_data: { why: '\u001b[31m' } }, /^custom_data\.why: /],
    [
      'half a surrogate pair',
      { applicant, custom_data: { why: '\ud800' } },
      /^custom_data\.why: must be valid Unicode/,
    ],
    ['31 keys', { applicant, custom_data: wide }, /^custom_data: must have at most 30 keys/],
    ['4 levels', { applicant, custom_data: { a: { b: { c: 1 } } } }, /^custom_data\.a: .*3 levels/],
    ['18 kB of answers', { applicant, custom_data: heavy }, /^custom_data: must be at most 16384 bytes/],
    ['an array', { applicant, custom_data: ['a'] }, /^custom_data: must be an object/],
    [
      'half a surrogate pair as a key',
      { applicant, custom_data: { '\udc00': 1 } },
      /^custom_data\."\\udc00": keys must be valid Unicode/,
    ],
    [
      'a __proto__ key (it would vanish)',
      { applicant, custom_data: JSON.parse('{"more": {"__proto__": "x"}}') as unknown },
      /^custom_data\.more\.__proto__: keys must not be __proto__/,
    ],
  ])('refuses %s with 400 naming the field, and stores nothing', async (_label, body, message) => {
    const before = await count(a.id);
    const res = await submit(a.slug, body);
    expect(res.status).toBe(400);
    const err = (await res.json()) as { error: { code: string; message: string } };
    expect(err.error.code).toBe('invalid_request');
    expect(err.error.message).toMatch(message);
    expect(await count(a.id)).toBe(before);
  });

  test('tabs and line breaks are fine in answers, and 3 levels with 30 keys of 500 characters', async () => {
    const answers = Object.fromEntries(
      Array.from({ length: 28 }, (_, i) => [`q${i}`, `line\n\tnext ${'x'.repeat(480)}`]),
    );
    const custom_data = { ...answers, more: { k: 'a', n: 1 }, list: ['a', 1, true, null] };
    const res = await submit(a.slug, { applicant, custom_data });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    expect((await getApplication(stack, adminA, id)).custom_data).toEqual(custom_data);
  });

  test('a NUL in a slug, an ID or a query is a 4xx, never a 500', async () => {
    const cookie = adminA;
    const answers = await Promise.all([
      stack.api('/api/public/organizations/a%00b/applications', { method: 'POST', body: { applicant } }),
      stack.api('/api/public/organizations/a%00b/applicant'),
      stack.api('/api/public/organizations/a%00b/discord/authorize'),
      stack.api('/api/applications/a%00b', { cookie }),
      stack.api('/api/applications?status=%00', { cookie }),
      stack.api('/api/applications?cursor=%00', { cookie }),
      stack.api('/api/bulk-reviews/%00', { cookie }),
    ]);
    expect(answers.map((r) => r.status)).toEqual([404, 404, 404, 404, 400, 400, 404]);
    // A cursor made up with a time Postgres cannot read is not one this API gave out.
    for (const createdAt of ['2026-13-45 25:61:61+00', '0000-01-01 00:00:00+00']) {
      const forged = Buffer.from(JSON.stringify({ createdAt, id: '6f1c6a4e-3c7b-4e6b-9a63-1b2b7d3c9f10' })).toString(
        'base64url',
      );
      const res = await stack.api(`/api/applications?cursor=${forged}`, { cookie });
      expect([createdAt, res.status, ((await res.json()) as { error: { code: string } }).error.code]).toEqual([
        createdAt,
        400,
        'invalid_cursor',
      ]);
    }
    const bulk = await stack.api('/api/applications/bulk-review', {
      method: 'POST',
      cookie,
      body: { ids: ['a\u0000'], decision: 'approve' },
    });
    expect(bulk.status).toBe(400);
    expect(((await bulk.json()) as { error: { message: string } }).error.message).toMatch(/^ids\.0: /);
  });

  test('an unknown organization answers 404', async () => {
    const res = await submit('no-such-org', { applicant: { name: 'x', email: 'x@example.com' } });
    expect(res.status).toBe(404);
  });
});

describe('listing', () => {
  test('filters by status and pages with a cursor, newest first, without gaps or repeats', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push(await seedApplication(stack, b, { n: i }));
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/api/applications?status=Pending&limit=3${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await stack.api(url, { cookie: adminB });
      expect(res.status).toBe(200);
      const page = (await res.json()) as { items: Application[]; nextCursor: string | null };
      expect(page.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.items.map((i) => i.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
    const rejected = await stack.api('/api/applications?status=Rejected', { cookie: adminB });
    expect(((await rejected.json()) as { items: unknown[] }).items).toEqual([]);
  });

  test('rows created within one millisecond, or at the same instant, page without gaps or repeats', async () => {
    const c = await stack.createOrg('Same Millisecond');
    const cookieC = await stack.login(c.adminEmail);
    // Microseconds apart (a JS Date would see one instant), and three rows tied exactly (ordered by id).
    const { rows } = await stack.db.pool.query<{ id: string }>(
      `INSERT INTO applications (organization_id, applicant_name, applicant_email, created_at)
       SELECT $1, 'n' || i, 'n@example.com',
              '2026-01-01 00:00:00.123000+00'::timestamptz + make_interval(secs => least(i, 5) / 1000000.0)
       FROM generate_series(1, 8) AS i
       RETURNING id`,
      [c.id],
    );
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await stack.api(`/api/applications?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { cookie: cookieC });
      const page = (await res.json()) as { items: Application[]; nextCursor: string | null };
      seen.push(...page.items.map((i) => i.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(8);
    expect(new Set(seen)).toEqual(new Set(rows.map((r) => r.id)));
  });

  test('a bad status or cursor answers 400', async () => {
    expect((await stack.api('/api/applications?status=Nope', { cookie: adminB })).status).toBe(400);
    expect((await stack.api('/api/applications?cursor=garbage', { cookie: adminB })).status).toBe(400);
  });

  test('without a session answers 401', async () => {
    expect((await stack.api('/api/applications')).status).toBe(401);
  });
});

describe('isolation between organizations', () => {
  test("organization B cannot read, review or retry organization A's applications: 404, nothing changes", async () => {
    const id = await seedApplication(stack, a, { discord_user_id: '12345' });
    expect((await stack.api(`/api/applications/${id}`, { cookie: adminB })).status).toBe(404);
    expect((await review(stack, adminB, id, 'approve')).status).toBe(404);
    expect((await retryRole(stack, adminB, id)).status).toBe(404);
    const bulk = await bulkReview(stack, adminB, [id]);
    expect(bulk.status).toBe(202);
    const progress = await waitForBulk(stack, adminB, bulk.body.bulkId!);
    expect(progress.refused).toEqual([{ id, error: { code: 'not_found', message: 'No such application.' } }]);
    // A's bulk is not B's to read either.
    expect((await stack.api(`/api/bulk-reviews/${bulk.body.bulkId!}`, { cookie: adminA })).status).toBe(404);
    const list = (await (await stack.api('/api/applications', { cookie: adminB })).json()) as { items: Application[] };
    expect(list.items.map((i) => i.id)).not.toContain(id);
    expect((await getApplication(stack, adminA, id)).status).toBe('Pending');
    expect((await stack.api('/api/applications/not-a-uuid', { cookie: adminA })).status).toBe(404);
  });
});

describe('reviewers', () => {
  test('a reviewer can approve, but cannot see the operations list', async () => {
    const id = await seedApplication(stack, a, {});
    const r = await review(stack, reviewerA, id, 'approve');
    expect(r.status).toBe(200);
    expect(r.body.status).toBe('Approved');
    expect(r.body.reviewedBy).not.toBeNull();
    expect((await stack.api('/api/ops/stuck-assignments', { cookie: reviewerA })).status).toBe(403);
  });

  test('a review with a bad decision answers 400', async () => {
    const id = await seedApplication(stack, a, {});
    const res = await stack.api(`/api/applications/${id}/review`, {
      method: 'POST',
      cookie: adminA,
      body: { decision: 'maybe' },
    });
    expect(res.status).toBe(400);
  });
});

describe('bulk review', () => {
  const members = (n: number, first: bigint) => {
    const users = Array.from({ length: n }, (_, i) => String(first + BigInt(i)));
    for (const u of users) stack.sandbox.addMember(guildA, u);
    return users;
  };

  test('a bulk of 200 answers 202 at once; its progress reaches 200 assigned, each granted once', async () => {
    const users = members(200, 400000000000000000n);
    const ids: string[] = [];
    for (const u of users) ids.push(await seedApplication(stack, a, { discord_user_id: u }));
    const res = await bulkReview(stack, adminA, ids);
    expect(res.status).toBe(202);
    expect(res.body.bulkId).toMatch(/^[0-9a-f-]{36}$/);
    const seen: number[] = [];
    const done = await waitForBulk(
      stack,
      adminA,
      res.body.bulkId!,
      (p) => {
        seen.push(p.assigned);
        return p.done;
      },
      90_000,
    );
    expect(done).toMatchObject({ total: 200, recorded: 200, assigned: 200, failed: 0, refusedCount: 0, done: true });
    // Progress was visible on the way, not only at the end.
    expect(seen.some((n) => n > 0 && n < 200)).toBe(true);
    const grants = stack.sandbox.stats().memberRoleAdds.filter((m) => users.includes(m.userId));
    expect(new Set(grants.map((g) => g.userId)).size).toBe(200);
    expect(grants).toHaveLength(200);
    // Each decision is in the audit log with the bulk that made it.
    const { rows } = await stack.db.pool.query(
      `SELECT count(*)::int AS n FROM audit_log WHERE action = 'application.approved' AND details->>'bulkReviewId' = $1`,
      [res.body.bulkId],
    );
    expect(rows[0].n).toBe(200);
  }, 120_000);

  test('a mix of pending, already-decided, foreign, unknown and malformed IDs reports each outcome', async () => {
    const [u1, u2, u3] = members(3, 410000000000000000n);
    const pending = await seedApplication(stack, a, { discord_user_id: u1 });
    const upper = await seedApplication(stack, a, { discord_user_id: u3 });
    const decided = await seedApplication(stack, a, { discord_user_id: u2 });
    expect((await review(stack, adminA, decided, 'reject')).status).toBe(200);
    const foreign = await seedApplication(stack, b, {});
    const unknown = '00000000-0000-4000-8000-000000000000';
    const res = await bulkReview(stack, adminA, [
      pending,
      decided,
      foreign,
      unknown,
      'not-an-id',
      pending,
      upper.toUpperCase(),
    ]);
    expect(res.status).toBe(202);
    const done = await waitForBulk(stack, adminA, res.body.bulkId!);
    expect(done).toMatchObject({ total: 7, recorded: 2, assigned: 2, refusedCount: 5, done: true });
    expect(done.refused.map((r) => [r.id, r.error.code])).toEqual([
      [decided, 'invalid_transition'],
      [foreign, 'not_found'],
      [unknown, 'not_found'],
      ['not-an-id', 'not_found'],
      [pending, 'duplicate'],
    ]);
    expect((await getApplication(stack, adminA, pending)).status).toBe('approved_role_assigned');
    expect((await getApplication(stack, adminA, decided)).status).toBe('Rejected');
    expect((await getApplication(stack, adminB, foreign)).status).toBe('Pending');
  }, 60_000);

  test('the same Idempotency-Key finds the same bulk; with another body it answers 422', async () => {
    const id = await seedApplication(stack, a, {});
    const first = await bulkReview(stack, adminA, [id], 'approve', { idempotencyKey: 'bulk-key-1' });
    const again = await bulkReview(stack, adminA, [id], 'approve', { idempotencyKey: 'bulk-key-1' });
    expect(first.status).toBe(202);
    expect(again.body.bulkId).toBe(first.body.bulkId);
    const other = await bulkReview(stack, adminA, [id], 'reject', { idempotencyKey: 'bulk-key-1' });
    expect(other.status).toBe(422);
    expect(other.body.error?.code).toBe('idempotency_key_reused');
    await waitForBulk(stack, adminA, first.body.bulkId!);
    expect((await getApplication(stack, adminA, id)).status).toBe('Approved');
  });

  test('bad bulks answer 400 naming the field, and store nothing', async () => {
    const count = async () =>
      Number((await stack.db.pool.query('SELECT count(*) AS n FROM bulk_reviews')).rows[0].n as string);
    const before = await count();
    const tooMany = Array.from({ length: 10_001 }, () => '00000000-0000-4000-8000-000000000000');
    const cases: Array<[unknown, RegExp]> = [
      [{ ids: tooMany, decision: 'approve' }, /^ids/],
      [{ ids: [], decision: 'approve' }, /^ids/],
      [{ ids: ['x'.repeat(101)], decision: 'approve' }, /^ids\.0/],
      [{ ids: [1], decision: 'approve' }, /^ids\.0/],
      [{ ids: ['a'], decision: 'maybe' }, /^decision/],
    ];
    for (const [body, field] of cases) {
      const res = await stack.api('/api/applications/bulk-review', { method: 'POST', cookie: adminA, body });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(field);
    }
    expect(await count()).toBe(before);
    expect((await stack.api('/api/bulk-reviews/not-a-uuid', { cookie: adminA })).status).toBe(404);
  });

  test('10,000 IDs are taken in one request and answered 202', async () => {
    const ids = Array.from({ length: 10_000 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    const res = await bulkReview(stack, adminA, ids);
    expect(res.status).toBe(202);
    const done = await waitForBulk(stack, adminA, res.body.bulkId!, (p) => p.done, 120_000);
    expect(done).toMatchObject({ total: 10_000, recorded: 0, refusedCount: 10_000 });
    expect(done.refused).toHaveLength(100);
  }, 150_000);

  test('the bulk route reads its larger body however its path is spelt (case, trailing slash)', async () => {
    // About 130 kB: over the 100 kB of every other route.
    const ids = Array.from({ length: 3_000 }, (_, i) => `00000000-0000-4000-9000-${String(i).padStart(12, '0')}`);
    const res = await stack.api('/api/applications/Bulk-Review/', {
      method: 'POST',
      cookie: adminA,
      body: { ids, decision: 'reject' },
    });
    expect(res.status).toBe(202);
    // Without a session, such a body is never read: 401, not 413.
    const anonymous = await stack.api('/api/applications/bulk-review/', {
      method: 'POST',
      body: { ids, decision: 'reject' },
    });
    expect(anonymous.status).toBe(401);
  });
});
