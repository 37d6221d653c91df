/**
 * The sandbox's guild administration (issue 14, part 6): List Guild Members and the Server Members
 * intent, deleting and moving roles (bot routes and the owner's control routes), removing the bot,
 * a moderator editing members' roles, and thousands of members in one call. Every bot answer is
 * checked against Discord's OpenAPI description.
 */
import { PermissionFlagsBits, type APIGuildMember, type APIRole } from 'discord-api-types/v10';
import type { Sandbox, SandboxGuild } from '../src/dev/sandbox/index.js';
import {
  addMemberRoleByHand,
  addMembersInBulk,
  botRequest,
  consecutiveUserIds,
  controlRequest,
  deleteRoleAsOwner,
  discordSpecSchema,
  editRoleAsOwner,
  expectConformsToDiscordSpec,
  getSandboxState,
  removeBotFromGuild,
  removeMemberRoleByHand,
  setIntents,
  setMemberRolesByHand,
  useSandbox,
} from './helpers/sandbox.js';

const MEMBERS = '/guilds/{guild_id}/members';
const MEMBER = '/guilds/{guild_id}/members/{user_id}';
const MEMBER_ROLE = '/guilds/{guild_id}/members/{user_id}/roles/{role_id}';
const ROLES = '/guilds/{guild_id}/roles';
const ROLE = '/guilds/{guild_id}/roles/{role_id}';
const USER = '300000000000000001';

let sandbox: Sandbox;

useSandbox((s) => {
  sandbox = s;
});

const bot = (path: string, init?: RequestInit) => botRequest(sandbox, path, init);

/** A bot answer checked against the spec, with the JSON error code it must carry (or none). */
async function expectSpecError(res: Response, method: string, path: string, status: number, code: number) {
  expect(res.status).toBe(status);
  const body = (await expectConformsToDiscordSpec(res, method, path)) as { code: number; errors?: unknown };
  expect(body.code).toBe(code);
  return body;
}

async function listMembers(guildId: string, query = ''): Promise<APIGuildMember[]> {
  const res = await bot(`/guilds/${guildId}/members${query}`);
  expect(res.status).toBe(200);
  return (await expectConformsToDiscordSpec(res, 'GET', MEMBERS)) as APIGuildMember[];
}

/** A guild with roles A, B, C at 1, 2, 3 and the bot's role at 4, and USER a member. */
function abcGuild(name = 'Roles'): { guild: SandboxGuild; a: string; b: string; c: string; botRole: string } {
  const guild = sandbox.createGuild({ name, roles: [{ name: 'A' }, { name: 'B' }, { name: 'C' }] });
  sandbox.addMember(guild.id, USER);
  const [a = '', b = '', c = ''] = guild.roleIds;
  return { guild, a, b, c, botRole: guild.botRoleId ?? '' };
}

/** Role names from the bottom up, @everyone left out. */
const order = (guildId: string) =>
  sandbox
    .roles(guildId)
    .filter((role) => role.id !== guildId)
    .map((role) => `${role.name}:${role.position}`);

