/**
 * The sandbox's real answers, checked against Discord's official OpenAPI description
 * (test/fixtures/discord-api-spec/openapi.json): status codes the spec documents for the route,
 * and JSON bodies that validate against the spec's response schemas.
 */
import type { Sandbox } from '../src/dev/sandbox/index.js';
import {
  botRequest,
  discordSpec,
  discordSpecSchema as schemaFor,
  expectConformsToDiscordSpec as expectConforms,
  useSandbox,
} from './helpers/sandbox.js';

const spec = discordSpec();

const MEMBER = '300000000000000001';
const PERMISSION_MANAGE_ROLES = 1n << 28n;
let sandbox: Sandbox;
let guildId: string;
let approved: string;

const bot = (path: string, init?: RequestInit) => botRequest(sandbox, path, init);

useSandbox((s) => {
  sandbox = s;
});

beforeAll(() => {
  const guild = sandbox.createGuild({ name: 'Spec Server', roles: [{ name: 'Approved' }, { name: 'Staff' }] });
  guildId = guild.id;
  approved = guild.roleIds[0] ?? '';
  sandbox.addMember(guildId, MEMBER);
});

describe('sandbox answers conform to Discord OpenAPI spec', () => {
  it('the spec is loaded and describes the routes we use', () => {
    for (const path of [
      '/guilds/{guild_id}',
      '/guilds/{guild_id}/roles',
      '/guilds/{guild_id}/members',
      '/guilds/{guild_id}/members/{user_id}',
      '/guilds/{guild_id}/members/{user_id}/roles/{role_id}',
      '/guilds/{guild_id}/roles/{role_id}',
      '/users/@me',
      '/users/@me/guilds/{guild_id}',
    ]) {
      expect(spec.paths[path]).toBeDefined();
    }
    // Add Guild Member (bot token) and GET /users/@me with a user's `identify` token, as the sandbox serves them.
    expect(spec.paths['/guilds/{guild_id}/members/{user_id}']?.put).toBeDefined();
    expect((spec.paths['/users/@me']?.get as unknown as { security: unknown }).security).toContainEqual({
      OAuth2: ['identify'],
    });
    // A validator that accepts everything would make the tests below meaningless.
    const role = schemaFor('GuildRoleResponse');
    expect(role({ id: '1', name: 'x' })).toBe(false);
    expect(role({ ...sandbox.roles(guildId)[0], permissions: 8 })).toBe(false);
  });

  it('GET /guilds/{guild_id} (with and without counts)', async () => {
    const body = (await expectConforms(await bot(`/guilds/${guildId}`), 'GET', '/guilds/{guild_id}')) as {
      id: string;
    };
    expect(body.id).toBe(guildId);
    const counted = (await expectConforms(
      await bot(`/guilds/${guildId}?with_counts=true`),
      'GET',
      '/guilds/{guild_id}',
    )) as { approximate_member_count: number };
    expect(counted.approximate_member_count).toBe(3); // owner, bot, member
  });

  it('GET and POST /guilds/{guild_id}/roles', async () => {
    const roles = (await expectConforms(
      await bot(`/guilds/${guildId}/roles`),
      'GET',
      '/guilds/{guild_id}/roles',
    )) as Array<{
      id: string;
    }>;
    expect(roles.map((role) => role.id)).toContain(guildId);

    const request = { name: 'Approved 2', permissions: 0, color: 0x2ecc71, hoist: false, mentionable: false };
    // The spec types permissions as an integer in requests; the sandbox accepts that and the string form.
    expect(schemaFor('CreateRoleRequest')(request)).toBe(true);
    const created = (await expectConforms(
      await bot(`/guilds/${guildId}/roles`, { method: 'POST', body: JSON.stringify(request) }),
      'POST',
      '/guilds/{guild_id}/roles',
    )) as { name: string; color: number; colors: { primary_color: number } };
    expect(created).toMatchObject({ name: 'Approved 2', color: 0x2ecc71, colors: { primary_color: 0x2ecc71 } });
  });

  it('GET /guilds/{guild_id}/members/{user_id}', async () => {
    const member = (await expectConforms(
      await bot(`/guilds/${guildId}/members/${MEMBER}`),
      'GET',
      '/guilds/{guild_id}/members/{user_id}',
    )) as { user: { id: string } };
    expect(member.user.id).toBe(MEMBER);
  });

  it('GET /users/@me', async () => {
    const me = (await expectConforms(await bot('/users/@me'), 'GET', '/users/@me')) as { id: string; bot: boolean };
    expect(me).toMatchObject({ id: sandbox.botUserId, bot: true });
  });

  it('PUT and DELETE member roles answer 204 with no body', async () => {
    const path = `/guilds/${guildId}/members/${MEMBER}/roles/${approved}`;
    await expectConforms(
      await bot(path, { method: 'PUT' }),
      'PUT',
      '/guilds/{guild_id}/members/{user_id}/roles/{role_id}',
    );
    await expectConforms(
      await bot(path, { method: 'DELETE' }),
      'DELETE',
      '/guilds/{guild_id}/members/{user_id}/roles/{role_id}',
    );
  });

  it('error bodies: 10007, 10011, 50013, 50035, 401, 10004, 50001', async () => {
    const memberRole = '/guilds/{guild_id}/members/{user_id}/roles/{role_id}';
    const cases: Array<[Promise<Response>, string, string, number]> = [
      [
        bot(`/guilds/${guildId}/members/300000000000000999/roles/${approved}`, { method: 'PUT' }),
        'PUT',
        memberRole,
        10007,
      ],
      [
        bot(`/guilds/${guildId}/members/${MEMBER}/roles/400000000000000001`, { method: 'PUT' }),
        'PUT',
        memberRole,
        10011,
      ],
      [
        bot(`/guilds/${guildId}/members/${MEMBER}/roles/${sandbox.createGuild({ name: 'x' }).botRoleId}`, {
          method: 'PUT',
        }),
        'PUT',
        memberRole,
        10011,
      ],
      [
        bot(`/guilds/${guildId}/roles`, { method: 'POST', body: JSON.stringify({ name: '' }) }),
        'POST',
        '/guilds/{guild_id}/roles',
        50035,
      ],
      [bot('/guilds/not-a-snowflake'), 'GET', '/guilds/{guild_id}', 50035],
      [bot('/users/@me', { headers: { authorization: 'Bot wrong' } }), 'GET', '/users/@me', 0],
      [bot('/guilds/400000000000000002'), 'GET', '/guilds/{guild_id}', 10004],
      [bot('/guilds/400000000000000002/roles'), 'GET', '/guilds/{guild_id}/roles', 50001],
      [
        bot('/users/@me/guilds/400000000000000002', { method: 'DELETE' }),
        'DELETE',
        '/users/@me/guilds/{guild_id}',
        10004,
      ],
    ];
    for (const [pending, method, path, code] of cases) {
      const body = (await expectConforms(await pending, method, path)) as { code: number };
      expect(body.code).toBe(code);
    }

    const hierarchy = sandbox.createGuild({
      name: 'Low bot',
      botRolePosition: 2,
      roles: [{ name: 'High', position: 10 }],
    });
    sandbox.addMember(hierarchy.id, MEMBER);
    const refused = (await expectConforms(
      await bot(`/guilds/${hierarchy.id}/members/${MEMBER}/roles/${hierarchy.roleIds[0]}`, { method: 'PUT' }),
      'PUT',
      memberRole,
    )) as { code: number };
    expect(refused.code).toBe(50013);
  });

  it('429 bodies (bucket and global) match RatelimitedResponse', async () => {
    sandbox.setRateLimits({ global: { limit: 2, windowMs: 1000 }, buckets: { users: { limit: 1, windowMs: 1000 } } });
    try {
      await expectConforms(await bot('/users/@me'), 'GET', '/users/@me');
      const bucket = (await expectConforms(await bot('/users/@me'), 'GET', '/users/@me')) as { global: boolean };
      expect(bucket.global).toBe(false);
      await expectConforms(await bot(`/guilds/${guildId}`), 'GET', '/guilds/{guild_id}');
      const global = (await expectConforms(
        await bot(`/guilds/${guildId}/roles`),
        'GET',
        '/guilds/{guild_id}/roles',
      )) as {
        global: boolean;
      };
      expect(global.global).toBe(true);
    } finally {
      sandbox.setRateLimits({});
    }
  });

  describe('the user flow (identify guilds.join) and Add Guild Member', () => {
    const redirectUri = 'http://127.0.0.1:9/auth/callback';
    const form = (fields: Record<string, string>) =>
      fetch(`${sandbox.apiBaseUrl}/oauth2/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${sandbox.clientId}:${sandbox.clientSecret}`).toString('base64')}`,
        },
        body: new URLSearchParams(fields),
      });
    const signIn = async (userId: string, scope?: string): Promise<{ access_token: string; scope: string }> => {
      const code = new URL(sandbox.authorizeUser({ redirectUri, state: 's', userId, scope })).searchParams.get('code');
      const res = await form({ grant_type: 'authorization_code', code: code ?? '', redirect_uri: redirectUri });
      expect(res.status).toBe(200);
      return (await res.json()) as { access_token: string; scope: string };
    };
    const addMember = (guild: string, userId: string, body: Record<string, unknown>) => {
      // What the product sends is what the spec asks for.
      const request = schemaFor('BotAddGuildMemberRequest');
      expect(request(body) ? null : request.errors).toBeNull();
      return bot(`/guilds/${guild}/members/${userId}`, { method: 'PUT', body: JSON.stringify(body) });
    };
    const ADD = '/guilds/{guild_id}/members/{user_id}';

    it('token answers grant scopes the spec knows', async () => {
      const user = sandbox.createUser();
      const tokens = await signIn(user.id, 'identify email guilds guilds.join');
      const scope = schemaFor('OAuth2Scopes');
      for (const name of tokens.scope.split(' ')) expect(scope(name) ? null : scope.errors).toBeNull();
    });

    it('GET /users/@me with a user token matches UserPIIResponse (with and without email)', async () => {
      const user = sandbox.createUser({ globalName: 'Spec User', avatar: '0123456789abcdef0123456789abcdef' });
      for (const scope of ['identify guilds.join', 'identify email']) {
        const { access_token } = await signIn(user.id, scope);
        const res = await fetch(`${sandbox.apiBaseUrl}/v10/users/@me`, {
          headers: { authorization: `Bearer ${access_token}` },
        });
        const me = (await expectConforms(res, 'GET', '/users/@me')) as { id: string };
        expect(me.id).toBe(user.id);
      }
      const refused = await fetch(`${sandbox.apiBaseUrl}/v10/users/@me`, { headers: { authorization: 'Bearer nope' } });
      expect(((await expectConforms(refused, 'GET', '/users/@me')) as { code: number }).code).toBe(0);
    });

    it('PUT /guilds/{guild_id}/members/{user_id}: 201 with the member (pending in a screening guild), then 204', async () => {
      const screening = sandbox.createGuild({ name: 'Screened', roles: [{ name: 'Approved' }] });
      sandbox.setMembershipScreening(screening.id, true);
      const user = sandbox.createUser();
      const { access_token } = await signIn(user.id);
      const body = { access_token, roles: [screening.roleIds[0] ?? ''] };
      const member = (await expectConforms(await addMember(screening.id, user.id, body), 'PUT', ADD)) as {
        pending: boolean;
        roles: string[];
      };
      expect(member).toMatchObject({ pending: true, roles: body.roles });
      expect(await expectConforms(await addMember(screening.id, user.id, body), 'PUT', ADD)).toBeUndefined();

      const pending = (await expectConforms(
        await bot(`/guilds/${screening.id}/members/${user.id}`),
        'GET',
        '/guilds/{guild_id}/members/{user_id}',
      )) as { pending: boolean };
      expect(pending.pending).toBe(true);
      sandbox.acceptRules(screening.id, user.id);
      const accepted = (await expectConforms(
        await bot(`/guilds/${screening.id}/members/${user.id}`),
        'GET',
        '/guilds/{guild_id}/members/{user_id}',
      )) as { pending: boolean };
      expect(accepted.pending).toBe(false);
      const guild = (await expectConforms(await bot(`/guilds/${screening.id}`), 'GET', '/guilds/{guild_id}')) as {
        features: string[];
      };
      expect(guild.features).toEqual(['MEMBER_VERIFICATION_GATE_ENABLED']);
    });

    it('error bodies: 50025, 50026, 50013, 30001, 10004, 10011, 50035', async () => {
      const user = sandbox.createUser();
      const { access_token } = await signIn(user.id);
      const identifyOnly = (await signIn(user.id, 'identify')).access_token;
      const full = sandbox.createUser({ guildCount: 100 });
      const fullToken = (await signIn(full.id)).access_token;
      const noInvite = sandbox.createGuild({ name: 'No invites', botPermissions: PERMISSION_MANAGE_ROLES });
      const cases: Array<[Promise<Response>, number]> = [
        [addMember(guildId, user.id, { access_token: 'nope' }), 50025],
        [addMember(guildId, user.id, { access_token: identifyOnly }), 50026],
        [addMember(noInvite.id, user.id, { access_token }), 50013],
        [addMember(guildId, full.id, { access_token: fullToken }), 30001],
        [addMember('400000000000000003', user.id, { access_token }), 10004],
        [addMember(guildId, user.id, { access_token, roles: ['400000000000000004'] }), 10011],
        [bot(`/guilds/${guildId}/members/${user.id}`, { method: 'PUT', body: '{}' }), 50035],
      ];
      for (const [pending, code] of cases) {
        const body = (await expectConforms(await pending, 'PUT', ADD)) as { code: number };
        expect(body.code).toBe(code);
      }
    });
  });

  it('the token exchange guild matches GuildResponse', async () => {
    const redirectUri = 'http://127.0.0.1:9/callback';
    const code = new URL(
      sandbox.authorize({ redirectUri, state: 's', guildId, permissions: '268435456' }),
    ).searchParams.get('code');
    const res = await fetch(`${sandbox.apiBaseUrl}/oauth2/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${sandbox.clientId}:${sandbox.clientSecret}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: code ?? '', redirect_uri: redirectUri }),
    });
    expect(res.status).toBe(200);
    const { guild } = (await res.json()) as { guild: unknown };
    const validate = schemaFor('GuildResponse');
    expect(validate(guild) ? null : validate.errors).toBeNull();
  });
});
