// Not a test: `npm run histories:capture` runs this file to record the histories that
// test/replay/replay.test.ts replays. Each scenario drives the real stack (Postgres, Temporal, the
// sandbox) along one main path, then every run of each workflow it started is written to
// test/replay/histories/<scenario>.<n>.json. Commit the files it writes.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { PermissionFlagsBits } from 'discord-api-types/v10';
import {
  bulkReviewWorkflowId,
  connectionWorkflowId,
  guildRolesWorkflowId,
  reconciliationScheduleId,
  roleWorkflowId,
} from '../../src/temporal/shared.js';
import { pollUntil } from '../helpers/poll.js';
import { HOUSEKEEPING_SCHEDULE_ID } from '../../src/temporal/schedules.js';
import {
  bulkReview,
  connectDiscord,
  retryRole,
  review,
  seedApplication,
  waitForApplication,
  waitForBulk,
} from '../helpers/flows.js';
import { startStack, type Org, type Stack } from '../helpers/stack.js';

const execFileAsync = promisify(execFile);
const capture = process.env.CAPTURE_HISTORIES === '1' ? describe : describe.skip;
const dir = path.join(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), 'histories');

let stack: Stack;
let org: Org;
let cookie: string;
let guildId: string;
let nextUser = 320000000000000000n;

/** Writes every run of `workflowId` (oldest first; or only the newest) as `<scenario>.<n>.json`. */
async function save(scenario: string, workflowId: string, only?: 'newest'): Promise<void> {
  // A role or bulk workflow ends once its decision emails are sent too: recorded whole.
  if (/^(application-role|bulk-review):/.test(workflowId))
    await stack.app.temporal.workflow.getHandle(workflowId).result();
  const runs: Array<{ runId: string; startTime: Date }> = [];
  for await (const wf of stack.app.temporal.workflow.list({ query: `WorkflowId = "${workflowId}"` })) {
    runs.push({ runId: wf.runId, startTime: wf.startTime });
  }
  runs.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
  if (only === 'newest') runs.splice(0, runs.length - 1);
  for (const [i, run] of runs.entries()) {
    // Exported the way an operator would (`temporal workflow show --output json`).
    const { stdout } = await execFileAsync(process.env.TEST_TEMPORAL_CLI!, [
      'workflow',
      'show',
      '--address',
      process.env.TEST_TEMPORAL_ADDRESS!,
      '--workflow-id',
      workflowId,
      '--run-id',
      run.runId,
      '--output',
      'json',
    ]);
    await fs.writeFile(path.join(dir, `${scenario}.${i + 1}.json`), stdout);
  }
}

const settled = (a: { roleAssignment: { status: string } }) => a.roleAssignment.status !== 'pending';

