import { startStack, type Stack } from './helpers/stack.js';
import {
  configRows,
  connect,
  connectionView,
  followCallback,
  authorizeUrl,
  outcomeOf,
  rolesNamed,
  waitForConnection,
  waitForVisibility,
  adminOfNewOrganization,
} from './helpers/discord-connect.js';
import { spawnWorkerProcess } from './helpers/worker-process.js';

/**
 * The Discord connection end to end: the API over HTTP, the real Temporal server, a worker, the
 * Discord sandbox. Every test uses an organization of its own.
 */

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

const newAdmin = () => adminOfNewOrganization(stack);

const ROLES_ROUTE = 'POST /guilds/:guildId/roles';

test('valid flow: connected, one Approved role below the bot, one row, findable by its search attributes', async () => {
  const { orgId, cookie } = await newAdmin();
  const guild = stack.sandbox.createGuild({ name: 'Valid Guild', roles: [{ name: 'Member' }] });

  expect(await connect(stack, cookie, guild.id)).toBe('success=bot_connected');

  const approved = rolesNamed(stack, guild.id);
  expect(approved).toHaveLength(1);
  const roles = stack.sandbox.roles(guild.id);
  const position = (id: string) => roles.find((r) => r.id === id)!.position;
  expect(position(approved[0]!)).toBeLessThan(position(guild.botRoleId!));

  const view = await connectionView(stack, cookie);
  expect(view).toMatchObject({
    state: 'connected',
    guild: { id: guild.id, name: 'Valid Guild' },
    role: { id: approved[0], name: 'Approved' },
    error: null,
  });
  const rows = await configRows(stack, orgId);
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({ guild_id: guild.id, approved_role_id: approved[0], connection_state: 'connected' });

  const found = await waitForVisibility(stack, `OrganizationId = "${orgId}" AND ConnectionState = "connected"`);
  expect(found).toEqual([`discord-connection:${orgId}`]);
});

test('a pre-existing role named Approved is reused, not duplicated', async () => {
  const { orgId, cookie } = await newAdmin();
  const guild = stack.sandbox.createGuild({ name: 'Has Approved', roles: [{ name: 'Approved' }, { name: 'Mods' }] });
  const existing = guild.roleIds[0]!;
  const before = stack.sandbox.stats().rolesCreated;

  expect(await connect(stack, cookie, guild.id)).toBe('success=bot_connected');

  expect(rolesNamed(stack, guild.id)).toEqual([existing]);
  expect(stack.sandbox.stats().rolesCreated).toBe(before);
  expect((await configRows(stack, orgId))[0]?.approved_role_id).toBe(existing);
});

test('without Manage Roles: missing_permissions, and the connection says what to fix', async () => {
  const { orgId, cookie } = await newAdmin();
  // The admin unticks Manage Roles on Discord's consent screen.
  const guild = stack.sandbox.createGuild({ name: 'No Perms', botPermissions: 0n });

  expect(await connect(stack, cookie, guild.id, { permissions: '0' })).toBe('error=missing_permissions');

  const view = await connectionView(stack, cookie);
  expect(view.state).toBe('error');
  expect(view.guild).toBeNull();
  expect(view.error).toMatch(/Manage Roles/);
  expect(view.error).toMatch(/above Approved/);
  expect(rolesNamed(stack, guild.id)).toEqual([]);
  // The bot is in the guild now, even though the connection failed: the row says where.
  expect(await configRows(stack, orgId)).toEqual([
    expect.objectContaining({ connection_state: 'error', guild_id: guild.id, approved_role_id: null }),
  ]);
  expect(await waitForVisibility(stack, `OrganizationId = "${orgId}" AND ConnectionState = "error"`)).toHaveLength(1);
  // So disconnecting makes the bot leave that guild instead of leaving it behind.
  const leaves = () => stack.sandbox.stats().byRoute['DELETE /users/@me/guilds/:guildId']?.requests ?? 0;
  const leftBefore = leaves();
  expect((await stack.api('/api/discord/connection', { method: 'DELETE', cookie })).status).toBe(202);
  await waitForConnection(stack, cookie, (v) => v.state === 'disconnected');
  expect(leaves()).toBe(leftBefore + 1);

  // Manage Roles taken away after the consent screen: same answer.
  const { cookie: cookie2 } = await newAdmin();
  const guild2 = stack.sandbox.createGuild({ name: 'Perms Removed' });
  const url = await authorizeUrl(stack, cookie2, guild2.id);
  stack.sandbox.setBotPermissions(guild2.id, 0n);
  expect(outcomeOf(await followCallback(url, cookie2))).toBe('error=missing_permissions');
  expect((await connectionView(stack, cookie2)).error).toMatch(/Manage Roles.*above Approved/);
});

