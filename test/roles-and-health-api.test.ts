import { PermissionFlagsBits } from 'discord-api-types/v10';
import { saveGuildMembers } from '../src/db/reconciliation.js';
import { READINESS_REASONS } from '../src/domain/readiness.js';
import { startStack, type Org, type Stack } from './helpers/stack.js';
import { connectDiscord, review, seedApplication } from './helpers/flows.js';
import { pollUntil } from './helpers/poll.js';

/**
 * The roles an approval adds and removes, the bot's health, drift repair and readiness, over HTTP
 * on the real stack (API, Postgres, Temporal, worker, Discord sandbox). Tests share one connected
 * organization and run in order.
 */

let stack: Stack;
let org: Org;
let admin: string;
let reviewer: string;
let guildId: string;
/** Roles of the guild by name (the Approved role once connected). */
const role: Record<string, string> = {};

interface ErrorBody {
  error: { code: string; message: string };
}
interface PickerItem {
  id: string;
  name: string;
  position: number;
  manageable: boolean;
  reason: string | null;
  removable: boolean;
  removeReason: string | null;
}
interface ConnectionBody {
  state: string;
  addRoles: Array<{ id: string; name: string | null }>;
  removeRoles: Array<{ id: string; name: string | null }>;
  health: {
    checkedAt: string;
    findings: Array<{ kind: string; message: string }>;
    repaired: number;
    runId: string;
  } | null;
}

const json = async <T>(res: Response) => (await res.json()) as T;

const putRoles = (body: unknown, cookie = admin) =>
  stack.api('/api/discord/role-settings', { method: 'PUT', cookie, body });

const storedRoles = async (organizationId = org.id) =>
  (
    await stack.db.pool.query<{ add_role_ids: string[]; remove_role_ids: string[] }>(
      'SELECT add_role_ids, remove_role_ids FROM discord_configs WHERE organization_id = $1',
      [organizationId],
    )
  ).rows[0];

const auditCount = async (organizationId = org.id) =>
  Number(
    (
      await stack.db.pool.query(
        `SELECT count(*) FROM audit_log WHERE organization_id = $1 AND action = 'discord.roles_changed'`,
        [organizationId],
      )
    ).rows[0].count,
  );

beforeAll(async () => {
  // No scheduled reconciliation during the test (a week apart): the runs seen are this file's.
  stack = await startStack({ env: { DISCORD_RECONCILE_INTERVAL_MINUTES: '10080' } });
  org = await stack.createOrg('Roles Org', { requireDiscordSignIn: false });
  [admin, reviewer] = await Promise.all([stack.login(org.adminEmail), stack.login(org.reviewerEmail)]);
  const guild = stack.sandbox.createGuild({
    name: 'Roles Guild',
    roles: [
      { name: 'Member', position: 1 },
      { name: 'Unverified', position: 2 },
      { name: 'Moderator', position: 3, permissions: PermissionFlagsBits.KickMembers },
      { name: 'Integration', position: 4, managed: true },
      { name: 'Staff', position: 6 },
    ],
    botRolePosition: 5,
  });
  guildId = guild.id;
  ['Member', 'Unverified', 'Moderator', 'Integration', 'Staff'].forEach((name, i) => (role[name] = guild.roleIds[i]!));
}, 60_000);
afterAll(async () => {
  await stack?.close();
});

test('before connecting: the roles routes answer 409 not_connected', async () => {
  const roles = await stack.api('/api/discord/roles', { cookie: admin });
  expect(roles.status).toBe(409);
  expect((await json<ErrorBody>(roles)).error.code).toBe('not_connected');
  const put = await putRoles({ addRoleIds: [role.Member], removeRoleIds: [] });
  expect(put.status).toBe(409);
  const reapply = await stack.api('/api/discord/role-settings/reapply', { method: 'POST', cookie: admin });
  expect(reapply.status).toBe(409);
  expect((await json<ErrorBody>(reapply)).error.code).toBe('not_connected');

  expect(await connectDiscord(stack, admin, guildId)).toBe('success=bot_connected');
  role.Approved = stack.sandbox.roles(guildId).find((r) => r.name === 'Approved')!.id;
});

