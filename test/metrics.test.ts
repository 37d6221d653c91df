// /metrics of the API and of the worker process (src/metrics.ts): the counters of grants, Discord's
// answers and bulk reviews with their labels, the HTTP histogram by route pattern, the task queue
// backlog, Node's and the Temporal SDK's own metrics, and who may read them.
import { randomBytes, randomUUID } from 'node:crypto';
import { RESTJSONErrorCodes } from 'discord-api-types/v10';
import { ConfigError, loadConfig } from '../src/config.js';
import { createDiscordGuard, DiscordPausedError } from '../src/discord/guard.js';
import { freePort } from '../src/ports.js';
import { startStack, type Org, type Stack } from './helpers/stack.js';
import { startTestApp } from './helpers/app.js';
import {
  bulkReview,
  connectDiscord,
  review,
  seedApplication,
  waitForApplication,
  waitForBulk,
} from './helpers/flows.js';
import { pollUntil } from './helpers/poll.js';
import { spawnWorkerProcess } from './helpers/worker-process.js';

const METRICS_TOKEN = randomBytes(24).toString('hex');
const PUT_ROLE_ROUTE = 'PUT /guilds/:id/members/:id/roles/:id';

let stack: Stack;
let worker: Awaited<ReturnType<typeof spawnWorkerProcess>>;
let workerMetricsUrl: string;
let temporalMetricsUrl: string;
let org: Org;
let cookie: string;
let guildId: string;
let nextUser = 720000000000000000n;
const member = () => {
  const id = String(nextUser++);
  stack.sandbox.addMember(guildId, id);
  return id;
};

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition (no escaped quotes in our label values). */
function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)) labels[k!] = v!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

/** The value of the sample of `name` whose labels include `labels` (0 when there is none). */
function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return found.reduce((sum, s) => sum + s.value, 0);
}

const scrape = async (url: string, token: string | null = METRICS_TOKEN) => {
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
};

beforeAll(async () => {
  const [workerPort, temporalPort] = [await freePort(), await freePort()];
  stack = await startStack({
    startWorker: false,
    // The API and the worker process share the token, as in production.
    env: {
      METRICS_TOKEN,
      WORKER_METRICS_PORT: String(workerPort),
      TEMPORAL_METRICS_ADDRESS: `127.0.0.1:${temporalPort}`,
    },
  });
  workerMetricsUrl = `http://127.0.0.1:${workerPort}/metrics`;
  temporalMetricsUrl = `http://127.0.0.1:${temporalPort}/metrics`;
  // The worker exactly as `npm run start:worker` runs it, with its own /metrics server.
  worker = await spawnWorkerProcess(stack);
  org = await stack.createOrg();
  cookie = await stack.login(org.adminEmail);
  guildId = stack.sandbox.createGuild({ name: 'Metrics Guild' }).id;
  expect(await connectDiscord(stack, cookie, guildId)).toMatch(/success=bot_connected/);
}, 60_000);
afterAll(async () => {
  await worker?.kill();
  await stack?.close();
});