test('an Approved role above the bot: missing_permissions; after the admin drags the bot up, connecting works', async () => {
  const { orgId, cookie } = await newAdmin();
  const guild = stack.sandbox.createGuild({
    name: 'Approved Above',
    roles: [{ name: 'Approved', position: 3 }],
    botRolePosition: 2,
  });

  expect(await connect(stack, cookie, guild.id)).toBe('error=missing_permissions');
  const view = await connectionView(stack, cookie);
  expect(view.state).toBe('error');
  expect(view.error).toMatch(/Manage Roles.*above Approved/);
  expect(rolesNamed(stack, guild.id)).toEqual([guild.roleIds[0]]);

  stack.sandbox.setBotRolePosition(guild.id, 10);
  expect(await connect(stack, cookie, guild.id)).toBe('success=bot_connected');
  expect(rolesNamed(stack, guild.id)).toEqual([guild.roleIds[0]]);
  expect(await configRows(stack, orgId)).toEqual([
    expect.objectContaining({ connection_state: 'connected', approved_role_id: guild.roleIds[0] }),
  ]);
});

test('a 500 on role creation: state error, nothing half-written; an immediate new attempt succeeds', async () => {
  const { orgId, cookie } = await newAdmin();
  const guild = stack.sandbox.createGuild({ name: 'Flaky Roles' });
  // Every attempt of the activity fails (5 attempts, ~15 s of backoff): the attempt gives up.
  stack.sandbox.faults.add({ route: ROLES_ROUTE, status: 500 });
  try {
    const first = await connect(stack, cookie, guild.id);
    expect(['error=role_creation_failed', 'status=connecting']).toContain(first);
    const failed = await waitForConnection(stack, cookie, (v) => v.state !== 'connecting', 40_000);
    expect(failed.state).toBe('error');
    expect(failed.error).toMatch(/server error/i);
  } finally {
    stack.sandbox.faults.clear();
  }
  expect(stack.sandbox.stats().byRoute[ROLES_ROUTE]?.requests).toBeGreaterThanOrEqual(5);
  expect(rolesNamed(stack, guild.id)).toEqual([]);
  expect(await configRows(stack, orgId)).toEqual([
    expect.objectContaining({ connection_state: 'error', guild_id: guild.id, approved_role_id: null }),
  ]);

  expect(await connect(stack, cookie, guild.id)).toBe('success=bot_connected');
  expect(rolesNamed(stack, guild.id)).toHaveLength(1);
  expect(await configRows(stack, orgId)).toEqual([
    expect.objectContaining({ connection_state: 'connected', guild_id: guild.id }),
  ]);
}, 60_000);