describe('List Guild Members', () => {
  it('pages 2,000 bulk-added members by user id: limit 1-1000 (default 1), after (default 0)', async () => {
    const guild = sandbox.createGuild({ name: 'Big', roles: [{ name: 'Approved' }] });
    const approved = guild.roleIds[0] ?? '';
    const ids = consecutiveUserIds(2000);
    // Out of order on purpose: the answer is sorted, not in joining order.
    const shuffled = [...ids.slice(1000), ...ids.slice(0, 1000)].reverse();
    const started = performance.now();
    expect(await addMembersInBulk(sandbox, guild.id, shuffled, [approved])).toEqual({ added: 2000, alreadyMembers: 0 });
    expect(performance.now() - started).toBeLessThan(1000);

    const first = await listMembers(guild.id);
    expect(first.map((member) => member.user.id)).toEqual([ids[0]]);
    expect(first[0]).toMatchObject({ roles: [approved], pending: false, nick: null });

    // Every member once, ascending, in three pages: the 2,000, then the owner and the bot (newer ids).
    const seen: string[] = [];
    const pageSizes: number[] = [];
    const pagingStarted = performance.now();
    for (let after = '0'; ;) {
      const page = await listMembers(guild.id, `?limit=1000&after=${after}`);
      pageSizes.push(page.length);
      if (page.length === 0) break;
      seen.push(...page.map((member) => member.user.id));
      after = seen[seen.length - 1] ?? '';
    }
    expect(performance.now() - pagingStarted).toBeLessThan(2000);
    expect(pageSizes).toEqual([1000, 1000, 2, 0]);
    expect(seen.slice(0, 2000)).toEqual(ids);
    expect(seen.slice(2000).sort()).toEqual([guild.ownerId, sandbox.botUserId].sort());
    const asNumbers = seen.map(BigInt);
    expect(asNumbers.every((id, i) => i === 0 || id > (asNumbers[i - 1] ?? 0n))).toBe(true);

    const middle = await listMembers(guild.id, `?limit=3&after=${ids[1499]}`);
    expect(middle.map((member) => member.user.id)).toEqual(ids.slice(1500, 1503));
    expect(await listMembers(guild.id, '?after=18446744073709551615')).toEqual([]);
  });

  it('needs the Server Members intent (on by default): off, 403 50001 Missing Access', async () => {
    const guild = sandbox.createGuild({ name: 'Intent' });
    expect(sandbox.intents()).toEqual({ guildMembers: true });
    expect((await getSandboxState(sandbox)).intents).toEqual({ guildMembers: true });

    await setIntents(sandbox, { guildMembers: false });
    const body = await expectSpecError(await bot(`/guilds/${guild.id}/members`), 'GET', MEMBERS, 403, 50001);
    expect(body).toEqual({ message: 'Missing Access', code: 50001 });
    expect((await getSandboxState(sandbox)).intents).toEqual({ guildMembers: false });
    expect(await (await controlRequest(sandbox, '/intents')).json()).toEqual({ guildMembers: false });
    // Only listing needs it: one member still answers.
    expect((await bot(`/guilds/${guild.id}/members/${guild.ownerId}`)).status).toBe(200);

    await setIntents(sandbox, { guildMembers: true });
    expect(await listMembers(guild.id, '?limit=5')).toHaveLength(2);
    const bad = await controlRequest(sandbox, '/intents', { method: 'PUT', body: JSON.stringify({ guildMembers: 1 }) });
    expect(bad.status).toBe(400);
  });

  it('validates limit and after with 400 50035 and an errors tree; a guild without the bot is 403 50001', async () => {
    const guild = sandbox.createGuild({ name: 'Query' });
    const cases: Array<[string, Record<string, unknown>]> = [
      ['?limit=0', { limit: { _errors: [{ code: 'NUMBER_TYPE_MIN', message: expect.any(String) }] } }],
      ['?limit=1001', { limit: { _errors: [{ code: 'NUMBER_TYPE_MAX', message: expect.any(String) }] } }],
      ['?limit=ten', { limit: { _errors: [{ code: 'NUMBER_TYPE_COERCE', message: 'Value "ten" is not int.' }] } }],
      ['?limit=1.5', { limit: { _errors: [{ code: 'NUMBER_TYPE_COERCE', message: expect.any(String) }] } }],
      ['?after=-1', { after: { _errors: [{ code: 'NUMBER_TYPE_COERCE', message: 'Value "-1" is not snowflake.' }] } }],
      [
        '?after=18446744073709551616',
        { after: { _errors: [expect.objectContaining({ code: 'NUMBER_TYPE_COERCE' })] } },
      ],
      [
        '?limit=2000&after=x',
        {
          limit: { _errors: [expect.objectContaining({ code: 'NUMBER_TYPE_MAX' })] },
          after: { _errors: [expect.objectContaining({ code: 'NUMBER_TYPE_COERCE' })] },
        },
      ],
    ];
    for (const [query, errors] of cases) {
      const body = await expectSpecError(await bot(`/guilds/${guild.id}/members${query}`), 'GET', MEMBERS, 400, 50035);
      expect({ query, errors: body.errors }).toEqual({ query, errors });
    }
    expect(await listMembers(guild.id, '?limit=1000&after=0')).toHaveLength(2);

    const without = sandbox.createGuild({ name: 'No bot', botInstalled: false });
    await expectSpecError(await bot(`/guilds/${without.id}/members`), 'GET', MEMBERS, 403, 50001);
    await expectSpecError(await bot('/guilds/400000000000000001/members'), 'GET', MEMBERS, 403, 50001);
  });

  it('is counted in stats, rate limited per guild and open to faults like the other routes', async () => {
    const guild = sandbox.createGuild({ name: 'Limited' });
    sandbox.setRateLimits({ buckets: { members: { limit: 1, windowMs: 60_000 } } });
    expect((await bot(`/guilds/${guild.id}/members`)).status).toBe(200);
    const limited = await bot(`/guilds/${guild.id}/members`);
    expect(limited.status).toBe(429);
    expect(((await expectConformsToDiscordSpec(limited, 'GET', MEMBERS)) as { global: boolean }).global).toBe(false);
    sandbox.setRateLimits({});

    sandbox.faults.add({ route: 'GET /guilds/:guildId/members', status: 503, times: 1 });
    expect((await bot(`/guilds/${guild.id}/members/${guild.ownerId}`)).status).toBe(200); // another route
    expect((await bot(`/guilds/${guild.id}/members`)).status).toBe(503);
    expect((await bot(`/guilds/${guild.id}/members`)).status).toBe(200);

    const stats = sandbox.stats();
    expect(stats.byRoute['GET /guilds/:guildId/members']).toEqual({ requests: 4, rateLimited: 1 });
    expect(stats.byRoute['GET /guilds/:guildId/members/:userId']).toEqual({ requests: 1, rateLimited: 0 });
  });
});