test("GET /api/discord/roles: the server's roles, those the bot cannot use greyed out with the reason", async () => {
  const res = await stack.api('/api/discord/roles', { cookie: admin });
  expect(res.status).toBe(200);
  const body = await json<{ items: PickerItem[]; addRoleIds: string[]; removeRoleIds: string[] }>(res);
  expect(body.addRoleIds).toEqual([role.Approved]);
  expect(body.removeRoleIds).toEqual([]);
  const byName = Object.fromEntries(body.items.map((i) => [i.name, i]));
  // Highest first.
  const positions = body.items.map((i) => i.position);
  expect([...positions].sort((a, b) => b - a)).toEqual(positions);

  expect(byName.Member).toMatchObject({ manageable: true, reason: null, removable: true, removeReason: null });
  expect(byName.Approved).toMatchObject({ manageable: true, removable: true });
  expect(byName.Unverified).toMatchObject({ manageable: true, removable: true });
  // Permissions forbid adding it to everyone approved, not removing it.
  expect(byName.Moderator).toMatchObject({ manageable: false, removable: true, removeReason: null });
  expect(byName.Moderator!.reason).toMatch(/Carries permissions \(Kick Members\)/);
  expect(byName.Integration).toMatchObject({ manageable: false, removable: false });
  expect(byName.Integration!.reason).toMatch(/Managed by an integration/);
  expect(byName.Staff).toMatchObject({ manageable: false, removable: false });
  expect(byName.Staff!.reason).toMatch(/above the bot's highest role/);
  expect(byName['@everyone']).toMatchObject({ id: guildId, manageable: false, removable: false });
  expect(byName['@everyone']!.reason).toMatch(/@everyone/);
  // The bot's own role is managed.
  expect(byName['Sandbox Bot']).toMatchObject({ manageable: false, removable: false });

  const forReviewer = await stack.api('/api/discord/roles', { cookie: reviewer });
  expect(forReviewer.status).toBe(403);
});

test.each([
  ['no body fields', {}, /^addRoleIds: is required; removeRoleIds: is required$/],
  ['no role to add', { addRoleIds: [], removeRoleIds: [] }, /^addRoleIds: must hold at least 1 role/],
  [
    'six roles to add',
    { addRoleIds: Array.from({ length: 6 }, (_, i) => `13000000000000000${10 + i}`), removeRoleIds: [] },
    /^addRoleIds: must hold at most 5 roles$/,
  ],
  [
    'eleven roles to remove',
    {
      addRoleIds: ['1300000000000000001'],
      removeRoleIds: Array.from({ length: 11 }, (_, i) => `14000000000000000${10 + i}`),
    },
    /^removeRoleIds: must hold at most 10 roles$/,
  ],
  [
    'a role twice',
    { addRoleIds: ['1300000000000000001', '1300000000000000001'], removeRoleIds: [] },
    /^addRoleIds: must not name a role twice$/,
  ],
  [
    'a role ID that is not a snowflake',
    { addRoleIds: ['12345'], removeRoleIds: [] },
    /^addRoleIds\.0: must be a Discord role ID/,
  ],
  ['a role ID as a number', { addRoleIds: [1300000000000], removeRoleIds: [] }, /^addRoleIds\.0: must be a string/],
  [
    'an unknown field',
    { addRoleIds: ['1300000000000000001'], removeRoleIds: [], roles: [] },
    /^roles: is not a known field$/,
  ],
  ['an array body', [], /^body: must be an object$/],
])(
  'PUT /api/discord/role-settings refuses %s with 400 naming the field, storing nothing',
  async (_label, body, message) => {
    const [before, audits] = [await storedRoles(), await auditCount()];
    const res = await putRoles(body);
    expect(res.status).toBe(400);
    const { error } = await json<ErrorBody>(res);
    expect(error.code).toBe('invalid_request');
    expect(error.message).toMatch(message);
    expect(await storedRoles()).toEqual(before);
    expect(await auditCount()).toBe(audits);
  },
);

test.each([
  [
    'a role above the bot',
    () => ({ addRoleIds: [role.Staff!], removeRoleIds: [] }),
    /"Staff" .*cannot be added: At or above the bot's highest role/,
  ],
  [
    'a managed role',
    () => ({ addRoleIds: [role.Member!, role.Integration!], removeRoleIds: [] }),
    /"Integration" .*cannot be added: Managed by an integration/,
  ],
  [
    'a role with permissions',
    () => ({ addRoleIds: [role.Moderator!], removeRoleIds: [] }),
    /"Moderator" .*cannot be added: Carries permissions \(Kick Members\)/,
  ],
  [
    '@everyone to remove',
    () => ({ addRoleIds: [role.Member!], removeRoleIds: [guildId] }),
    /"@everyone" .*cannot be removed: @everyone belongs to every member/,
  ],
  [
    'a managed role to remove',
    () => ({ addRoleIds: [role.Member!], removeRoleIds: [role.Integration!] }),
    /"Integration" .*cannot be removed/,
  ],
  [
    'a role both added and removed',
    () => ({ addRoleIds: [role.Member!], removeRoleIds: [role.Unverified!, role.Member!] }),
    /"Member" .*cannot be both added and removed on approval/,
  ],
  [
    'a role not in the server',
    () => ({ addRoleIds: ['1300000000000000001'], removeRoleIds: [] }),
    /Role 1300000000000000001 cannot be added: it is not a role of the Discord server/,
  ],
])('PUT refuses %s with 422 role_not_manageable naming it and why, storing nothing', async (_label, body, message) => {
  const [before, audits] = [await storedRoles(), await auditCount()];
  const res = await putRoles(body());
  expect(res.status).toBe(422);
  const { error } = await json<ErrorBody>(res);
  expect(error.code).toBe('role_not_manageable');
  expect(error.message).toMatch(message);
  expect(await storedRoles()).toEqual(before);
  expect(await auditCount()).toBe(audits);
});

test('PUT saves the roles with an audit entry and answers with the connection; GET shows them', async () => {
  const forReviewer = await putRoles({ addRoleIds: [role.Member], removeRoleIds: [] }, reviewer);
  expect(forReviewer.status).toBe(403);

  const choice = { addRoleIds: [role.Approved!, role.Member!], removeRoleIds: [role.Unverified!, role.Moderator!] };
  const res = await putRoles(choice);
  expect(res.status).toBe(200);
  const body = await json<ConnectionBody>(res);
  expect(body).toMatchObject({
    state: 'connected',
    addRoles: [
      { id: role.Approved, name: 'Approved' },
      { id: role.Member, name: 'Member' },
    ],
    removeRoles: [
      { id: role.Unverified, name: 'Unverified' },
      { id: role.Moderator, name: 'Moderator' },
    ],
  });
  expect(await storedRoles()).toEqual({ add_role_ids: choice.addRoleIds, remove_role_ids: choice.removeRoleIds });
  const { rows } = await stack.db.pool.query(
    `SELECT a.actor_user_id, a.subject_type, a.subject_id, a.details, u.email FROM audit_log a
     JOIN users u ON u.id = a.actor_user_id
     WHERE a.organization_id = $1 AND a.action = 'discord.roles_changed'`,
    [org.id],
  );
  expect(rows).toEqual([
    expect.objectContaining({
      email: org.adminEmail,
      subject_type: 'discord_guild',
      subject_id: guildId,
      details: { ...choice, before: { addRoleIds: [role.Approved], removeRoleIds: [] } },
    }),
  ]);

  const view = await json<ConnectionBody>(await stack.api('/api/discord/connection', { cookie: reviewer }));
  expect(view.addRoles).toEqual(body.addRoles);
  expect(view.removeRoles).toEqual(body.removeRoles);
  const roles = await json<{ addRoleIds: string[]; removeRoleIds: string[] }>(
    await stack.api('/api/discord/roles', { cookie: admin }),
  );
  expect(roles).toMatchObject(choice);
});

test('driftRepair: restore by default, report after a PATCH, a wrong value refused', async () => {
  const get = () => stack.api('/api/organization/settings', { cookie: admin });
  expect(await json(await get())).toEqual({ requireDiscordSignIn: false, driftRepair: 'restore' });
  const patch = (body: unknown) => stack.api('/api/organization/settings', { method: 'PATCH', cookie: admin, body });
  const changed = await patch({ driftRepair: 'report' });
  expect(changed.status).toBe(200);
  expect(await json(changed)).toEqual({ requireDiscordSignIn: false, driftRepair: 'report' });
  expect(await json(await get())).toEqual({ requireDiscordSignIn: false, driftRepair: 'report' });
  const wrong = await patch({ driftRepair: 'ignore' });
  expect(wrong.status).toBe(400);
  expect((await json<ErrorBody>(wrong)).error.message).toMatch(/^driftRepair: /);
  expect(await json(await get())).toMatchObject({ driftRepair: 'report' });
  expect((await patch({ driftRepair: 'restore' })).status).toBe(200);
});

test('readiness: pending applications say whether approving would give the roles now; others carry null', async () => {
  const inServer = '310000000000000001';
  const screening = '310000000000000002';
  const unseen = '310000000000000003';
  const ids = {
    inServer: await seedApplication(stack, org, { discord_user_id: inServer }),
    screening: await seedApplication(stack, org, { discord_user_id: screening }),
    unseen: await seedApplication(stack, org, { discord_user_id: unseen }),
    none: await seedApplication(stack, org, {}),
    invalid: await seedApplication(stack, org, { discord_user_id: 'ada#1234' }),
  };
  // What a reconciliation saw of the guild's members.
  await saveGuildMembers(stack.db.pool, guildId, [
    { userId: inServer, roleIds: [], pending: false },
    { userId: screening, roleIds: [], pending: true },
  ]);
  const res = await stack.api('/api/applications?status=Pending&limit=50', { cookie: reviewer });
  expect(res.status).toBe(200);
  const items = (await json<{ items: Array<{ id: string; readiness: unknown }> }>(res)).items;
  const readinessOf = (id: string) => items.find((a) => a.id === id)?.readiness;
  expect(readinessOf(ids.inServer)).toEqual({ verdict: 'ready', reason: READINESS_REASONS.inServer });
  expect(readinessOf(ids.screening)).toEqual({ verdict: 'warning', reason: READINESS_REASONS.screening });
  expect(readinessOf(ids.unseen)).toEqual({ verdict: 'warning', reason: READINESS_REASONS.notSeen });
  expect(readinessOf(ids.none)).toEqual({ verdict: 'ready', reason: READINESS_REASONS.noDiscord });
  expect(readinessOf(ids.invalid)).toEqual({ verdict: 'blocked', reason: READINESS_REASONS.invalidId });

  // One application: the same answer.
  const one = await json<{ readiness: unknown }>(
    await stack.api(`/api/applications/${ids.inServer}`, { cookie: admin }),
  );
  expect(one.readiness).toEqual({ verdict: 'ready', reason: READINESS_REASONS.inServer });

  // Decided: no readiness.
  expect((await review(stack, admin, ids.none, 'reject')).status).toBe(200);
  const decided = await json<{ status: string; readiness: unknown }>(
    await stack.api(`/api/applications/${ids.none}`, { cookie: admin }),
  );
  expect(decided).toMatchObject({ status: 'Rejected', readiness: null });

  // Another organization, Discord not connected: blocked.
  const other = await stack.createOrg('Unconnected Org', { requireDiscordSignIn: false });
  const otherAdmin = await stack.login(other.adminEmail);
  const waiting = await seedApplication(stack, other, { discord_user_id: inServer });
  const list = await json<{ items: Array<{ id: string; readiness: unknown }> }>(
    await stack.api('/api/applications', { cookie: otherAdmin }),
  );
  expect(list.items.find((a) => a.id === waiting)?.readiness).toEqual({
    verdict: 'blocked',
    reason: READINESS_REASONS.notConnected,
  });
});

test('Check now records a health check: the connection shows it, and it is listed among the reconciliation runs', async () => {
  const res = await stack.api('/api/discord/connection/check', { method: 'POST', cookie: admin });
  expect(res.status).toBe(200);
  const check = await json<{ outcome: string; health: ConnectionBody['health'] }>(res);
  expect(check.outcome).not.toBe('failed');
  const view = await pollUntil(
    async () => json<ConnectionBody>(await stack.api('/api/discord/connection', { cookie: admin })),
    (v) => v.health !== null,
    { timeoutMs: 15_000, what: 'a health check' },
  );
  expect(view.health).toMatchObject({ findings: [], repaired: expect.any(Number) });
  expect(Date.parse(view.health!.checkedAt)).toBeGreaterThan(Date.now() - 60_000);

  const runs = await stack.api('/api/reconciliation-runs?limit=5', { cookie: admin });
  expect(runs.status).toBe(200);
  const { items } = await json<{ items: Array<Record<string, unknown>> }>(runs);
  expect(items.find((r) => r.id === view.health!.runId)).toMatchObject({
    trigger: 'check',
    workflowId: `discord-connection:${org.id}`,
    findings: [],
    error: null,
  });

  for (const limit of ['0', '101', 'x']) {
    const bad = await stack.api(`/api/reconciliation-runs?limit=${limit}`, { cookie: admin });
    expect([limit, bad.status]).toEqual([limit, 400]);
  }
  expect((await stack.api('/api/reconciliation-runs', { cookie: reviewer })).status).toBe(403);
});

test('re-apply: 202 with the workflow, run as a reconciliation with trigger reapply', async () => {
  const res = await stack.api('/api/discord/role-settings/reapply', { method: 'POST', cookie: admin });
  expect(res.status).toBe(202);
  const started = await json<{ workflowId: string; runId: string }>(res);
  expect(started).toEqual({ workflowId: expect.any(String), runId: expect.any(String) });
  expect((await stack.api('/api/discord/role-settings/reapply', { method: 'POST', cookie: reviewer })).status).toBe(
    403,
  );
  await pollUntil(
    async () =>
      (
        await json<{ items: Array<{ trigger: string; workflowId: string; finishedAt: string | null }> }>(
          await stack.api('/api/reconciliation-runs', { cookie: admin }),
        )
      ).items,
    (items) => items.some((r) => r.trigger === 'reapply' && r.workflowId === started.workflowId && r.finishedAt),
    { timeoutMs: 20_000, what: 'the re-apply run to finish' },
  );
});

test('Discord cannot answer (the bot was removed): 503 discord_unavailable saying why, nothing stored', async () => {
  const other = await stack.createOrg('Kicked Org');
  const otherAdmin = await stack.login(other.adminEmail);
  const guild = stack.sandbox.createGuild({ name: 'Kicked Guild', roles: [{ name: 'Member' }] });
  expect(await connectDiscord(stack, otherAdmin, guild.id)).toBe('success=bot_connected');
  stack.sandbox.removeBot(guild.id);
  const before = await storedRoles(other.id);

  const roles = await stack.api('/api/discord/roles', { cookie: otherAdmin });
  expect(roles.status).toBe(503);
  expect(roles.headers.get('retry-after')).toBe('5');
  const { error } = await json<ErrorBody>(roles);
  expect(error.code).toBe('discord_unavailable');
  expect(error.message).toMatch(/bot is no longer in the Discord server/);

  const put = await stack.api('/api/discord/role-settings', {
    method: 'PUT',
    cookie: otherAdmin,
    body: { addRoleIds: [guild.roleIds[0]], removeRoleIds: [] },
  });
  expect(put.status).toBe(503);
  expect((await json<ErrorBody>(put)).error.code).toBe('discord_unavailable');
  expect(await storedRoles(other.id)).toEqual(before);
  expect(await auditCount(other.id)).toBe(0);
});