test('grants assigned and failed, a 429 and a 403 from Discord, and a bulk review show on the worker’s /metrics', async () => {
  const [rateLimited, tooManyRoles, forbidden, inBulk] = [member(), member(), member(), member()];
  const roleOf = (user: string) => `PUT /guilds/${guildId}/members/${user}/roles/:roleId`;
  stack.sandbox.faults.add({ route: roleOf(rateLimited), rateLimit: { retryAfterMs: 200 }, times: 1 });
  stack.sandbox.faults.add({ route: roleOf(tooManyRoles), code: RESTJSONErrorCodes.MaximumNumberOfGuildRolesReached });
  stack.sandbox.faults.add({
    route: roleOf(forbidden),
    status: 403,
    code: RESTJSONErrorCodes.CannotSendMessagesToThisUser,
  });

  const ids = await Promise.all(
    [rateLimited, tooManyRoles, forbidden].map((user) => seedApplication(stack, org, { discord_user_id: user })),
  );
  for (const id of ids) expect((await review(stack, cookie, id, 'approve')).status).toBe(200);
  const bulkId = await seedApplication(stack, org, { discord_user_id: inBulk });
  const bulk = await bulkReview(stack, cookie, [bulkId, randomUUID()]);
  expect(bulk.status).toBe(202);

  const [assigned, failedMaxRoles, failedForbidden] = await Promise.all([
    waitForApplication(stack, cookie, ids[0]!, (a) => a.status === 'approved_role_assigned'),
    waitForApplication(stack, cookie, ids[1]!, (a) => a.status === 'approved_role_failed'),
    waitForApplication(stack, cookie, ids[2]!, (a) => a.status === 'approved_role_failed'),
  ]);
  expect(assigned.roleAssignment.status).toBe('success');
  expect(failedMaxRoles.roleAssignment.errorType).toBe('max_roles');
  expect(failedForbidden.roleAssignment.errorType).toBe('unexpected');
  expect((await waitForBulk(stack, cookie, bulk.body.bulkId!)).assigned).toBe(1);
  expect(stack.sandbox.stats().rateLimited).toBe(1);

  const { status, type, text } = await scrape(workerMetricsUrl);
  expect(status).toBe(200);
  expect(type).toMatch(/^text\/plain; version=0\.0\.4/);
  const samples = parse(text);
  expect(valueOf(samples, 'role_grants_grants_total', { outcome: 'assigned', error_type: '' })).toBe(2);
  expect(valueOf(samples, 'role_grants_grants_total', { outcome: 'failed', error_type: 'max_roles' })).toBe(1);
  expect(valueOf(samples, 'role_grants_grants_total', { outcome: 'failed', error_type: 'unexpected' })).toBe(1);
  expect(valueOf(samples, 'role_grants_grants_total', { outcome: 'failed' })).toBe(2);
  // 429 and 403 apart from the other 4xx (the 400 of the full role list), routes without IDs.
  const responses = (labels: Record<string, string>) => valueOf(samples, 'role_grants_discord_responses_total', labels);
  expect(responses({ status_class: '429', route: PUT_ROLE_ROUTE })).toBe(1);
  expect(responses({ status_class: '403', route: PUT_ROLE_ROUTE })).toBe(1);
  expect(responses({ status_class: '4xx', route: PUT_ROLE_ROUTE })).toBe(1);
  // The retried grant, and the bulk's.
  expect(responses({ status_class: '2xx', route: PUT_ROLE_ROUTE })).toBe(2);
  expect(responses({ status_class: '2xx', route: 'GET /guilds/:id/members/:id' })).toBeGreaterThanOrEqual(4);
  expect(text).not.toContain(guildId);
  expect(text).not.toContain(rateLimited);
  // The bulk's two items: one recorded, one refused as not found.
  expect(valueOf(samples, 'role_grants_bulk_review_items_total', { decision: 'approve', outcome: 'recorded' })).toBe(1);
  expect(valueOf(samples, 'role_grants_bulk_review_items_total', { decision: 'approve', outcome: 'not_found' })).toBe(
    1,
  );
  // The backlog of each of the worker's task queues, read from Temporal on the scrape.
  const backlogs = samples.filter((s) => s.name === 'role_grants_task_queue_backlog');
  expect(backlogs.map((s) => `${s.labels.task_queue}/${s.labels.task_type}`).sort()).toEqual(
    [
      `${stack.env.TEMPORAL_TASK_QUEUE}/activity`,
      `${stack.env.TEMPORAL_TASK_QUEUE}/workflow`,
      `${stack.env.TEMPORAL_DISCORD_TASK_QUEUE}/activity`,
      `${stack.env.TEMPORAL_DISCORD_CONNECTION_TASK_QUEUE}/activity`,
    ].sort(),
  );
  for (const b of backlogs) expect(b.value).toBeGreaterThanOrEqual(0);
  // Node's own.
  expect(valueOf(samples, 'process_resident_memory_bytes')).toBeGreaterThan(0);
  expect(samples.some((s) => s.name.startsWith('nodejs_eventloop_lag'))).toBe(true);
}, 30_000);

test('the Temporal SDK serves its own metrics on TEMPORAL_METRICS_ADDRESS', async () => {
  const text = await pollUntil(
    async () => (await fetch(temporalMetricsUrl).then((r) => r.text())) || '',
    (t) => /^temporal_\w+/m.test(t),
    { timeoutMs: 10_000, what: 'the Temporal SDK metrics' },
  );
  expect(text).toMatch(/^temporal_(workflow|activity)_\w+/m);
});