describe('deleting roles', () => {
  it('Delete Guild Role: 204, the role gone from the guild and every member; audit-log reason recorded', async () => {
    const { guild, a, b } = abcGuild('Delete');
    await addMembersInBulk(sandbox, guild.id, consecutiveUserIds(3, 510_000_000_000_000_000n), [a, b]);
    sandbox.giveRoleByHand(guild.id, USER, a);
    const res = await bot(`/guilds/${guild.id}/roles/${a}`, {
      method: 'DELETE',
      headers: { 'x-audit-log-reason': encodeURIComponent('Cleanup') },
    });
    expect(res.status).toBe(204);
    await expectConformsToDiscordSpec(res, 'DELETE', ROLE);
    expect(sandbox.roles(guild.id).map((role) => role.id)).not.toContain(a);
    const members = await listMembers(guild.id, '?limit=10');
    expect(members.filter((member) => member.roles.includes(a))).toEqual([]);
    expect(members.filter((member) => member.roles.includes(b))).toHaveLength(3);
    expect(sandbox.stats().auditLogReasons).toEqual(['Cleanup']);
    expect(sandbox.stats().byRoute['DELETE /guilds/:guildId/roles/:roleId']).toEqual({ requests: 1, rateLimited: 0 });

    // Gone: deleting again, reading it or granting it is Unknown Role.
    await expectSpecError(
      await bot(`/guilds/${guild.id}/roles/${a}`, { method: 'DELETE' }),
      'DELETE',
      ROLE,
      404,
      10011,
    );
    await expectSpecError(await bot(`/guilds/${guild.id}/roles/${a}`), 'GET', ROLE, 404, 10011);
    await expectSpecError(
      await bot(`/guilds/${guild.id}/members/${USER}/roles/${a}`, { method: 'PUT' }),
      'PUT',
      MEMBER_ROLE,
      404,
      10011,
    );
    const kept = (await expectConformsToDiscordSpec(
      await bot(`/guilds/${guild.id}/roles/${b}`),
      'GET',
      ROLE,
    )) as APIRole;
    expect(kept).toMatchObject({ id: b, name: 'B' });
  });

  it('refuses @everyone and managed roles with 400 50028, and needs Manage Roles and a role below the bot (50013)', async () => {
    const guild = sandbox.createGuild({
      name: 'Refusals',
      roles: [{ name: 'Low' }, { name: 'Booster', managed: true }, { name: 'High', position: 10 }],
      botRolePosition: 5,
    });
    const [low = '', booster = '', high = ''] = guild.roleIds;
    const del = (roleId: string) => bot(`/guilds/${guild.id}/roles/${roleId}`, { method: 'DELETE' });
    expect(await expectSpecError(await del(guild.id), 'DELETE', ROLE, 400, 50028)).toEqual({
      message: 'Invalid Role',
      code: 50028,
    });
    await expectSpecError(await del(booster), 'DELETE', ROLE, 400, 50028);
    await expectSpecError(await del(guild.botRoleId ?? ''), 'DELETE', ROLE, 400, 50028);
    await expectSpecError(await del(high), 'DELETE', ROLE, 403, 50013);
    await expectSpecError(await del('400000000000000001'), 'DELETE', ROLE, 404, 10011);
    sandbox.setBotPermissions(guild.id, PermissionFlagsBits.CreateInstantInvite);
    await expectSpecError(await del(low), 'DELETE', ROLE, 403, 50013);
    sandbox.setBotPermissions(guild.id, PermissionFlagsBits.ManageRoles);
    expect((await del(low)).status).toBe(204);
    expect(sandbox.roles(guild.id).map((role) => role.name)).toEqual(['@everyone', 'Booster', 'Sandbox Bot', 'High']);
  });

  it('the owner deletes any role but @everyone and managed ones over the control API, from every member', async () => {
    const { guild, a, b, c } = abcGuild('Owner deletes');
    sandbox.setBotRolePosition(guild.id, 1); // the owner needs no hierarchy
    const ids = consecutiveUserIds(50, 520_000_000_000_000_000n);
    await addMembersInBulk(sandbox, guild.id, ids, [c]);
    await deleteRoleAsOwner(sandbox, guild.id, c);
    const state = (await getSandboxState(sandbox)).guilds.find((g) => g.id === guild.id);
    expect(state?.roles.map((role) => role.id)).not.toContain(c);
    expect(state?.members.filter((member) => member.roles.includes(c))).toEqual([]);

    const refuse = async (path: string, status: number) => {
      const res = await controlRequest(sandbox, path, { method: 'DELETE' });
      expect(res.status).toBe(status);
      expect(await res.json()).toEqual({ error: expect.any(String) });
    };
    await refuse(`/guilds/${guild.id}/roles/${c}`, 404);
    await refuse(`/guilds/400000000000000001/roles/${a}`, 404);
    await refuse(`/guilds/${guild.id}/roles/${guild.id}`, 400);
    await refuse(`/guilds/${guild.id}/roles/${guild.botRoleId}`, 400);
    expect(sandbox.roles(guild.id).map((role) => role.id)).toEqual(expect.arrayContaining([a, b, guild.id]));
  });
});

