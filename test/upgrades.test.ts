// The way out of a workflow change too large for patched(): running role-assignment runs are
// replaced by runs that resume from the stored application (`npm run cli -- restart-role-workflows`).
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { buildId } from '../src/build-info.js';
import { roleAssignmentQuery, roleWorkflowId } from '../src/temporal/shared.js';
import {
  connectDiscord,
  getApplication,
  retryRole,
  review,
  seedApplication,
  waitForApplication,
} from './helpers/flows.js';
import { pollUntil } from './helpers/poll.js';
import { startStack, type Org, type Stack } from './helpers/stack.js';

const execFileAsync = promisify(execFile);
const root = path.resolve(import.meta.dirname, '..');

let stack: Stack;
let org: Org;
let cookie: string;

beforeAll(async () => {
  stack = await startStack();
  org = await stack.createOrg();
  cookie = await stack.login(org.adminEmail);
  const guildId = stack.sandbox.createGuild({ name: 'Upgrades' }).id;
  expect(await connectDiscord(stack, cookie, guildId)).toMatch(/success=bot_connected/);
}, 60_000);
afterAll(async () => {
  await stack?.close();
});

/** The CLI as an operator runs it, against this test's database and Temporal server. */
async function cli(args: string[]): Promise<Record<string, unknown>> {
  const { NODE_OPTIONS: _nodeOptions, NODE_ENV: _nodeEnv, ...env } = process.env;
  const { stdout } = await execFileAsync('npx', ['tsx', 'src/bin/cli.ts', ...args], {
    cwd: root,
    env: {
      ...env,
      ...stack.env,
      DATABASE_URL: stack.db.url,
      TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS,
      WORKFLOW_BUNDLE_PATH: process.env.TEST_WORKFLOW_BUNDLE,
    },
  });
  return JSON.parse(stdout) as Record<string, unknown>;
}

test('restart-role-workflows replaces a waiting run by one that resumes from the stored row; --only-incompatible leaves runs of the current code alone', async () => {
  const id = await seedApplication(stack, org, { discord_user_id: '12345' }); // invalid: fails at once
  await review(stack, cookie, id, 'approve');
  await waitForApplication(stack, cookie, id, (a) => a.status === 'approved_role_failed');
  const handle = stack.app.temporal.workflow.getHandle(roleWorkflowId(id));
  await pollUntil(
    () => handle.query(roleAssignmentQuery),
    (p) => p.step === 'waiting_for_retry',
    { timeoutMs: 10_000, what: 'the run waiting' },
  );
  const before = (await handle.describe()).runId;
  // Each workflow task says which build completed it: package version and commit.
  const completed = (await handle.fetchHistory()).events!.filter((e) => e.workflowTaskCompletedEventAttributes);
  expect(completed.length).toBeGreaterThan(0);
  expect(JSON.stringify(completed)).toContain(buildId(undefined));

  expect(await cli(['restart-role-workflows', '--only-incompatible', '--organization', org.id])).toMatchObject({
    checked: 1,
    restarted: 0,
  });
  expect((await handle.describe()).runId).toBe(before);

  expect(await cli(['restart-role-workflows', '--organization', org.id])).toEqual({
    checked: 1,
    restarted: 1,
    workflowIds: [roleWorkflowId(id)],
  });
  const after = await stack.app.temporal.workflow.getHandle(roleWorkflowId(id)).describe();
  expect(after.runId).not.toBe(before);
  expect(after.status.name).toBe('RUNNING');
  // The new run read the row and waits for a retry, which it takes like the old one would have.
  const waiting = await pollUntil(
    () => stack.app.temporal.workflow.getHandle(roleWorkflowId(id)).query(roleAssignmentQuery),
    (p) => p.step === 'waiting_for_retry',
    { timeoutMs: 10_000, what: 'the new run waiting' },
  );
  expect(waiting).toMatchObject({ status: 'approved_role_failed', roleStatus: 'failed', manualRetries: 0 });
  expect((await retryRole(stack, cookie, id)).status).toBe(202);
  await waitForApplication(
    stack,
    cookie,
    id,
    (a) => a.roleAssignment.retryCount === 1 && a.roleAssignment.status === 'failed',
  );
  expect((await getApplication(stack, cookie, id)).status).toBe('approved_role_failed');
}, 60_000);
