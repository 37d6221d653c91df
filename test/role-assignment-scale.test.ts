import { startStack, type Org, type Stack } from './helpers/stack.js';
import { bulkReview, connectDiscord, seedApplication, waitForBulk } from './helpers/flows.js';
import { spawnWorkerProcess } from './helpers/worker-process.js';

let stack: Stack;
let org: Org;
let cookie: string;
let guildId: string;
const ROUTE = 'PUT /guilds/:guildId/members/:userId/roles/:roleId';

async function statuses(ids: string[]): Promise<Map<string, number>> {
  const { rows } = await stack.db.pool.query<{ status: string; n: string }>(
    'SELECT status, count(*) AS n FROM applications WHERE id = ANY($1) GROUP BY status',
    [ids],
  );
  return new Map(rows.map((r) => [r.status, Number(r.n)]));
}

async function waitAllAssigned(ids: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await statuses(ids)).get('approved_role_assigned') === ids.length) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`not all assigned: ${JSON.stringify([...(await statuses(ids))])}`);
}

async function approveMany(n: number, firstUser: bigint): Promise<{ ids: string[]; users: string[]; bulkId: string }> {
  const users = Array.from({ length: n }, (_, i) => String(firstUser + BigInt(i)));
  const ids: string[] = [];
  for (const u of users) {
    stack.sandbox.addMember(guildId, u);
    ids.push(await seedApplication(stack, org, { discord_user_id: u }));
  }
  const res = await bulkReview(stack, cookie, ids);
  expect(res.status).toBe(202);
  return { ids, users, bulkId: res.body.bulkId! };
}

beforeAll(async () => {
  stack = await startStack({ startWorker: false });
  org = await stack.createOrg();
  cookie = await stack.login(org.adminEmail);
  guildId = stack.sandbox.createGuild({ name: 'Scale Guild' }).id;
  stack.worker = await stack.startWorker();
  expect(await connectDiscord(stack, cookie, guildId)).toMatch(/success=bot_connected/);
  await stack.worker.stop();
}, 60_000);
afterEach(() => stack.sandbox.faults.clear());
afterAll(async () => {
  await stack?.close();
});

test('a worker SIGKILLed during a bulk of 100 (its intake and its grants): a new worker finishes all 100, none lost or granted twice', async () => {
  const worker = await spawnWorkerProcess(stack);
  // Slow Discord down so that the kill lands in the middle of the batch.
  stack.sandbox.faults.add({ route: ROUTE, latencyMs: 400 });
  const { ids, users, bulkId } = await approveMany(100, 500000000000000000n);
  const deadline = Date.now() + 30_000;
  while (((await statuses(ids)).get('approved_role_assigned') ?? 0) < 5 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
  }
  await worker.kill();
  const atKill = await statuses(ids);
  expect(atKill.get('approved_role_assigned') ?? 0).toBeLessThan(100);
  expect(atKill.get('approved_pending_role') ?? 0).toBeGreaterThan(0);

  stack.sandbox.faults.clear();
  stack.worker = await stack.startWorker();
  await waitAllAssigned(ids, 60_000);
  const progress = await waitForBulk(stack, cookie, bulkId);
  expect(progress).toMatchObject({ total: 100, recorded: 100, assigned: 100, failed: 0, refusedCount: 0 });
  const grants = stack.sandbox.stats().memberRoleAdds.filter((m) => users.includes(m.userId));
  expect(new Set(grants.map((g) => g.userId)).size).toBe(100);
  const { rows } = await stack.db.pool.query(
    'SELECT approved_role_id FROM discord_configs WHERE organization_id = $1',
    [org.id],
  );
  for (const u of users) expect(stack.sandbox.memberRoles(guildId, u)).toContain(rows[0].approved_role_id);
  await stack.worker.stop();
}, 120_000);

test('a 429 storm during 200 approvals ends with all 200 assigned', async () => {
  stack.worker = await stack.startWorker();
  stack.sandbox.resetStats();
  stack.sandbox.faults.add({ route: ROUTE, rateLimit: { retryAfterMs: 700 }, times: 150 });
  const { ids } = await approveMany(200, 600000000000000000n);
  await waitAllAssigned(ids, 90_000);
  const stats = stack.sandbox.stats();
  expect(stats.rateLimited).toBeGreaterThanOrEqual(150);
  expect(new Set(stats.memberRoleAdds.map((m) => m.userId)).size).toBe(200);
}, 120_000);
