import { startStack, type Org, type Stack } from './helpers/stack';
import { connectDiscord, seedApplication } from './helpers/flows';
import { spawnWorkerProcess } from './helpers/worker-process';

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

async function approveMany(n: number, firstUser: bigint): Promise<{ ids: string[]; users: string[] }> {
  const users = Array.from({ length: n }, (_, i) => String(firstUser + BigInt(i)));
  const ids: string[] = [];
  for (const u of users) {
    stack.sandbox.addMember(guildId, u);
    ids.push(await seedApplication(stack, org, { discord_user_id: u }));
  }
  const res = await stack.api('/api/applications/bulk-review', {
    method: 'POST',
    cookie,
    body: { ids, decision: 'approve' },
  });
  expect(res.status).toBe(200);
  const { results } = (await res.json()) as { results: Array<{ ok: boolean }> };
  expect(results.every((r) => r.ok)).toBe(true);
  return { ids, users };
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

test('a worker killed with SIGKILL while 100 assignments are in flight: a new worker finishes all 100, none lost', async () => {
  const worker = await spawnWorkerProcess(stack);
  // Slow Discord down so that the kill lands in the middle of the batch.
  stack.sandbox.faults.add({ route: ROUTE, latencyMs: 400 });
  const { ids, users } = await approveMany(100, 500000000000000000n);
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
  const granted = new Set(stack.sandbox.stats().memberRoleAdds.map((m) => m.userId));
  expect(users.every((u) => granted.has(u))).toBe(true);
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