capture('capture workflow histories', () => {
  beforeAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
    await fs.mkdir(dir, { recursive: true });
    // With the SMTP sink: every decision's email is a step of these histories (the runs without it
    // are the roles-and-drift ones).
    stack = await startStack({ smtpSink: true, roleWorkflowOptions: { memberRecheckDelaysMs: [300, 300] } });
    org = await stack.createOrg();
    cookie = await stack.login(org.adminEmail);
    guildId = stack.sandbox.createGuild({ name: 'Histories' }).id;
    expect(await connectDiscord(stack, cookie, guildId)).toMatch(/success=bot_connected/);
    await save('connection-success', connectionWorkflowId(org.id));
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
  });

  test('role: grant', async () => {
    const user = String(nextUser++);
    stack.sandbox.addMember(guildId, user);
    const id = await seedApplication(stack, org, { discord_user_id: user });
    await review(stack, cookie, id, 'approve');
    await waitForApplication(stack, cookie, id, (a) => a.status === 'approved_role_assigned');
    await save('role-grant', roleWorkflowId(id));
  });

  test('role: failure, then a manual retry', async () => {
    const user = String(nextUser++);
    stack.sandbox.addMember(guildId, user);
    // A permanent failure of this grant alone (not the bot's access, which would pause the guild).
    stack.sandbox.faults.add({ route: 'PUT /guilds/:guildId/members/:userId/roles/:roleId', code: 50035, times: 1 });
    const id = await seedApplication(stack, org, { discord_user_id: user });
    await review(stack, cookie, id, 'approve');
    await waitForApplication(stack, cookie, id, (a) => a.status === 'approved_role_failed');
    expect((await retryRole(stack, cookie, id)).status).toBe(202);
    await waitForApplication(stack, cookie, id, (a) => a.status === 'approved_role_assigned');
    await save('role-failure-retry', roleWorkflowId(id));
  });

  test('role: missing permissions pause the guild; "Check now" after the fix resumes it', async () => {
    const user = String(nextUser++);
    stack.sandbox.addMember(guildId, user);
    stack.sandbox.setBotPermissions(guildId, 0n);
    const id = await seedApplication(stack, org, { discord_user_id: user });
    await review(stack, cookie, id, 'approve');
    await waitForApplication(stack, cookie, id, (a) => a.status === 'approved_role_failed');
    stack.sandbox.setBotPermissions(guildId, PermissionFlagsBits.ManageRoles);
    expect((await stack.api('/api/discord/connection/check', { method: 'POST', cookie })).status).toBe(200);
    await waitForApplication(stack, cookie, id, (a) => a.status === 'approved_role_assigned');
    await save('connection-check', connectionWorkflowId(org.id), 'newest');
    await save('role-paused-resumed', roleWorkflowId(id));
  });

  test('bulk review: the intake, and a role workflow it handed an application to', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const user = String(nextUser++);
      stack.sandbox.addMember(guildId, user);
      ids.push(await seedApplication(stack, org, { discord_user_id: user }));
    }
    const res = await bulkReview(stack, cookie, ids);
    await waitForBulk(stack, cookie, res.body.bulkId!);
    await save('bulk-review', bulkReviewWorkflowId(res.body.bulkId!));
    await save('role-bulk', roleWorkflowId(ids[0]!));
  });

  test('role: the member is missing, re-checked, then joins', async () => {
    const user = String(nextUser++);
    const id = await seedApplication(stack, org, { discord_user_id: user });
    await review(stack, cookie, id, 'approve');
    await waitForApplication(stack, cookie, id, (a) => a.status === 'approved_role_failed');
    await new Promise((r) => setTimeout(r, 500)); // one re-check finds them still missing
    stack.sandbox.addMember(guildId, user);
    await waitForApplication(stack, cookie, id, (a) => a.status === 'approved_role_assigned');
    await save('role-recheck-join', roleWorkflowId(id));
  });

  test('role: a reversal takes the role back', async () => {
    const user = String(nextUser++);
    stack.sandbox.addMember(guildId, user);
    const id = await seedApplication(stack, org, { discord_user_id: user });
    await review(stack, cookie, id, 'approve');
    await waitForApplication(stack, cookie, id, (a) => a.status === 'approved_role_assigned');
    await review(stack, cookie, id, 'reject');
    await waitForApplication(stack, cookie, id, settled);
    await save('role-reversal', roleWorkflowId(id));
  });

  test('role: a rejection whose email the SMTP server refuses once (451), then takes', async () => {
    const user = String(nextUser++);
    const id = await seedApplication(stack, org, { discord_user_id: user });
    stack.smtpSink!.refuseNext(1, 451);
    await review(stack, cookie, id, 'reject');
    await save('role-email-retry', roleWorkflowId(id));
    expect(stack.smtpSink!.refusals()).toBe(1);
  });

  test('role: approve, then reject at once (the reject lands during the grant)', async () => {
    const user = String(nextUser++);
    stack.sandbox.addMember(guildId, user);
    const id = await seedApplication(stack, org, { discord_user_id: user });
    await Promise.all([review(stack, cookie, id, 'approve'), review(stack, cookie, id, 'reject')]);
    await waitForApplication(stack, cookie, id, (a) => a.status === 'Rejected' && settled(a));
    await save('role-approve-reject', roleWorkflowId(id));
  });

  test('connection: failure (missing permissions), then disconnect', async () => {
    const other = await stack.createOrg();
    const otherCookie = await stack.login(other.adminEmail);
    const otherGuild = stack.sandbox.createGuild({ name: 'No permissions' }).id;
    expect(await connectDiscord(stack, otherCookie, otherGuild, { permissions: '0' })).toMatch(/error=/);
    await save('connection-failure', connectionWorkflowId(other.id));
    const res = await stack.api('/api/discord/connection', { method: 'DELETE', cookie: otherCookie });
    expect(res.status).toBe(202);
    await stack.app.temporal.workflow.getHandle(connectionWorkflowId(other.id)).result();
    await save('disconnect', connectionWorkflowId(other.id), 'newest');
  });

  test('redrive: a connection re-drives an assignment that failed for want of one', async () => {
    const other = await stack.createOrg();
    const otherCookie = await stack.login(other.adminEmail);
    const otherGuild = stack.sandbox.createGuild({ name: 'Connected later' }).id;
    const user = String(nextUser++);
    stack.sandbox.addMember(otherGuild, user);
    const id = await seedApplication(stack, other, { discord_user_id: user });
    await review(stack, otherCookie, id, 'approve');
    await waitForApplication(stack, otherCookie, id, (a) => a.status === 'approved_role_failed');
    expect(await connectDiscord(stack, otherCookie, otherGuild)).toMatch(/success=bot_connected/);
    await waitForApplication(stack, otherCookie, id, (a) => a.status === 'approved_role_assigned');
    const redrives: string[] = [];
    for await (const wf of stack.app.temporal.workflow.list({
      query: `WorkflowType = "redriveAssignmentsWorkflow" AND OrganizationId = "${other.id}"`,
    })) {
      redrives.push(wf.workflowId);
    }
    expect(redrives).toHaveLength(1);
    await stack.app.temporal.workflow.getHandle(redrives[0]!).result();
    await save('redrive-assignments', redrives[0]!);
    await save('role-redriven', roleWorkflowId(id));
  });

  test('reconciliation: a scheduled run gives back a role removed by hand; a re-apply; the role picker', async () => {
    const user = String(nextUser++);
    stack.sandbox.addMember(guildId, user);
    const id = await seedApplication(stack, org, { discord_user_id: user });
    await review(stack, cookie, id, 'approve');
    await waitForApplication(stack, cookie, id, (a) => a.status === 'approved_role_assigned');
    const roleId = stack.sandbox.roles(guildId).find((r) => r.name === 'Approved')!.id;
    stack.sandbox.removeRoleByHand(guildId, user, roleId);
    await stack.app.temporal.schedule.getHandle(reconciliationScheduleId(org.id)).trigger();
    const run = await pollUntil(
      async () =>
        (
          await stack.db.pool.query<{ workflow_id: string; finished_at: Date | null }>(
            `SELECT workflow_id, finished_at FROM reconciliation_runs WHERE organization_id = $1 AND trigger = 'schedule'`,
            [org.id],
          )
        ).rows[0],
      (row) => row?.finished_at != null,
      { timeoutMs: 30_000, what: 'the scheduled reconciliation' },
    );
    expect(stack.sandbox.memberRoles(guildId, user)).toContain(roleId);
    await save('reconciliation', run!.workflow_id);

    const reapply = await stack.api('/api/discord/role-settings/reapply', { method: 'POST', cookie });
    expect(reapply.status).toBe(202);
    const { workflowId } = (await reapply.json()) as { workflowId: string };
    await stack.app.temporal.workflow.getHandle(workflowId).result();
    await save('reconciliation-reapply', workflowId);

    expect((await stack.api('/api/discord/roles', { cookie })).status).toBe(200);
    await save('guild-roles', guildRolesWorkflowId(org.id));
  });

  test('housekeeping', async () => {
    const workflowId = `${HOUSEKEEPING_SCHEDULE_ID}-capture`;
    await stack.app.temporal.workflow.execute('housekeepingWorkflow', {
      workflowId,
      taskQueue: stack.app.config.temporal.taskQueue,
    });
    await save('housekeeping', workflowId);
  });
});