describe('moving and editing roles', () => {
  it('the owner moves a role: the roles it passes shift by one, the bot role included', async () => {
    const { guild, a, b, botRole } = abcGuild('Move');
    expect(order(guild.id)).toEqual(['A:1', 'B:2', 'C:3', 'Sandbox Bot:4']);
    const moved = await editRoleAsOwner(sandbox, guild.id, a, { position: 3 });
    expect(discordSpecSchema('GuildRoleResponse')(moved)).toBe(true);
    expect(moved).toMatchObject({ id: a, position: 3 });
    expect(order(guild.id)).toEqual(['B:1', 'C:2', 'A:3', 'Sandbox Bot:4']);

    // Above the top: it becomes the top role; the bot can no longer grant it.
    await editRoleAsOwner(sandbox, guild.id, a, { position: 99 });
    expect(order(guild.id)).toEqual(['B:1', 'C:2', 'Sandbox Bot:3', 'A:4']);
    await expectSpecError(
      await bot(`/guilds/${guild.id}/members/${USER}/roles/${a}`, { method: 'PUT' }),
      'PUT',
      MEMBER_ROLE,
      403,
      50013,
    );

    // The bot's own role moves the same way, down to the bottom.
    await editRoleAsOwner(sandbox, guild.id, botRole, { position: 1 });
    expect(order(guild.id)).toEqual(['Sandbox Bot:1', 'B:2', 'C:3', 'A:4']);
    await expectSpecError(
      await bot(`/guilds/${guild.id}/members/${USER}/roles/${b}`, { method: 'PUT' }),
      'PUT',
      MEMBER_ROLE,
      403,
      50013,
    );
    await editRoleAsOwner(sandbox, guild.id, botRole, { position: 4 });
    expect(order(guild.id)).toEqual(['B:1', 'C:2', 'A:3', 'Sandbox Bot:4']);
    expect((await bot(`/guilds/${guild.id}/members/${USER}/roles/${b}`, { method: 'PUT' })).status).toBe(204);
  });

  it('the owner edits permissions, name and the managed flag; bad edits are 400, unknown roles 404', async () => {
    const { guild, a, botRole } = abcGuild('Edit');
    const edited = await editRoleAsOwner(sandbox, guild.id, a, {
      name: 'Approved',
      permissions: PermissionFlagsBits.Administrator,
    });
    expect(edited).toMatchObject({ name: 'Approved', permissions: String(PermissionFlagsBits.Administrator) });
    const fromBot = (await expectConformsToDiscordSpec(
      await bot(`/guilds/${guild.id}/roles/${a}`),
      'GET',
      ROLE,
    )) as APIRole;
    expect(fromBot).toEqual(edited);

    await editRoleAsOwner(sandbox, guild.id, a, { managed: true });
    await expectSpecError(
      await bot(`/guilds/${guild.id}/members/${USER}/roles/${a}`, { method: 'PUT' }),
      'PUT',
      MEMBER_ROLE,
      403,
      50013,
    );
    await editRoleAsOwner(sandbox, guild.id, a, { managed: false });
    expect((await bot(`/guilds/${guild.id}/members/${USER}/roles/${a}`, { method: 'PUT' })).status).toBe(204);

    // The bot's permissions through its role: without Manage Roles it can grant nothing.
    await editRoleAsOwner(sandbox, guild.id, botRole, { permissions: '1' });
    await expectSpecError(
      await bot(`/guilds/${guild.id}/members/${USER}/roles/${a}`, { method: 'DELETE' }),
      'DELETE',
      MEMBER_ROLE,
      403,
      50013,
    );

    const patch = (roleId: string, body: unknown) =>
      controlRequest(sandbox, `/guilds/${guild.id}/roles/${roleId}`, { method: 'PATCH', body: JSON.stringify(body) });
    for (const body of [
      { position: 0 },
      { position: 1.5 },
      { permissions: 'all' },
      { managed: 'yes' },
      { name: '' },
      { colour: 1 },
    ]) {
      expect({ body, status: (await patch(a, body)).status }).toEqual({ body, status: 400 });
    }
    expect((await patch(botRole, { managed: false })).status).toBe(400);
    expect((await patch(guild.id, { position: 2 })).status).toBe(400);
    expect((await patch('400000000000000001', { name: 'x' })).status).toBe(404);
    // A refused edit changes nothing, not even the fields that were fine.
    expect((await patch(a, { name: 'Changed', position: 0 })).status).toBe(400);
    expect(sandbox.roles(guild.id).find((role) => role.id === a)?.name).toBe('Approved');
  });

  it('Modify Guild Role Positions: 200 with every role, only below the bot, 10011 and 50035 for bad input', async () => {
    const { guild, a, b, c, botRole } = abcGuild('Positions');
    const patch = (body: unknown) => bot(`/guilds/${guild.id}/roles`, { method: 'PATCH', body: JSON.stringify(body) });
    const request = [
      { id: c, position: 1 },
      { id: a, position: 2 },
      { id: b, position: 3 },
    ];
    const positions = discordSpecSchema('UpdateRolePositionsRequest');
    for (const item of request) expect(positions(item)).toBe(true);
    const res = await patch(request);
    expect(res.status).toBe(200);
    const roles = (await expectConformsToDiscordSpec(res, 'PATCH', ROLES)) as APIRole[];
    expect(roles.map((role) => `${role.name}:${role.position}`)).toEqual([
      '@everyone:0',
      'C:1',
      'A:2',
      'B:3',
      'Sandbox Bot:4',
    ]);
    expect(order(guild.id)).toEqual(['C:1', 'A:2', 'B:3', 'Sandbox Bot:4']);

    // One role moved: the others shift. Null positions are left alone.
    expect(
      (
        await patch([
          { id: b, position: 1 },
          { id: a, position: null },
        ])
      ).status,
    ).toBe(200);
    expect(order(guild.id)).toEqual(['B:1', 'C:2', 'A:3', 'Sandbox Bot:4']);

    await expectSpecError(await patch([{ id: a, position: 4 }]), 'PATCH', ROLES, 403, 50013);
    await expectSpecError(await patch([{ id: botRole, position: 1 }]), 'PATCH', ROLES, 403, 50013);
    await expectSpecError(await patch([{ id: '400000000000000001', position: 1 }]), 'PATCH', ROLES, 404, 10011);
    await expectSpecError(await patch([{ id: guild.id, position: 1 }]), 'PATCH', ROLES, 400, 50028);
    const bad = await expectSpecError(await patch([{ id: 'x', position: 'top' }]), 'PATCH', ROLES, 400, 50035);
    expect(bad.errors).toEqual({
      '0': {
        id: { _errors: [{ code: 'NUMBER_TYPE_COERCE', message: 'Value "x" is not snowflake.' }] },
        position: { _errors: [{ code: 'NUMBER_TYPE_COERCE', message: 'Value "top" is not int.' }] },
      },
    });
    await expectSpecError(await patch({ id: a, position: 1 }), 'PATCH', ROLES, 400, 50035);
    sandbox.setBotPermissions(guild.id, 0n);
    await expectSpecError(await patch([{ id: a, position: 1 }]), 'PATCH', ROLES, 403, 50013);
    // Nothing refused moved anything.
    expect(order(guild.id)).toEqual(['B:1', 'C:2', 'A:3', 'Sandbox Bot:4']);
  });
});

