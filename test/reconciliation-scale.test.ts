// A reconciliation of 2,000 approved members: within the shared rate, and grants of reviews go
// first (the members' comparison takes only idle request slots).
import { reconciliationScheduleId } from '../src/temporal/shared.js';
import { connectDiscord, review, seedApplication, waitForApplication } from './helpers/flows.js';
import { pollUntil } from './helpers/poll.js';
import { startStack, type Org, type Stack } from './helpers/stack.js';

const MEMBERS = 2_000;
const DRIFTED = 200;

let stack: Stack;
let org: Org;
let cookie: string;
let guildId: string;
let roleId: string;
let nextUser = 700000000000000000n;

beforeAll(async () => {
  stack = await startStack();
  org = await stack.createOrg(undefined, { requireDiscordSignIn: false });
  cookie = await stack.login(org.adminEmail);
  guildId = stack.sandbox.createGuild({ name: 'Big Guild' }).id;
  expect(await connectDiscord(stack, cookie, guildId)).toMatch(/success=bot_connected/);
  roleId = stack.sandbox.roles(guildId).find((r) => r.name === 'Approved')!.id;
}, 60_000);
afterAll(async () => {
  await stack?.close();
});

/** From the review's answer to the role at Discord, for a member who just applied. */
async function grantLatencyMs(): Promise<number> {
  const user = String(nextUser++);
  stack.sandbox.addMember(guildId, user);
  const id = await seedApplication(stack, org, { discord_user_id: user });
  const started = Date.now();
  expect((await review(stack, cookie, id, 'approve')).status).toBe(200);
  await pollUntil(
    async () => stack.sandbox.memberRoles(guildId, user).includes(roleId),
    (held) => held,
    { timeoutMs: 30_000, intervalMs: 20, what: 'the grant' },
  );
  const latency = Date.now() - started;
  await waitForApplication(stack, cookie, id, (a) => a.status === 'approved_role_assigned');
  return latency;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

test(`a reconciliation of ${MEMBERS} approved members (${DRIFTED} missing their role) stays within the rate and barely delays a concurrent grant`, async () => {
  // 2,000 members who were approved and granted long ago.
  const users = Array.from({ length: MEMBERS }, (_, i) => String(800000000000000000n + BigInt(i)));
  stack.sandbox.addMembers(guildId, users, [roleId]);
  await stack.db.pool.query(
    `INSERT INTO applications (organization_id, applicant_name, applicant_email, custom_data, status,
       discord_role_assignment_status, discord_user_id, discord_role_ids, discord_roles_held_before)
     SELECT $1, 'Member ' || u, 'member@example.com', '{}', 'approved_role_assigned', 'success', u, ARRAY[$2], '{}'
     FROM unnest($3::text[]) AS u`,
    [org.id, roleId, users],
  );
  const drifted = users.filter((_, i) => i % (MEMBERS / DRIFTED) === 0);
  for (const u of drifted) stack.sandbox.removeRoleByHand(guildId, u, roleId);

  const idle = [await grantLatencyMs(), await grantLatencyMs(), await grantLatencyMs()];
  stack.sandbox.resetStats();
  const startedAt = Date.now();
  await stack.app.temporal.schedule.getHandle(reconciliationScheduleId(org.id)).trigger();
  // Grants while it runs (each checked to start before the run finished).
  const during: number[] = [];
  const unfinished = async () =>
    (
      await stack.db.pool.query(
        `SELECT 1 FROM reconciliation_runs WHERE organization_id = $1 AND finished_at IS NULL`,
        [org.id],
      )
    ).rowCount === 1;
  await pollUntil(unfinished, (yes) => yes, { timeoutMs: 10_000, intervalMs: 20, what: 'the run to start' });
  for (let i = 0; i < 3 && (await unfinished()); i += 1) during.push(await grantLatencyMs());
  expect(during.length).toBeGreaterThanOrEqual(2);

  const run = await pollUntil(
    async () =>
      (
        await stack.db.pool.query<{
          id: string;
          finished_at: Date | null;
          member_source: string;
          error: string | null;
        }>(`SELECT id, finished_at, member_source, error FROM reconciliation_runs WHERE organization_id = $1`, [org.id])
      ).rows[0],
    (row) => row?.finished_at != null,
    { timeoutMs: 60_000, intervalMs: 100, what: 'the reconciliation' },
  );
  const seconds = (run!.finished_at!.getTime() - startedAt) / 1000;
  expect(run).toMatchObject({ member_source: 'list', error: null });
  const totals = await stack.db.pool.query<{ checked: number; requests: number; repaired: number }>(
    `SELECT (SELECT sum(members_checked)::int FROM reconciliation_batches WHERE run_id = $1) AS checked,
            (SELECT sum(requests)::int FROM reconciliation_batches WHERE run_id = $1) AS requests,
            (SELECT count(*)::int FROM reconciliation_drift WHERE run_id = $1 AND outcome = 'repaired') AS repaired`,
    [run!.id],
  );
  const { checked, requests, repaired } = totals.rows[0]!;
  // Every member of the guild listed (the bot and the new applicants too), each drift repaired once.
  expect(checked).toBeGreaterThanOrEqual(MEMBERS);
  expect(repaired).toBe(DRIFTED);
  // A page per 1,000 members, one request per repair, and a look at the roles (2) per page that repairs.
  const pages = Math.ceil((checked + 1) / 1000);
  expect(requests).toBeGreaterThanOrEqual(pages + DRIFTED);
  expect(requests).toBeLessThanOrEqual(pages * 3 + DRIFTED);
  for (const u of drifted) expect(stack.sandbox.memberRoles(guildId, u)).toContain(roleId);

  // Within the rate: Discord never answered 429, and no second saw more role changes than the rate.
  const stats = stack.sandbox.stats();
  expect(stats.rateLimited).toBe(0);
  const times = stats.memberRoleAdds.map((m) => m.at).sort((a, b) => a - b);
  let peak = 0;
  for (let i = 0, j = 0; i < times.length; i += 1) {
    while (times[i]! - times[j]! >= 1000) j += 1;
    peak = Math.max(peak, i - j + 1);
  }
  // Discord's own global limit is 50 per second per bot; the pacer (DISCORD_MAX_REQUESTS_PER_SECOND, 45 by default) sends at most 45 per
  // second, evenly spaced, and arrival jitter can put one or two more into a 1 s window.
  expect(peak).toBeLessThanOrEqual(50);
  // A concurrent grant waits at most a slot or two behind the comparison.
  expect(median(during) - median(idle)).toBeLessThan(2_000);
  // The figures, for the closing note and the README (the bench measures them more thoroughly).
  process.stdout.write(
    `reconciliation of ${checked} members: ${seconds.toFixed(1)} s (${Math.round(checked / seconds)} members/s), ` +
      `${requests} requests, ${repaired} repaired, peak ${peak} role changes/s; grant latency idle ${idle.join('/')} ms, ` +
      `during ${during.join('/')} ms\n`,
  );
}, 120_000);