test('a worker SIGKILLed while it creates the role, then restarted: the connection completes with one role', async () => {
  const { orgId, cookie } = await newAdmin();
  const guild = stack.sandbox.createGuild({ name: 'Worker Dies' });
  const seen = () => stack.sandbox.stats().byRoute[ROLES_ROUTE]?.requests ?? 0;
  const before = seen();
  const createdBefore = stack.sandbox.stats().rolesCreated;
  // The role is created 1.5 s after the request arrives: after the worker that sent it is dead,
  // so its answer is lost and the next attempt must find the role instead of creating another.
  stack.sandbox.faults.add({ route: ROLES_ROUTE, latencyMs: 1_500, times: 1 });
  await stack.worker.stop();
  const doomed = await spawnWorkerProcess(stack);

  const url = await authorizeUrl(stack, cookie, guild.id);
  const callback = followCallback(url, cookie);
  const deadline = Date.now() + 10_000;
  while (seen() === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(seen()).toBe(before + 1);

  await doomed.kill();
  expect((await connectionView(stack, cookie)).state).toBe('connecting');
  stack.worker = await stack.startWorker();

  expect(['success=bot_connected', 'status=connecting']).toContain(outcomeOf(await callback));
  const view = await waitForConnection(stack, cookie, (v) => v.state !== 'connecting', 60_000);
  expect(view.state).toBe('connected');
  expect(rolesNamed(stack, guild.id)).toHaveLength(1);
  expect(stack.sandbox.stats().rolesCreated).toBe(createdBefore + 1);
  expect(await configRows(stack, orgId)).toHaveLength(1);
}, 90_000);

test("the guild of Discord's token answer wins over a tampered guild_id hint", async () => {
  const { orgId, cookie } = await newAdmin();
  const chosen = stack.sandbox.createGuild({ name: 'Chosen' });
  const victim = stack.sandbox.createGuild({ name: 'Victim' });
  const url = new URL(await authorizeUrl(stack, cookie, chosen.id));
  url.searchParams.set('guild_id', victim.id);

  expect(outcomeOf(await followCallback(url.toString(), cookie))).toBe('success=bot_connected');
  expect((await configRows(stack, orgId))[0]?.guild_id).toBe(chosen.id);
  expect(rolesNamed(stack, chosen.id)).toHaveLength(1);
  expect(rolesNamed(stack, victim.id)).toEqual([]);
});

test('a code Discord does not know: token_exchange_failed after one token request, state error', async () => {
  const { orgId, cookie } = await newAdmin();
  const guild = stack.sandbox.createGuild({ name: 'Bad Code' });
  const url = new URL(await authorizeUrl(stack, cookie, guild.id));
  url.searchParams.set('code', 'not-a-code-discord-issued');
  const tokenRequests = () => stack.sandbox.stats().byRoute['POST /oauth2/token']?.requests ?? 0;
  const before = tokenRequests();

  expect(outcomeOf(await followCallback(url.toString(), cookie))).toBe('error=token_exchange_failed');
  expect(tokenRequests()).toBe(before + 1);
  expect((await connectionView(stack, cookie)).state).toBe('error');
  expect(await configRows(stack, orgId)).toEqual([expect.objectContaining({ guild_id: null })]);
});

test('connecting again while connected: already_connected, nothing reaches Discord', async () => {
  const { orgId, cookie } = await newAdmin();
  const guild = stack.sandbox.createGuild({ name: 'First' });
  const other = stack.sandbox.createGuild({ name: 'Second' });
  expect(await connect(stack, cookie, guild.id)).toBe('success=bot_connected');

  const url = await authorizeUrl(stack, cookie, other.id);
  const requests = stack.sandbox.stats().requests;
  expect(outcomeOf(await followCallback(url, cookie))).toBe('error=already_connected');
  expect(stack.sandbox.stats().requests).toBe(requests);
  expect(await configRows(stack, orgId)).toEqual([
    expect.objectContaining({ connection_state: 'connected', guild_id: guild.id }),
  ]);
});

test('disconnect: the bot leaves, no row stays connected; reconnecting to another guild updates the one row', async () => {
  const { orgId, cookie } = await newAdmin();
  const first = stack.sandbox.createGuild({ name: 'Guild One' });
  const second = stack.sandbox.createGuild({ name: 'Guild Two' });
  expect(await connect(stack, cookie, first.id)).toBe('success=bot_connected');

  const res = await stack.api('/api/discord/connection', { method: 'DELETE', cookie });
  expect(res.status).toBe(202);
  expect(await res.json()).toEqual({ state: 'disconnected' });
  expect(stack.sandbox.roles(first.id).some((r) => r.id === first.botRoleId)).toBe(false);
  expect(await connectionView(stack, cookie)).toMatchObject({ state: 'disconnected', guild: null, role: null });
  const { rows } = await stack.db.pool.query(
    `SELECT 1 FROM discord_configs WHERE organization_id = $1 AND connection_state = 'connected'`,
    [orgId],
  );
  expect(rows).toHaveLength(0);
  expect(
    await waitForVisibility(stack, `OrganizationId = "${orgId}" AND ConnectionState = "disconnected"`),
  ).toHaveLength(1);

  expect(await connect(stack, cookie, second.id)).toBe('success=bot_connected');
  const secondRole = rolesNamed(stack, second.id);
  expect(secondRole).toHaveLength(1);
  expect(await configRows(stack, orgId)).toEqual([
    expect.objectContaining({
      connection_state: 'connected',
      guild_id: second.id,
      guild_name: 'Guild Two',
      approved_role_id: secondRole[0],
    }),
  ]);
  expect(await connectionView(stack, cookie)).toMatchObject({
    state: 'connected',
    guild: { id: second.id, name: 'Guild Two' },
    role: { id: secondRole[0] },
  });
});

test('disconnecting after the bot was removed from the server by hand still disconnects', async () => {
  const { orgId, cookie } = await newAdmin();
  const guild = stack.sandbox.createGuild({ name: 'Kicked' });
  expect(await connect(stack, cookie, guild.id)).toBe('success=bot_connected');
  stack.sandbox.removeBot(guild.id);

  const res = await stack.api('/api/discord/connection', { method: 'DELETE', cookie });
  expect(res.status).toBe(202);
  expect(await res.json()).toEqual({ state: 'disconnected' });
  expect(await configRows(stack, orgId)).toEqual([expect.objectContaining({ connection_state: 'disconnected' })]);
});

test('a connecting row without a running workflow is reported as an error the admin can act on', async () => {
  const { orgId, cookie } = await newAdmin();
  await stack.db.pool.query(
    `INSERT INTO discord_configs (organization_id, connection_state, connection_state_updated_at)
     VALUES ($1, 'connecting', now() - interval '3 minutes')`,
    [orgId],
  );
  const view = await connectionView(stack, cookie);
  expect(view.state).toBe('error');
  expect(view.error).toMatch(/connect again/);

  const guild = stack.sandbox.createGuild({ name: 'After A Dead Attempt' });
  expect(await connect(stack, cookie, guild.id)).toBe('success=bot_connected');
});