describe('removing the bot', () => {
  it('DELETE /_sandbox/guilds/:guildId/bot: the state shows it, guild routes answer 10004 or 50001 as Discord does', async () => {
    const { guild, a } = abcGuild('Kicked');
    await removeBotFromGuild(sandbox, guild.id);
    const state = (await getSandboxState(sandbox)).guilds.find((g) => g.id === guild.id);
    expect(state).toMatchObject({ botInstalled: false, botRoleId: null });
    expect(state?.members.map((member) => member.userId)).not.toContain(sandbox.botUserId);
    expect(state?.roles.some((role) => role.managed)).toBe(false);

    // GET /guilds/{id} and leaving: 404 10004 Unknown Guild; the routes below the guild: 403 50001.
    await expectSpecError(await bot(`/guilds/${guild.id}`), 'GET', '/guilds/{guild_id}', 404, 10004);
    await expectSpecError(
      await bot(`/users/@me/guilds/${guild.id}`, { method: 'DELETE' }),
      'DELETE',
      '/users/@me/guilds/{guild_id}',
      404,
      10004,
    );
    const missingAccess: Array<[string, string, string, RequestInit?]> = [
      ['GET', ROLES, `/guilds/${guild.id}/roles`],
      [
        'PATCH',
        ROLES,
        `/guilds/${guild.id}/roles`,
        { method: 'PATCH', body: JSON.stringify([{ id: a, position: 1 }]) },
      ],
      ['GET', ROLE, `/guilds/${guild.id}/roles/${a}`],
      ['DELETE', ROLE, `/guilds/${guild.id}/roles/${a}`, { method: 'DELETE' }],
      ['GET', MEMBERS, `/guilds/${guild.id}/members`],
      ['GET', MEMBER, `/guilds/${guild.id}/members/${USER}`],
      ['PUT', MEMBER_ROLE, `/guilds/${guild.id}/members/${USER}/roles/${a}`, { method: 'PUT' }],
      ['DELETE', MEMBER_ROLE, `/guilds/${guild.id}/members/${USER}/roles/${a}`, { method: 'DELETE' }],
    ];
    for (const [method, template, path, init] of missingAccess) {
      await expectSpecError(await bot(path, init), method, template, 403, 50001);
    }
    // Nothing the bot asked for changed the guild.
    expect(sandbox.roles(guild.id).map((role) => role.id)).toContain(a);
  });
});