test('the API’s /metrics: the HTTP latency histogram by route pattern, never the URL with its IDs', async () => {
  const id = await seedApplication(stack, org, { favourite_colour: 'blue' });
  expect((await review(stack, cookie, id, 'approve')).status).toBe(200);
  expect((await stack.api(`/api/applications/${randomUUID()}`, { cookie })).status).toBe(404);
  const { status, text } = await scrape(`${stack.app.baseUrl}/metrics`);
  expect(status).toBe(200);
  const samples = parse(text);
  const count = (labels: Record<string, string>) =>
    valueOf(samples, 'role_grants_http_request_duration_seconds_count', labels);
  expect(count({ method: 'POST', route: '/api/applications/:id/review', status_class: '2xx' })).toBeGreaterThanOrEqual(
    1,
  );
  expect(count({ method: 'GET', route: '/api/applications/:id', status_class: '4xx' })).toBeGreaterThanOrEqual(1);
  expect(count({ method: 'POST', route: '/api/auth/login', status_class: '2xx' })).toBeGreaterThanOrEqual(1);
  expect(
    valueOf(samples, 'role_grants_http_request_duration_seconds_bucket', {
      route: '/api/applications/:id/review',
      le: '+Inf',
    }),
  ).toBeGreaterThanOrEqual(1);
  const routes = new Set(
    samples.filter((s) => s.name.startsWith('role_grants_http_request_duration_seconds')).map((s) => s.labels.route),
  );
  for (const route of routes) expect(route).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}/);
  expect(text).not.toContain(id);
});

test('requests the guard holds back are counted by reason (the API’s process here, as with npm start)', async () => {
  const guard = createDiscordGuard(stack.db.pool, { requestsPerSecond: 45 });
  await stack.db.pool.query(`UPDATE discord_bot_token_status SET rejected_at = now()`);
  try {
    await expect(guard.beforeRequest({ method: 'GET', path: `/api/v10/guilds/${guildId}/roles` })).rejects.toThrow(
      DiscordPausedError,
    );
  } finally {
    await stack.db.pool.query(`UPDATE discord_bot_token_status SET rejected_at = NULL, message = NULL`);
  }
  const samples = parse((await scrape(`${stack.app.baseUrl}/metrics`)).text);
  expect(valueOf(samples, 'role_grants_discord_requests_blocked_total', { reason: 'token_rejected' })).toBe(1);
});

describe('who may read /metrics', () => {
  test('with METRICS_TOKEN set: only with Authorization: Bearer <METRICS_TOKEN>, on the API and on the worker', async () => {
    for (const url of [`${stack.app.baseUrl}/metrics`, workerMetricsUrl]) {
      const none = await scrape(url, null);
      expect(none.status).toBe(401);
      expect(none.text).not.toContain('role_grants_');
      expect((await scrape(url, 'x'.repeat(48))).status).toBe(401);
      expect((await scrape(url, METRICS_TOKEN)).status).toBe(200);
    }
  });

  test('without METRICS_TOKEN: open outside production, not served in production (404)', async () => {
    const { METRICS_TOKEN: _token, ...env } = stack.env;
    const development = await startTestApp(stack.db.pool, { ...env, NODE_ENV: 'development' });
    const production = await startTestApp(stack.db.pool, { ...env, NODE_ENV: 'production' });
    try {
      const open = await scrape(`${development.baseUrl}/metrics`, null);
      expect(open.status).toBe(200);
      expect(open.text).toContain('role_grants_grants_total');
      const refused = await scrape(`${production.baseUrl}/metrics`, null);
      expect(refused.status).toBe(404);
      expect(refused.text).not.toContain('role_grants_');
      expect((await scrape(`${production.baseUrl}/metrics`, METRICS_TOKEN)).status).toBe(404);
    } finally {
      await Promise.all([development.close(), production.close()]);
    }
  });
});

describe('the metrics variables', () => {
  test('defaults: no token, the worker on 9464, the Temporal SDK’s metrics off; `off` and host:port read', () => {
    expect(loadConfig({}).metrics).toEqual({ token: undefined, workerPort: 9464, temporalAddress: undefined });
    expect(
      loadConfig({
        METRICS_TOKEN: METRICS_TOKEN,
        WORKER_METRICS_PORT: 'off',
        TEMPORAL_METRICS_ADDRESS: '[::1]:9465',
      }).metrics,
    ).toEqual({ token: METRICS_TOKEN, workerPort: null, temporalAddress: '[::1]:9465' });
  });

  test('a short token, a port that is none and an address without a port are refused, the token never shown', () => {
    let problems: string[] = [];
    try {
      loadConfig({
        METRICS_TOKEN: 'short-secret',
        WORKER_METRICS_PORT: '70000',
        TEMPORAL_METRICS_ADDRESS: 'localhost',
      });
    } catch (err) {
      problems = (err as ConfigError).problems;
    }
    expect(problems).toEqual([
      expect.stringMatching(/^METRICS_TOKEN: must be at least 16 characters .*\(got "<hidden>"\)$/),
      expect.stringMatching(/^WORKER_METRICS_PORT: .*65535 \(got "70000"\)$/),
      expect.stringMatching(/^TEMPORAL_METRICS_ADDRESS: must be host:port/),
    ]);
    expect(problems.join('\n')).not.toContain('short-secret');
  });
});
