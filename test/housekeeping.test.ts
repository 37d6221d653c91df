import { randomBytes } from 'node:crypto';
import { ensureHousekeepingSchedule, HOUSEKEEPING_SCHEDULE_ID } from '../src/temporal/schedules.js';
import { startStack, type Stack } from './helpers/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack.app.temporal.schedule
    .getHandle(HOUSEKEEPING_SCHEDULE_ID)
    .delete()
    .catch(() => undefined);
  await stack?.close();
});

test('the housekeeping workflow deletes expired sessions and spent OAuth nonces, and keeps live ones', async () => {
  const org = await stack.createOrg();
  await stack.login(org.adminEmail); // one live session
  const { pool } = stack.db;
  const userId = (await pool.query(`SELECT id FROM users WHERE email = $1`, [org.adminEmail])).rows[0].id;
  await pool.query(
    `INSERT INTO sessions (token_hash, user_id, expires_at) VALUES ($1, $2, now() - interval '1 minute')`,
    [randomBytes(32), userId],
  );
  await pool.query(
    `INSERT INTO oauth_state_uses (nonce, expires_at) VALUES ('spent', now() - interval '1 minute'),
                                                               ('fresh', now() + interval '5 minutes')`,
  );
  await pool.query(
    `INSERT INTO rate_limit_hits (limiter, key, hits, reset_at) VALUES ('login', 'over', 3, now() - interval '1 second'),
                                                                     ('login', 'running', 2, now() + interval '5 minutes')`,
  );

  const result = await stack.app.temporal.workflow.execute('housekeepingWorkflow', {
    workflowId: `housekeeping-test-${randomBytes(4).toString('hex')}`,
    taskQueue: stack.app.config.temporal.taskQueue,
  });

  expect(result).toEqual({
    sessions: 1,
    oauthStates: 1,
    idempotencyKeys: 0,
    applicantSessions: 0,
    applicantTokens: 0,
    authorizationFailures: 0,
    rateLimitHits: 1,
  });
  expect((await pool.query(`SELECT key FROM rate_limit_hits WHERE key IN ('over', 'running')`)).rows).toEqual([
    { key: 'running' },
  ]);
  expect(Number((await pool.query(`SELECT count(*) FROM sessions`)).rows[0].count)).toBe(1);
  expect((await pool.query(`SELECT nonce FROM oauth_state_uses`)).rows).toEqual([{ nonce: 'fresh' }]);
});

test('the hourly schedule is created once, whichever worker starts first', async () => {
  await ensureHousekeepingSchedule(stack.app.temporal, stack.app.config);
  await ensureHousekeepingSchedule(stack.app.temporal, stack.app.config);
  const description = await stack.app.temporal.schedule.getHandle(HOUSEKEEPING_SCHEDULE_ID).describe();
  expect(description.action).toMatchObject({ type: 'startWorkflow', workflowType: 'housekeepingWorkflow' });
  expect(description.spec.intervals).toEqual([expect.objectContaining({ every: 3_600_000 })]);
});