describe("a moderator edits members' roles", () => {
  it('adds, removes and sets roles by hand over the control API; the bot sees them', async () => {
    const { guild, a, b, c } = abcGuild('Moderated');
    await addMemberRoleByHand(sandbox, guild.id, USER, a);
    await addMemberRoleByHand(sandbox, guild.id, USER, b);
    await removeMemberRoleByHand(sandbox, guild.id, USER, a);
    await removeMemberRoleByHand(sandbox, guild.id, USER, c); // not held: nothing changes
    const member = (await expectConformsToDiscordSpec(
      await bot(`/guilds/${guild.id}/members/${USER}`),
      'GET',
      MEMBER,
    )) as APIGuildMember;
    expect(member.roles).toEqual([b]);

    expect(await setMemberRolesByHand(sandbox, guild.id, USER, [c, a, c])).toEqual({ roles: [c, a], pending: false });
    expect(sandbox.memberRoles(guild.id, USER).sort()).toEqual([a, c].sort());
    expect(await setMemberRolesByHand(sandbox, guild.id, USER, [])).toEqual({ roles: [], pending: false });

    // The bot's own managed role stays on the bot whatever is set.
    expect((await setMemberRolesByHand(sandbox, guild.id, sandbox.botUserId, [a])).roles.sort()).toEqual(
      [a, guild.botRoleId].sort(),
    );

    const call = (method: string, path: string, body?: unknown) =>
      controlRequest(sandbox, path, { method, body: body === undefined ? undefined : JSON.stringify(body) });
    const stranger = '300000000000000099';
    const cases: Array<[string, string, unknown, number]> = [
      ['PUT', `/guilds/${guild.id}/members/${stranger}/roles/${a}`, undefined, 404],
      ['DELETE', `/guilds/${guild.id}/members/${stranger}/roles/${a}`, undefined, 404],
      ['PUT', `/guilds/${guild.id}/members/${USER}/roles/400000000000000001`, undefined, 404],
      ['DELETE', `/guilds/${guild.id}/members/${USER}/roles/400000000000000001`, undefined, 404],
      ['PUT', `/guilds/400000000000000001/members/${USER}/roles/${a}`, undefined, 404],
      ['PUT', `/guilds/${guild.id}/members/${stranger}`, { roles: [a] }, 404],
      ['PUT', `/guilds/${guild.id}/members/${USER}`, { roles: [a, '400000000000000001'] }, 404],
      ['PUT', `/guilds/${guild.id}/members/${USER}/roles/${guild.id}`, undefined, 400],
      ['PUT', `/guilds/${guild.id}/members/${USER}/roles/${guild.botRoleId}`, undefined, 400],
      ['PUT', `/guilds/${guild.id}/members/${USER}`, { roles: [guild.botRoleId] }, 400],
      ['PUT', `/guilds/${guild.id}/members/${USER}`, { roles: 'all' }, 400],
    ];
    for (const [method, path, body, status] of cases) {
      const res = await call(method, path, body);
      expect({ method, path, status: res.status }).toEqual({ method, path, status });
      expect(await res.json()).toEqual({ error: expect.any(String) });
    }
    expect(sandbox.memberRoles(guild.id, USER)).toEqual([]);
  });
});

