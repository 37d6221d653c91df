// Roles chosen per organization, drift repair and bot health, on the real stack (Postgres,
// Temporal with the organization's real schedule, the Discord sandbox).
import { PermissionFlagsBits } from 'discord-api-types/v10';
import { reconciliationScheduleId } from '../src/temporal/shared.js';
import { connectDiscord, getApplication, review, seedApplication, waitForApplication } from './helpers/flows.js';
import { connectionView, waitForConnection } from './helpers/discord-connect.js';
import { pollUntil } from './helpers/poll.js';
import { startStack, type Org, type Stack } from './helpers/stack.js';

let stack: Stack;

const assigned = (a: { status: string }) => a.status === 'approved_role_assigned';
const settled = (a: { roleAssignment: { status: string } }) => a.roleAssignment.status !== 'pending';

beforeAll(async () => {
  stack = await startStack({ roleWorkflowOptions: { memberRecheckDelaysMs: [300, 300, 300, 300, 300, 300] } });
}, 60_000);
afterAll(async () => {
  await stack?.close();
});

interface Setup {
  org: Org;
  cookie: string;
  guildId: string;
  /** Roles of the guild by name. */
  role: (name: string) => string;
}

/** A new organization connected to a new guild with a few roles of its own. */
async function connectedOrganization(options: { roles?: Array<{ name: string }> } = {}): Promise<Setup> {
  const org = await stack.createOrg(undefined, { requireDiscordSignIn: false });
  const cookie = await stack.login(org.adminEmail);
  const guildId = stack.sandbox.createGuild({
    name: `Guild of ${org.slug}`,
    roles: options.roles ?? [{ name: 'Member' }, { name: 'Pending' }],
  }).id;
  expect(await connectDiscord(stack, cookie, guildId)).toMatch(/success=bot_connected/);
  const role = (name: string) => stack.sandbox.roles(guildId).find((r) => r.name === name)!.id;
  return { org, cookie, guildId, role };
}

async function chooseRoles(s: Setup, addRoleIds: string[], removeRoleIds: string[] = []) {
  const res = await stack.api('/api/discord/role-settings', {
    method: 'PUT',
    cookie: s.cookie,
    body: { addRoleIds, removeRoleIds },
  });
  expect(res.status).toBe(200);
}

/** A member of the guild with an approved (and granted) application. */
async function approvedMember(s: Setup, extraRoles: string[] = []): Promise<{ appId: string; userId: string }> {
  const user = stack.sandbox.createUser();
  stack.sandbox.addMember(s.guildId, user.id);
  for (const roleId of extraRoles) stack.sandbox.giveRoleByHand(s.guildId, user.id, roleId);
  const appId = await seedApplication(stack, s.org, { discord_user_id: user.id });
  expect((await review(stack, s.cookie, appId, 'approve')).status).toBe(200);
  await waitForApplication(stack, s.cookie, appId, assigned);
  return { appId, userId: user.id };
}

interface RunRow {
  id: string;
  trigger: string;
  finished_at: Date | null;
  member_source: string | null;
  findings: Array<{ kind: string; message: string }>;
  error: string | null;
}

/** Triggers the organization's schedule (as the hour would) and waits for that run to finish. */
async function reconcileNow(s: Setup): Promise<RunRow> {
  const before = await stack.db.pool.query(
    `SELECT count(*)::int AS n FROM reconciliation_runs WHERE organization_id = $1`,
    [s.org.id],
  );
  await stack.app.temporal.schedule.getHandle(reconciliationScheduleId(s.org.id)).trigger();
  return (await pollUntil(
    async () => {
      const { rows } = await stack.db.pool.query<RunRow & { n: number }>(
        `SELECT *, (SELECT count(*)::int FROM reconciliation_runs WHERE organization_id = $1) AS n
         FROM reconciliation_runs WHERE organization_id = $1 AND trigger = 'schedule'
         ORDER BY started_at DESC LIMIT 1`,
        [s.org.id],
      );
      return rows[0] && rows[0].n > before.rows[0].n && rows[0].finished_at ? rows[0] : null;
    },
    (row) => row !== null,
    { timeoutMs: 30_000, what: 'a finished reconciliation run' },
  ).catch(async (err: unknown) => {
    const runs = await stack.db.pool.query(`SELECT * FROM reconciliation_runs WHERE organization_id = $1`, [s.org.id]);
    const list = [];
    for await (const w of stack.app.temporal.workflow.list({ query: `OrganizationId = "${s.org.id}"` })) {
      const h = stack.app.temporal.workflow.getHandle(w.workflowId, w.runId);
      const d = await h.describe();
      list.push({
        id: w.workflowId,
        status: w.status.name,
        pending: JSON.stringify(d.raw.pendingActivities).slice(0, 3000),
      });
    }
    throw new Error(`${String(err)}\n${JSON.stringify(runs.rows)}\n${JSON.stringify(list, null, 1)}`);
  })) as RunRow;
}

