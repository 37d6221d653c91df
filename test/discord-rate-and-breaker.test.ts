// The Discord limit that every worker obeys, and the circuit breaker that keeps a broken guild (or a
// rejected bot token) from sending Discord invalid requests: src/discord/guard.ts.
import proto from '@temporalio/proto';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../activities/index.js';
import { createDiscordApi } from '../src/discord/api.js';
import { createDiscordGuard, MAX_AUTHORIZATION_FAILURES } from '../src/discord/guard.js';
import { createDiscordRest } from '../src/discord/rest.js';
import { startStack, type Org, type Stack } from './helpers/stack.js';
import { bulkReview, connectDiscord, getApplication, review, seedApplication, waitForBulk } from './helpers/flows.js';
import { pollUntil } from './helpers/poll.js';

const PUT_ROLE = 'PUT /guilds/:guildId/members/:userId/roles/:roleId';
let stack: Stack;

afterEach(() => stack?.sandbox.faults.clear());
afterAll(async () => {
  await stack?.close();
});

async function connectedOrg(name: string): Promise<{ org: Org; cookie: string; guildId: string }> {
  const org = await stack.createOrg(name);
  const cookie = await stack.login(org.adminEmail);
  const guildId = stack.sandbox.createGuild({ name: `${name} Guild` }).id;
  expect(await connectDiscord(stack, cookie, guildId)).toMatch(/success=bot_connected/);
  return { org, cookie, guildId };
}

async function applicants(org: Org, guildId: string, n: number, first: bigint): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const user = String(first + BigInt(i));
    stack.sandbox.addMember(guildId, user);
    ids.push(await seedApplication(stack, org, { discord_user_id: user }));
  }
  return ids;
}

const putRoleRequests = () => stack.sandbox.stats().byRoute[PUT_ROLE]?.requests ?? 0;
const authorizationFailures = async (guildId: string | null) =>
  Number(
    (
      await stack.db.pool.query(
        'SELECT count(*) AS n FROM discord_authorization_failures WHERE guild_id IS NOT DISTINCT FROM $1',
        [guildId],
      )
    ).rows[0].n,
  );
const connectionOf = async (cookie: string) =>
  (await (await stack.api('/api/discord/connection', { cookie })).json()) as { state: string; error: string | null };
const checkAgain = async (cookie: string) => {
  const res = await stack.api('/api/discord/connection/check', { method: 'POST', cookie });
  return {
    status: res.status,
    body: (await res.json()) as { state: string; error: string | null; outcome: string; message: string | null },
  };
};

describe('one Discord rate for every worker', () => {
  beforeAll(async () => {
    // The deployment is configured for 8 requests per second; the sandbox answers 429 above 12 (the
    // margin absorbs a busy machine's jitter between a slot and its request).
    stack = await startStack({
      sandbox: { rateLimits: { global: { limit: 12, windowMs: 1000 } } },
      env: { DISCORD_MAX_REQUESTS_PER_SECOND: '8' },
    });
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
  });

  test('a second worker started without any rate limit cannot push the requests above the configured limit', async () => {
    const { org, cookie, guildId } = await connectedOrg('Rate');
    // A worker as someone might start it by hand: no maxTaskQueueActivitiesPerSecond. With the
    // limit only in worker options, this one would have cleared it for everybody.
    const connection = await NativeConnection.connect({ address: process.env.TEST_TEMPORAL_ADDRESS! });
    const config = stack.app.config;
    const guard = createDiscordGuard(stack.db.pool, { requestsPerSecond: config.discord.maxRequestsPerSecond });
    const discord = createDiscordApi(
      createDiscordRest({ apiBaseUrl: config.discord.apiBaseUrl, botToken: config.discord.botToken!, guard }),
    );
    const activities = createActivities({
      pool: stack.db.pool,
      discord,
      guard,
      oauth: { apiBaseUrl: config.discord.apiBaseUrl, clientId: '', clientSecret: '' },
      publicBaseUrl: config.publicBaseUrl,
      tokenEncryptionKey: config.tokenEncryptionKey,
      redrive: async () => undefined,
      handOff: async () => undefined,
    });
    const rogue = await Worker.create({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.discordTaskQueue,
      activities: activities.discord,
      maxConcurrentActivityTaskExecutions: 100,
    });
    const running = rogue.run();
    try {
      // The limit is set on the server's side of the queue, where no worker's options can clear it.
      const { config: queueConfig } = await stack.app.temporal.workflowService.describeTaskQueue({
        namespace: config.temporal.namespace,
        taskQueue: { name: config.temporal.discordTaskQueue },
        taskQueueType: proto.temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
        reportConfig: true,
      });
      expect(queueConfig?.queueRateLimit?.rateLimit?.requestsPerSecond).toBe(8);
      stack.sandbox.resetStats();
      const ids = await applicants(org, guildId, 40, 700000000000000000n);
      const started = Date.now();
      const res = await bulkReview(stack, cookie, ids);
      expect(res.status).toBe(202);
      const done = await waitForBulk(stack, cookie, res.body.bulkId!, (p) => p.done, 90_000);
      const seconds = (Date.now() - started) / 1000;
      expect(done.assigned).toBe(40);
      const stats = stack.sandbox.stats();
      // Never above the sandbox's 12 per second: not one 429, and the grants spread over time.
      expect(stats.rateLimited).toBe(0);
      // About 2 requests per grant at 8 per second: at least 80 / 8 = 10 s, whichever worker ran them.
      expect(stats.requests).toBeGreaterThanOrEqual(80);
      expect(seconds).toBeGreaterThanOrEqual((stats.requests - 8) / 8);
      const times = stats.memberRoleAdds.map((m) => m.at).sort((x, y) => x - y);
      for (let i = 0; i + 10 < times.length; i++) expect(times[i + 10]! - times[i]!).toBeGreaterThan(1000);
    } finally {
      rogue.shutdown();
      await running;
      await connection.close();
    }
  }, 120_000);
});