describe('members in bulk', () => {
  it('creates users as needed, adds each once with the roles, and checks everything before changing anything', async () => {
    const { guild, a, b } = abcGuild('Bulk');
    const ids = consecutiveUserIds(5, 530_000_000_000_000_000n);
    expect(await addMembersInBulk(sandbox, guild.id, [...ids, ids[0] ?? ''], [a])).toEqual({
      added: 5,
      alreadyMembers: 0,
    });
    expect(sandbox.user(ids[0] ?? '')).toMatchObject({ id: ids[0], guildCount: 1 });
    // Again, with USER (already a member) and another role: added to what they hold.
    expect(await addMembersInBulk(sandbox, guild.id, [...ids.slice(0, 2), USER], [b])).toEqual({
      added: 0,
      alreadyMembers: 3,
    });
    expect(sandbox.memberRoles(guild.id, ids[0] ?? '').sort()).toEqual([a, b].sort());
    expect(sandbox.memberRoles(guild.id, ids[4] ?? '')).toEqual([a]);
    expect(sandbox.member(guild.id, ids[4] ?? '')).toEqual({ roles: [a], pending: false });

    const post = (body: unknown) =>
      controlRequest(sandbox, `/guilds/${guild.id}/members/bulk`, { method: 'POST', body: JSON.stringify(body) });
    const fresh = consecutiveUserIds(2, 540_000_000_000_000_000n);
    expect((await post({ userIds: [...fresh, 'nope'] })).status).toBe(400);
    expect((await post({ userIds: fresh, roles: [guild.id] })).status).toBe(400);
    expect((await post({ userIds: fresh, roles: ['400000000000000001'] })).status).toBe(404);
    expect((await post({ userIds: 'all' })).status).toBe(400);
    expect(
      (
        await controlRequest(sandbox, '/guilds/400000000000000001/members/bulk', {
          method: 'POST',
          body: JSON.stringify({ userIds: fresh }),
        })
      ).status,
    ).toBe(404);
    expect(fresh.map((id) => sandbox.member(guild.id, id))).toEqual([null, null]);
    expect(fresh.map((id) => sandbox.user(id))).toEqual([null, null]);
  });
});