async function driftOf(runId: string) {
  const { rows } = await stack.db.pool.query<{
    kind: string;
    outcome: string;
    role_id: string;
    application_id: string;
  }>(
    `SELECT kind, outcome, role_id, application_id FROM reconciliation_drift WHERE run_id = $1 ORDER BY kind, role_id`,
    [runId],
  );
  return rows;
}

test('the roles chosen are added and removed on approval; a role above the bot is not offered', async () => {
  const s = await connectedOrganization({ roles: [{ name: 'Member' }, { name: 'Pending' }, { name: 'Staff' }] });
  // "Staff" above the bot: greyed out with the reason, and refused.
  stack.sandbox.editRole(s.guildId, s.role('Staff'), { position: 50 });
  const roles = await stack.api('/api/discord/roles', { cookie: s.cookie });
  const items = ((await roles.json()) as { items: Array<{ id: string; manageable: boolean; reason: string | null }> })
    .items;
  const staff = items.find((r) => r.id === s.role('Staff'))!;
  expect(staff).toMatchObject({ manageable: false });
  expect(staff.reason).toMatch(/above the bot's highest role/);
  expect(items.find((r) => r.id === s.role('Member'))).toMatchObject({ manageable: true, reason: null });
  const refused = await stack.api('/api/discord/role-settings', {
    method: 'PUT',
    cookie: s.cookie,
    body: { addRoleIds: [s.role('Staff')], removeRoleIds: [] },
  });
  expect(refused.status).toBe(422);

  await chooseRoles(s, [s.role('Member')], [s.role('Pending')]);
  const { userId } = await approvedMember(s, [s.role('Pending')]);
  const held = stack.sandbox.memberRoles(s.guildId, userId);
  expect(held).toContain(s.role('Member'));
  expect(held).not.toContain(s.role('Pending'));
  expect(held).not.toContain(s.role('Approved'));
});

test('a role removed by hand comes back at the next reconciliation, and is only reported when the setting says so', async () => {
  const s = await connectedOrganization();
  await chooseRoles(s, [s.role('Approved'), s.role('Member')]);
  const a = await approvedMember(s);
  const b = await approvedMember(s);
  stack.sandbox.removeRoleByHand(s.guildId, a.userId, s.role('Member'));

  const run = await reconcileNow(s);
  expect(run).toMatchObject({ error: null, member_source: 'list', findings: [] });
  expect(await driftOf(run.id)).toEqual([
    { kind: 'role_missing', outcome: 'repaired', role_id: s.role('Member'), application_id: a.appId },
  ]);
  expect(stack.sandbox.memberRoles(s.guildId, a.userId)).toContain(s.role('Member'));
  const audit = await stack.db.pool.query(
    `SELECT details FROM audit_log WHERE subject_id = $1 AND action = 'reconciliation.repaired'`,
    [a.appId],
  );
  expect(audit.rows).toHaveLength(1);
  expect((await getApplication(stack, s.cookie, a.appId)).status).toBe('approved_role_assigned');

  // Report only: the role stays off, the application says so, and a retry gives it back.
  const patch = await stack.api('/api/organization/settings', {
    method: 'PATCH',
    cookie: s.cookie,
    body: { driftRepair: 'report' },
  });
  expect(patch.status).toBe(200);
  stack.sandbox.removeRoleByHand(s.guildId, b.userId, s.role('Approved'));
  const reported = await reconcileNow(s);
  expect(await driftOf(reported.id)).toEqual([
    { kind: 'role_missing', outcome: 'reported', role_id: s.role('Approved'), application_id: b.appId },
  ]);
  expect(stack.sandbox.memberRoles(s.guildId, b.userId)).not.toContain(s.role('Approved'));
  const failed = await getApplication(stack, s.cookie, b.appId);
  expect(failed).toMatchObject({ status: 'approved_role_failed', roleAssignment: { errorType: 'role_removed' } });
  const retried = await stack.api(`/api/applications/${b.appId}/retry-role`, { method: 'POST', cookie: s.cookie });
  expect(retried.status).toBe(202);
  await waitForApplication(stack, s.cookie, b.appId, assigned);
  expect(stack.sandbox.memberRoles(s.guildId, b.userId)).toContain(s.role('Approved'));
});

test('a reversed member who still holds a granted role loses it; one who left is marked and re-granted on return', async () => {
  const s = await connectedOrganization();
  const reversed = await approvedMember(s);
  expect((await review(stack, s.cookie, reversed.appId, 'reject')).status).toBe(200);
  await waitForApplication(stack, s.cookie, reversed.appId, (a) => a.status === 'Rejected' && settled(a));
  // A moderator gives it back by hand.
  stack.sandbox.giveRoleByHand(s.guildId, reversed.userId, s.role('Approved'));
  const leaver = await approvedMember(s);
  stack.sandbox.removeMember(s.guildId, leaver.userId);

  const run = await reconcileNow(s);
  expect(await driftOf(run.id)).toEqual(
    expect.arrayContaining([
      { kind: 'member_left', outcome: 'marked_left', role_id: '', application_id: leaver.appId },
      { kind: 'role_not_taken_back', outcome: 'repaired', role_id: s.role('Approved'), application_id: reversed.appId },
    ]),
  );
  expect(stack.sandbox.memberRoles(s.guildId, reversed.userId)).not.toContain(s.role('Approved'));
  const left = await getApplication(stack, s.cookie, leaver.appId);
  expect(left).toMatchObject({ status: 'approved_role_failed', roleAssignment: { errorType: 'member_left' } });
  // They come back: the automatic re-check gives the role again.
  stack.sandbox.addMember(s.guildId, leaver.userId);
  await waitForApplication(stack, s.cookie, leaver.appId, assigned);
  expect(stack.sandbox.memberRoles(s.guildId, leaver.userId)).toContain(s.role('Approved'));
});

test('without the Server Members intent the approved members are checked one by one', async () => {
  const s = await connectedOrganization();
  const a = await approvedMember(s);
  stack.sandbox.removeRoleByHand(s.guildId, a.userId, s.role('Approved'));
  stack.sandbox.setIntents({ guildMembers: false });
  try {
    const run = await reconcileNow(s);
    expect(run).toMatchObject({ error: null, member_source: 'one_by_one' });
    expect(await driftOf(run.id)).toEqual([
      { kind: 'role_missing', outcome: 'repaired', role_id: s.role('Approved'), application_id: a.appId },
    ]);
    // The refused listing did not pause anything.
    expect((await connectionView(stack, s.cookie)).state).toBe('connected');
  } finally {
    stack.sandbox.setIntents({ guildMembers: true });
  }
});

test('a deleted role pauses grants with a sentence; the fix and "Check now" resume the paused grants', async () => {
  const s = await connectedOrganization();
  await chooseRoles(s, [s.role('Member')]);
  stack.sandbox.deleteRole(s.guildId, s.role('Member'));
  const run = await reconcileNow(s);
  expect(run.findings.map((f) => f.kind)).toEqual(['role_deleted']);
  const view = await connectionView(stack, s.cookie);
  expect(view.state).toBe('error');
  expect(view.error).toMatch(/the role "Member" was deleted/);

  // Grants wait instead of calling Discord.
  const user = stack.sandbox.createUser();
  stack.sandbox.addMember(s.guildId, user.id);
  const appId = await seedApplication(stack, s.org, { discord_user_id: user.id });
  expect((await review(stack, s.cookie, appId, 'approve')).status).toBe(200);
  const paused = await waitForApplication(stack, s.cookie, appId, settled);
  expect(paused.roleAssignment.errorType).toBe('grants_paused');

  // The admin picks another role, then presses Check now.
  await chooseRoles(s, [s.role('Pending')]);
  const check = await stack.api('/api/discord/connection/check', { method: 'POST', cookie: s.cookie });
  expect(check.status).toBe(200);
  await waitForConnection(stack, s.cookie, (v) => v.state === 'connected');
  await waitForApplication(stack, s.cookie, appId, assigned);
  expect(stack.sandbox.memberRoles(s.guildId, user.id)).toContain(s.role('Pending'));
});

test('the bot removed from the server, or its role dragged below a granted role, puts the connection in error', async () => {
  const below = await connectedOrganization();
  stack.sandbox.setBotPermissions(
    below.guildId,
    PermissionFlagsBits.ManageRoles | PermissionFlagsBits.CreateInstantInvite,
  );
  stack.sandbox.editRole(below.guildId, below.role('Approved'), { position: 60 });
  const run = await reconcileNow(below);
  expect(run.findings.map((f) => f.kind)).toEqual(['role_above_bot']);
  expect((await connectionView(stack, below.cookie)).error).toMatch(
    /"Approved" is now at or above the bot's highest role/,
  );

  const kicked = await connectedOrganization();
  stack.sandbox.removeBot(kicked.guildId);
  const kickedRun = await reconcileNow(kicked);
  expect(kickedRun.findings.map((f) => f.kind)).toEqual(['bot_removed']);
  const view = await connectionView(stack, kicked.cookie);
  expect(view.state).toBe('error');
  expect(view.error).toMatch(/the bot was removed from the Discord server/);
});

test('a reject that arrives while a repair gives the role back ends with the role off the rejected member', async () => {
  const s = await connectedOrganization();
  const a = await approvedMember(s);
  stack.sandbox.removeRoleByHand(s.guildId, a.userId, s.role('Approved'));
  const ROUTE = 'PUT /guilds/:guildId/members/:userId/roles/:roleId';
  const before = stack.sandbox.stats().byRoute[ROUTE]?.requests ?? 0;
  stack.sandbox.faults.add({ route: ROUTE, latencyMs: 1_500 });
  try {
    const running = reconcileNow(s);
    // The repair's request is at Discord (held there 1.5 s): the reviewer rejects now.
    await pollUntil(
      async () => stack.sandbox.stats().byRoute[ROUTE]?.requests ?? 0,
      (n) => n > before,
      { timeoutMs: 10_000, intervalMs: 20, what: 'the repair at Discord' },
    );
    expect((await review(stack, s.cookie, a.appId, 'reject')).status).toBe(200);
    const run = await running;
    expect(await driftOf(run.id)).toEqual([
      { kind: 'role_missing', outcome: 'repaired', role_id: s.role('Approved'), application_id: a.appId },
    ]);
  } finally {
    stack.sandbox.faults.clear();
  }
  // The repair landed after the reversal: the state machine sent the role workflow to take it back.
  const done = await waitForApplication(stack, s.cookie, a.appId, (x) => x.status === 'Rejected' && settled(x));
  expect(done.roleAssignment.status).toBe('not_applicable');
  expect(stack.sandbox.memberRoles(s.guildId, a.userId)).not.toContain(s.role('Approved'));
});

test('report only: a member with two kinds of drift is reported once, and the run goes on; a role no longer chosen is not given back', async () => {
  const s = await connectedOrganization();
  await chooseRoles(s, [s.role('Member')], [s.role('Pending')]);
  const a = await approvedMember(s);
  const b = await approvedMember(s);
  // Since approved: the roles changed, and moderators edited both members.
  await chooseRoles(s, [s.role('Approved')], [s.role('Pending')]);
  stack.sandbox.removeRoleByHand(s.guildId, b.userId, s.role('Member'));
  const patch = await stack.api('/api/organization/settings', {
    method: 'PATCH',
    cookie: s.cookie,
    body: { driftRepair: 'report' },
  });
  expect(patch.status).toBe(200);
  const reapply = await stack.api('/api/discord/role-settings/reapply', { method: 'POST', cookie: s.cookie });
  expect(reapply.status).toBe(202);
  const { workflowId } = (await reapply.json()) as { workflowId: string };
  await stack.app.temporal.workflow.getHandle(workflowId).result();
  // The re-apply gave both the role chosen now (restore, whatever the setting).
  expect(stack.sandbox.memberRoles(s.guildId, a.userId)).toContain(s.role('Approved'));
  expect(stack.sandbox.memberRoles(s.guildId, b.userId)).toContain(s.role('Approved'));

  stack.sandbox.removeRoleByHand(s.guildId, a.userId, s.role('Approved'));
  stack.sandbox.giveRoleByHand(s.guildId, a.userId, s.role('Pending'));
  const run = await reconcileNow(s);
  expect(run.error).toBeNull();
  expect(await driftOf(run.id)).toEqual([
    { kind: 'remove_role_held', outcome: 'reported', role_id: s.role('Pending'), application_id: a.appId },
    { kind: 'role_missing', outcome: 'reported', role_id: s.role('Approved'), application_id: a.appId },
  ]);
  expect((await getApplication(stack, s.cookie, a.appId)).roleAssignment.errorType).toBe('role_removed');
  // "Member" is no longer chosen: b's missing Member is no drift.
  expect(stack.sandbox.memberRoles(s.guildId, b.userId)).not.toContain(s.role('Member'));
  expect((await getApplication(stack, s.cookie, b.appId)).status).toBe('approved_role_assigned');
});