describe('the circuit breaker', () => {
  beforeAll(async () => {
    stack = await startStack();
  }, 60_000);

  test('the first 403 pauses the guild: queued grants make no further call; "Check now" after the fix assigns all, no manual retry spent', async () => {
    const { org, cookie, guildId } = await connectedOrg('Breaker');
    const ids = await applicants(org, guildId, 30, 710000000000000000n);
    // The Approved role now sits above the bot's: every grant would answer 403 Missing Permissions.
    stack.sandbox.setBotRolePosition(guildId, 0);
    const putsBefore = putRoleRequests();
    const res = await bulkReview(stack, cookie, ids);
    const failed = await waitForBulk(stack, cookie, res.body.bulkId!, (p) => p.done, 60_000);
    expect(failed).toMatchObject({ recorded: 30, assigned: 0, failed: 30 });
    const forbidden = await authorizationFailures(guildId);
    // The first answer opened the breaker; at worst a request already past its gate follows it.
    expect(forbidden).toBeGreaterThanOrEqual(1);
    expect(forbidden).toBeLessThanOrEqual(2);
    expect(putRoleRequests() - putsBefore).toBe(forbidden);
    const connection = await connectionOf(cookie);
    expect(connection.state).toBe('error');
    expect(connection.error).toMatch(/Grants are paused/);
    const types = new Set<string | null>();
    for (const id of ids) types.add((await getApplication(stack, cookie, id)).roleAssignment.errorType);
    expect([...types].sort()).toEqual(forbidden === 1 ? ['grants_paused', 'missing_permissions'] : [...types].sort());
    expect(types.has('grants_paused')).toBe(true);

    // "Check now" before the fix: still paused, with what to fix; nothing was granted.
    const early = await checkAgain(cookie);
    expect(early.body.state).toBe('error');
    expect(early.body.error).toMatch(/still paused/);

    stack.sandbox.setBotRolePosition(guildId, 100);
    const checked = await checkAgain(cookie);
    expect(checked.status).toBe(200);
    expect(checked.body.state).toBe('connected');
    const done = await waitForBulk(stack, cookie, res.body.bulkId!, (p) => p.assigned === 30, 60_000);
    expect(done.failed).toBe(0);
    for (const id of ids) expect((await getApplication(stack, cookie, id)).roleAssignment.retryCount).toBe(0);
  }, 120_000);

  test(`a guild that keeps refusing gets at most ${MAX_AUTHORIZATION_FAILURES} failing requests in 10 minutes, however often "Check now" is pressed`, async () => {
    const { cookie, guildId } = await connectedOrg('Removed');
    // Kicked by hand: every request about the guild answers 403 Missing Access.
    stack.sandbox.removeBot(guildId);
    const answers: string[] = [];
    for (let i = 0; i < 15; i++) answers.push((await checkAgain(cookie)).body.message ?? '');
    expect(await authorizationFailures(guildId)).toBeLessThanOrEqual(MAX_AUTHORIZATION_FAILURES);
    expect(answers.at(-1)).toMatch(/nothing more is sent to it for now/);
  }, 120_000);

  test('a rejected bot token (401) pauses every guild and shows in /readyz; "Check now" once it works resumes them', async () => {
    const first = await connectedOrg('Token One');
    const second = await connectedOrg('Token Two');
    const [a] = await applicants(first.org, first.guildId, 1, 720000000000000000n);
    const [b] = await applicants(second.org, second.guildId, 1, 720000000000000100n);
    stack.sandbox.faults.add({ route: PUT_ROLE, status: 401 });
    expect((await review(stack, first.cookie, a!, 'approve')).status).toBe(200);
    await pollUntil(
      () => getApplication(stack, first.cookie, a!),
      (x) => x.roleAssignment.status === 'failed',
      { timeoutMs: 20_000, intervalMs: 100, what: 'the first grant to fail' },
    );
    const ready = (await (await stack.api('/readyz')).json()) as { status: string; problems?: { discord?: string } };
    expect(ready.status).toBe('degraded');
    expect(ready.problems?.discord).toMatch(/bot token/);

    // Another guild's grant waits without a call.
    const requests = stack.sandbox.stats().requests;
    expect((await review(stack, second.cookie, b!, 'approve')).status).toBe(200);
    const paused = await pollUntil(
      () => getApplication(stack, second.cookie, b!),
      (x) => x.roleAssignment.status === 'failed',
      { timeoutMs: 20_000, intervalMs: 100, what: 'the second grant to wait' },
    );
    // Held back before any request: by the breaker, or by the REST client, which forgets a refused token.
    expect(['grants_paused', 'invalid_bot_token']).toContain(paused.roleAssignment.errorType);
    expect(stack.sandbox.stats().requests).toBe(requests);

    stack.sandbox.faults.clear();
    expect((await checkAgain(first.cookie)).body.state).toBe('connected');
    expect((await checkAgain(second.cookie)).body.state).toBe('connected');
    for (const [cookie, id] of [
      [first.cookie, a!],
      [second.cookie, b!],
    ] as const) {
      const done = await pollUntil(
        () => getApplication(stack, cookie, id),
        (x) => x.roleAssignment.status === 'success',
        { timeoutMs: 20_000, intervalMs: 100, what: 'the grant to resume' },
      );
      expect(done.roleAssignment.retryCount).toBe(0);
    }
    expect(((await (await stack.api('/readyz')).json()) as { status: string }).status).toBe('ready');
  }, 120_000);
});
