import { PermissionFlagsBits } from 'discord-api-types/v10';
import {
  DEMO_MEMBER_IDS,
  DEMO_NEWCOMERS,
  startSandbox,
  type Sandbox,
  type SandboxGuild,
} from '../src/dev/sandbox/index.js';
import { basicAuth, botRequest, expectDiscordError, useSandbox } from './helpers/sandbox.js';

const MANAGE_ROLES = PermissionFlagsBits.ManageRoles;
const MEMBER = '300000000000000001';
const STRANGER = '300000000000000002';
const REDIRECT = 'http://127.0.0.1:9/api/discord/bot-callback';

let sandbox: Sandbox;

useSandbox((s) => {
  sandbox = s;
});

const bot = (path: string, init?: RequestInit) => botRequest(sandbox, path, init);

function guildWithApproved(opts: { botPermissions?: bigint } = {}): { guild: SandboxGuild; approved: string } {
  const guild = sandbox.createGuild({ name: 'Test Server', roles: [{ name: 'Approved' }], ...opts });
  sandbox.addMember(guild.id, MEMBER);
  const approved = guild.roleIds[0];
  if (!approved) throw new Error('no Approved role');
  return { guild, approved };
}

function form(fields: Record<string, string>): URLSearchParams {
  return new URLSearchParams(fields);
}

async function exchange(code: string, init: { auth?: string; extra?: Record<string, string> } = {}): Promise<Response> {
  return fetch(`${sandbox.apiBaseUrl}/oauth2/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: init.auth ?? basicAuth(sandbox.clientId, sandbox.clientSecret),
    },
    body: form({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, ...init.extra }),
  });
}

describe('OAuth2 bot flow', () => {
  it('renders an accessible pick-a-server page without scripts or external assets', async () => {
    const guild = sandbox.createGuild({ name: 'Page <Server>', botInstalled: false });
    const url = new URL(sandbox.authorizeUrl);
    url.search = form({
      client_id: sandbox.clientId,
      scope: 'bot',
      permissions: '268435456',
      response_type: 'code',
      redirect_uri: REDIRECT,
      state: 'st"ate',
    }).toString();
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain(`<input type="radio" id="guild-${guild.id}" name="guild_id" value="${guild.id}"`);
    expect(html).toContain(`<label for="guild-${guild.id}">Page &#60;Server&#62;</label>`);
    expect(html).toMatch(/<button type="submit" name="action" value="authorize"[^>]*>Authorize<\/button>/);
    expect(html).toMatch(/<button type="submit" name="action" value="cancel"[^>]*>Cancel<\/button>/);
    expect(html).toContain('value="st&#34;ate"');
    expect(html).not.toMatch(/<script|<link|src=|https?:\/\/(?!127\.0\.0\.1)/);
  });

  it('refuses an unknown client_id or a missing redirect_uri with a 400 page', async () => {
    const unknown = await fetch(`${sandbox.authorizeUrl}?client_id=123&scope=bot&redirect_uri=${REDIRECT}`);
    expect(unknown.status).toBe(400);
    expect(await unknown.text()).toContain('Unknown Application');
    const missing = await fetch(`${sandbox.authorizeUrl}?client_id=${sandbox.clientId}&scope=bot`);
    expect(missing.status).toBe(400);
  });

  it('installs the bot with a managed top role and redirects with code, state, guild_id, permissions', async () => {
    const guild = sandbox.createGuild({
      name: 'Form Server',
      botInstalled: false,
      roles: [{ name: 'A' }, { name: 'B' }],
    });
    const res = await fetch(sandbox.authorizeUrl, {
      method: 'POST',
      redirect: 'manual',
      body: form({
        client_id: sandbox.clientId,
        redirect_uri: REDIRECT,
        state: 's1',
        permissions: '268435456',
        scope: 'bot',
        response_type: 'code',
        guild_id: guild.id,
        action: 'authorize',
      }),
    });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location') ?? '');
    expect(`${location.origin}${location.pathname}`).toBe(REDIRECT);
    expect(location.searchParams.get('state')).toBe('s1');
    expect(location.searchParams.get('guild_id')).toBe(guild.id);
    expect(location.searchParams.get('permissions')).toBe('268435456');
    expect(location.searchParams.get('code')).toMatch(/^[\w-]{10,}$/);

    const roles = sandbox.roles(guild.id);
    const botRole = roles.find((role) => role.managed);
    expect(botRole).toMatchObject({ permissions: '268435456', tags: { bot_id: sandbox.botUserId } });
    expect(Math.max(...roles.map((role) => role.position))).toBe(botRole?.position);
  });

  it('gives the bot role what the invite asks for: 268435457 is Manage Roles + Create Instant Invite', async () => {
    const guild = sandbox.createGuild({ name: 'Invite Server', botInstalled: false });
    const redirect = new URL(
      sandbox.authorize({ redirectUri: REDIRECT, state: 's', guildId: guild.id, permissions: '268435457' }),
    );
    expect(redirect.searchParams.get('permissions')).toBe('268435457');
    const botRole = sandbox.roles(guild.id).find((role) => role.managed);
    expect(botRole?.permissions).toBe(String(MANAGE_ROLES | PermissionFlagsBits.CreateInstantInvite));
    // Guilds created with the bot installed get the same by default; @everyone has neither permission.
    const roles = sandbox.roles(sandbox.createGuild({ name: 'Default Bot' }).id);
    expect(roles.find((role) => role.managed)?.permissions).toBe('268435457');
    const everyone = BigInt(roles.find((role) => role.name === '@everyone')?.permissions ?? '0');
    expect(everyone & (MANAGE_ROLES | PermissionFlagsBits.CreateInstantInvite)).toBe(0n);
  });

  it('redirects Cancel with error=access_denied and the state', async () => {
    const res = await fetch(sandbox.authorizeUrl, {
      method: 'POST',
      redirect: 'manual',
      body: form({ client_id: sandbox.clientId, redirect_uri: REDIRECT, state: 's2', action: 'cancel' }),
    });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location') ?? '');
    expect(location.searchParams.get('error')).toBe('access_denied');
    expect(location.searchParams.get('error_description')).toBeTruthy();
    expect(location.searchParams.get('state')).toBe('s2');
    expect(location.searchParams.has('code')).toBe(false);
    expect(sandbox.authorize({ redirectUri: REDIRECT, state: 'x', deny: true })).toContain('error=access_denied');
  });

  it('exchanges a code once, form-encoded only, and answers the guild with its roles', async () => {
    const guild = sandbox.createGuild({ name: 'Token Server', botInstalled: false, roles: [{ name: 'Approved' }] });
    const redirect = new URL(
      sandbox.authorize({ redirectUri: REDIRECT, state: 's', guildId: guild.id, permissions: '268435456' }),
    );
    const code = redirect.searchParams.get('code') ?? '';

    const asJson = await fetch(`${sandbox.apiBaseUrl}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basicAuth(sandbox.clientId, sandbox.clientSecret) },
      body: JSON.stringify({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT }),
    });
    expect(asJson.status).toBe(400);
    expect(await asJson.json()).toMatchObject({ error: 'invalid_request' });

    const badSecret = await exchange(code, { auth: basicAuth(sandbox.clientId, 'wrong') });
    expect(badSecret.status).toBe(401);
    expect(await badSecret.json()).toEqual({ error: 'invalid_client' });

    // The failed attempts above spent the code (single use): get a fresh one.
    const fresh = new URL(sandbox.authorize({ redirectUri: REDIRECT, state: 's', guildId: guild.id }));
    const freshCode = fresh.searchParams.get('code') ?? '';
    const ok = await exchange(freshCode);
    expect(ok.status).toBe(200);
    const body = (await ok.json()) as Record<string, unknown> & {
      guild: { id: string; roles: Array<{ name: string }> };
    };
    expect(body).toMatchObject({ token_type: 'Bearer', scope: 'bot' });
    expect(typeof body.access_token).toBe('string');
    expect(typeof body.refresh_token).toBe('string');
    expect(typeof body.expires_in).toBe('number');
    expect(body.guild.id).toBe(guild.id);
    expect(body.guild.roles.map((role) => role.name)).toEqual(expect.arrayContaining(['@everyone', 'Approved']));

    const reuse = await exchange(freshCode);
    expect(reuse.status).toBe(400);
    expect(await reuse.json()).toEqual({ error: 'invalid_grant', error_description: 'Invalid "code" in request.' });
  });

  it('accepts client credentials in the form and on the /api/v10 path, and checks redirect_uri', async () => {
    const guild = sandbox.createGuild({ name: 'Form Creds' });
    const code = () =>
      new URL(sandbox.authorize({ redirectUri: REDIRECT, state: 's', guildId: guild.id })).searchParams.get('code') ??
      '';
    const viaForm = await fetch(`${sandbox.apiBaseUrl}/v10/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form({
        grant_type: 'authorization_code',
        code: code(),
        redirect_uri: REDIRECT,
        client_id: sandbox.clientId,
        client_secret: sandbox.clientSecret,
      }),
    });
    expect(viaForm.status).toBe(200);

    const mismatch = await exchange(code(), { extra: { redirect_uri: 'http://127.0.0.1:9/elsewhere' } });
    expect(mismatch.status).toBe(400);
    expect(await mismatch.json()).toMatchObject({ error: 'invalid_grant' });

    const unknown = await exchange('not-a-code');
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('expires codes after codeTtlMs', async () => {
    const short = await startSandbox({ codeTtlMs: 50 });
    try {
      const guild = short.createGuild({ name: 'Short' });
      const code = new URL(short.authorize({ redirectUri: REDIRECT, state: 's', guildId: guild.id })).searchParams.get(
        'code',
      );
      await new Promise((resolve) => setTimeout(resolve, 120));
      const res = await fetch(`${short.apiBaseUrl}/oauth2/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: basicAuth(short.clientId, short.clientSecret),
        },
        body: form({ grant_type: 'authorization_code', code: code ?? '', redirect_uri: REDIRECT }),
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: 'invalid_grant' });
    } finally {
      await short.close();
    }
  });
});

describe('REST routes', () => {
  it('requires the bot token: 401 {"message":"401: Unauthorized","code":0}', async () => {
    const guild = sandbox.createGuild({ name: 'Auth' });
    const res = await bot(`/guilds/${guild.id}`, { headers: { authorization: 'Bot nope' } });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ message: '401: Unauthorized', code: 0 });
    const none = await fetch(`${sandbox.apiBaseUrl}/v10/users/@me`);
    expect(none.status).toBe(401);
  });

  it('grants and removes a role with 204 and an empty body, recording the decoded audit-log reason', async () => {
    const { guild, approved } = guildWithApproved();
    const reason = 'Application 42 approved by Zoë';
    const put = await bot(`/guilds/${guild.id}/members/${MEMBER}/roles/${approved}`, {
      method: 'PUT',
      headers: { 'x-audit-log-reason': encodeURIComponent(reason) },
    });
    expect(put.status).toBe(204);
    expect(await put.text()).toBe('');
    expect(sandbox.memberRoles(guild.id, MEMBER)).toEqual([approved]);
    expect(sandbox.stats().auditLogReasons).toEqual([reason]);
    expect(sandbox.stats().memberRoleAdds).toEqual([
      { guildId: guild.id, userId: MEMBER, roleId: approved, at: expect.any(Number) },
    ]);

    const member = await bot(`/guilds/${guild.id}/members/${MEMBER}`);
    expect(member.status).toBe(200);
    expect(((await member.json()) as { roles: string[] }).roles).toEqual([approved]);

    const del = await bot(`/guilds/${guild.id}/members/${MEMBER}/roles/${approved}`, { method: 'DELETE' });
    expect(del.status).toBe(204);
    expect(await del.text()).toBe('');
    expect(sandbox.memberRoles(guild.id, MEMBER)).toEqual([]);
  });

  it('answers 10007 for a user who is not a member and 10011 for an unknown role or @everyone', async () => {
    const { guild, approved } = guildWithApproved();
    await expectDiscordError(
      await bot(`/guilds/${guild.id}/members/${STRANGER}/roles/${approved}`, { method: 'PUT' }),
      404,
      10007,
    );
    await expectDiscordError(await bot(`/guilds/${guild.id}/members/${STRANGER}`), 404, 10007);
    await expectDiscordError(
      await bot(`/guilds/${guild.id}/members/${MEMBER}/roles/400000000000000009`, { method: 'PUT' }),
      404,
      10011,
    );
    await expectDiscordError(
      await bot(`/guilds/${guild.id}/members/${MEMBER}/roles/${guild.id}`, { method: 'PUT' }),
      404,
      10011,
    );
    sandbox.removeMember(guild.id, MEMBER);
    await expectDiscordError(
      await bot(`/guilds/${guild.id}/members/${MEMBER}/roles/${approved}`, { method: 'PUT' }),
      404,
      10007,
    );
  });

  it('enforces Manage Roles and the role hierarchy with 403 50013', async () => {
    const guild = sandbox.createGuild({
      name: 'Hierarchy',
      botPermissions: 0n,
      roles: [{ name: 'Approved', position: 5 }],
    });
    sandbox.addMember(guild.id, MEMBER);
    const approved = guild.roleIds[0] ?? '';
    const path = `/guilds/${guild.id}/members/${MEMBER}/roles/${approved}`;
    await expectDiscordError(await bot(path, { method: 'PUT' }), 403, 50013);
    const createRole = () =>
      bot(`/guilds/${guild.id}/roles`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    await expectDiscordError(await createRole(), 403, 50013);

    sandbox.setBotPermissions(guild.id, MANAGE_ROLES);
    sandbox.setBotRolePosition(guild.id, 5); // same height: not below the bot, so refused
    await expectDiscordError(await bot(path, { method: 'PUT' }), 403, 50013);
    sandbox.setBotRolePosition(guild.id, 3); // below Approved
    await expectDiscordError(await bot(path, { method: 'PUT' }), 403, 50013);

    // Administrator instead of Manage Roles is enough, but not above the bot's own role.
    sandbox.setBotPermissions(guild.id, PermissionFlagsBits.Administrator);
    await expectDiscordError(await bot(path, { method: 'PUT' }), 403, 50013);
    sandbox.setBotRolePosition(guild.id, 6);
    expect((await bot(path, { method: 'PUT' })).status).toBe(204);
    expect(sandbox.memberRoles(guild.id, MEMBER)).toEqual([approved]);
    expect((await createRole()).status).toBe(200);
  });

  it('refuses to grant a managed role (another bot role)', async () => {
    const { guild } = guildWithApproved();
    const botRole = guild.botRoleId ?? '';
    sandbox.setBotRolePosition(guild.id, 100);
    await expectDiscordError(
      await bot(`/guilds/${guild.id}/members/${MEMBER}/roles/${botRole}`, { method: 'PUT' }),
      403,
      50013,
    );
  });

  it('answers 10004 for GET guild and 50001 elsewhere once the bot is gone, and lets the bot leave', async () => {
    const { guild, approved } = guildWithApproved();
    expect((await bot(`/guilds/${guild.id}`)).status).toBe(200);
    const leave = await bot(`/users/@me/guilds/${guild.id}`, { method: 'DELETE' });
    expect(leave.status).toBe(204);
    expect(await leave.text()).toBe('');
    expect(sandbox.roles(guild.id).some((role) => role.managed)).toBe(false);

    await expectDiscordError(await bot(`/guilds/${guild.id}`), 404, 10004);
    await expectDiscordError(await bot(`/guilds/${guild.id}/roles`), 403, 50001);
    await expectDiscordError(await bot(`/guilds/${guild.id}/members/${MEMBER}`), 403, 50001);
    await expectDiscordError(
      await bot(`/guilds/${guild.id}/members/${MEMBER}/roles/${approved}`, { method: 'PUT' }),
      403,
      50001,
    );
    await expectDiscordError(await bot(`/users/@me/guilds/${guild.id}`, { method: 'DELETE' }), 404, 10004);
    await expectDiscordError(await bot('/guilds/400000000000000001'), 404, 10004);
    await expectDiscordError(await bot('/guilds/400000000000000001/roles'), 403, 50001);
  });

  it('validates snowflakes and role bodies with 50035 and an errors tree', async () => {
    const { guild } = guildWithApproved();
    const bad = await expectDiscordError(await bot('/guilds/abc'), 400, 50035);
    expect(bad.errors).toEqual({
      guild_id: { _errors: [{ code: 'NUMBER_TYPE_COERCE', message: 'Value "abc" is not snowflake.' }] },
    });
    await expectDiscordError(await bot(`/guilds/${guild.id}/members/0123/roles/1`, { method: 'PUT' }), 400, 50035);

    const long = await bot(`/guilds/${guild.id}/roles`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'x'.repeat(101) }),
    });
    const body = await expectDiscordError(long, 400, 50035);
    expect(body).toMatchObject({
      message: 'Invalid Form Body',
      errors: { name: { _errors: [{ code: 'BASE_TYPE_BAD_LENGTH' }] } },
    });

    const color = await bot(`/guilds/${guild.id}/roles`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'ok', color: 0x1000000 }),
    });
    await expectDiscordError(color, 400, 50035);
    const invalidJson = await bot(`/guilds/${guild.id}/roles`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"name":',
    });
    await expectDiscordError(invalidJson, 400, 50109);
  });

  it('creates roles at position 1 and stops at 250 roles with 30005', async () => {
    const names = Array.from({ length: 246 }, (_, i) => ({ name: `r${i}` }));
    const guild = sandbox.createGuild({ name: 'Full', roles: names });
    expect(sandbox.roles(guild.id)).toHaveLength(248); // + @everyone + the bot's role
    const create = (name: string) =>
      bot(`/guilds/${guild.id}/roles`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-audit-log-reason': encodeURIComponent('create') },
        body: JSON.stringify({ name, permissions: '0', color: 0, hoist: false, mentionable: false }),
      });
    const first = await create('Approved');
    expect(first.status).toBe(200);
    const role = (await first.json()) as { name: string; position: number; permissions: string; managed: boolean };
    expect(role).toMatchObject({ name: 'Approved', position: 1, permissions: '0', managed: false });
    expect((await create('Approved')).status).toBe(200); // Discord allows duplicate names: 250 now
    await expectDiscordError(await create('Approved'), 400, 30005);
    expect(sandbox.roles(guild.id)).toHaveLength(250);
    expect(sandbox.stats().rolesCreated).toBe(2);
    expect(sandbox.roles(guild.id).filter((r) => r.name === 'Approved')).toHaveLength(2);
  });

  it('refuses to create a role with permissions the bot does not have', async () => {
    const { guild } = guildWithApproved();
    const res = await bot(`/guilds/${guild.id}/roles`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Admin', permissions: String(PermissionFlagsBits.Administrator) }),
    });
    await expectDiscordError(res, 403, 50013);
  });

  it('answers unknown routes with 404 and wrong methods with 405, as JSON', async () => {
    await expectDiscordError(await bot('/nothing/here'), 404, 0);
    await expectDiscordError(await bot('/users/@me', { method: 'DELETE' }), 405, 0);
  });
});

describe('rate limits', () => {
  it('sends truthful bucket headers per guild and 429s with Retry-After when the bucket is empty', async () => {
    // A window far longer than the test takes, however loaded the machine: the bounds below follow it.
    sandbox.setRateLimits({ buckets: { memberRoles: { limit: 2, windowMs: 60_000 } } });
    const { guild, approved } = guildWithApproved();
    const other = guildWithApproved();
    const path = `/guilds/${guild.id}/members/${MEMBER}/roles/${approved}`;
    const before = Date.now() / 1000;

    const first = await bot(path, { method: 'PUT' });
    expect(first.status).toBe(204);
    expect(first.headers.get('x-ratelimit-limit')).toBe('2');
    expect(first.headers.get('x-ratelimit-remaining')).toBe('1');
    const reset = Number(first.headers.get('x-ratelimit-reset'));
    expect(reset).toBeGreaterThanOrEqual(before + 59.9);
    expect(reset).toBeLessThanOrEqual(Date.now() / 1000 + 60.01);
    const resetAfter = Number(first.headers.get('x-ratelimit-reset-after'));
    expect(resetAfter).toBeGreaterThan(30);
    expect(resetAfter).toBeLessThanOrEqual(60);
    const bucket = first.headers.get('x-ratelimit-bucket');
    expect(bucket).toMatch(/^[0-9a-f]{32}$/);

    const second = await bot(path, { method: 'DELETE' });
    expect(second.status).toBe(204);
    expect(second.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(second.headers.get('x-ratelimit-bucket')).toBe(bucket);

    const third = await bot(path, { method: 'PUT' });
    expect(third.status).toBe(429);
    expect(third.headers.get('content-type')).toMatch(/^application\/json/);
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(third.headers.get('x-ratelimit-scope')).toBe('user');
    expect(third.headers.get('x-ratelimit-global')).toBeNull();
    const body = (await third.json()) as { message: string; retry_after: number; global: boolean };
    expect(body.message).toBe('You are being rate limited.');
    expect(body.global).toBe(false);
    expect(body.retry_after).toBeGreaterThan(30);
    expect(body.retry_after).toBeLessThanOrEqual(60);
    expect(sandbox.memberRoles(guild.id, MEMBER)).toEqual([]); // the refused PUT did nothing

    // Another guild has its own bucket.
    const elsewhere = await bot(`/guilds/${other.guild.id}/members/${MEMBER}/roles/${other.approved}`, {
      method: 'PUT',
    });
    expect(elsewhere.status).toBe(204);
    expect(elsewhere.headers.get('x-ratelimit-remaining')).toBe('1');

    const stats = sandbox.stats();
    expect(stats.rateLimited).toBe(1);
    expect(stats.byRoute['PUT /guilds/:guildId/members/:userId/roles/:roleId']).toEqual({
      requests: 3,
      rateLimited: 1,
    });
  });

  it('applies the global limit across routes with X-RateLimit-Global and scope global', async () => {
    sandbox.setRateLimits({ global: { limit: 3, windowMs: 60_000 } });
    const { guild } = guildWithApproved();
    for (const path of [`/guilds/${guild.id}`, `/guilds/${guild.id}/roles`, '/users/@me']) {
      expect((await bot(path)).status).toBe(200);
    }
    const limited = await bot(`/guilds/${guild.id}/members/${MEMBER}`);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('x-ratelimit-global')).toBe('true');
    expect(limited.headers.get('x-ratelimit-scope')).toBe('global');
    // Whole seconds, rounded up, of the window's remaining time.
    const body = (await limited.json()) as { global: boolean; retry_after: number };
    expect(Number(limited.headers.get('retry-after'))).toBe(Math.ceil(body.retry_after));
    expect(body.global).toBe(true);
    expect(body.retry_after).toBeGreaterThan(30);
    expect(body.retry_after).toBeLessThanOrEqual(60);
    expect(sandbox.stats().rateLimited).toBe(1);
  });

  it('defaults to a global limit of 50 requests per second', async () => {
    // The limiter's clock stands still while the 55 requests arrive, so they share one window
    // however long this machine takes to send them; then it moves on by one second.
    let now = Date.now();
    const frozen = await startSandbox({ rateLimitClock: () => now });
    try {
      const results = await Promise.all(Array.from({ length: 55 }, () => botRequest(frozen, '/users/@me')));
      const statuses = results.map((res) => res.status);
      expect(statuses.filter((s) => s === 200).length).toBe(50);
      expect(statuses.filter((s) => s === 429).length).toBe(5);
      now += 999;
      expect((await botRequest(frozen, '/users/@me')).status).toBe(429);
      now += 1;
      expect((await botRequest(frozen, '/users/@me')).status).toBe(200);
    } finally {
      await frozen.close();
    }
  });
});

describe('faults', () => {
  it('forces a 500 with a Discord-like JSON body, a limited number of times', async () => {
    const { guild } = guildWithApproved();
    sandbox.faults.add({ route: 'GET /guilds/:guildId', status: 500, times: 2 });
    for (let i = 0; i < 2; i += 1) {
      const res = await bot(`/guilds/${guild.id}`);
      expect(res.status).toBe(500);
      expect(await res.json()).toEqual({ message: '500: Internal Server Error', code: 0 });
    }
    expect((await bot(`/guilds/${guild.id}`)).status).toBe(200);
  });

  it('forces Discord error codes with their usual status', async () => {
    const { guild, approved } = guildWithApproved();
    sandbox.faults.add({ method: 'PUT', route: '/api/v10/guilds/:guildId/members/:userId/roles/:roleId', code: 10013 });
    const res = await bot(`/guilds/${guild.id}/members/${MEMBER}/roles/${approved}`, { method: 'PUT' });
    expect(await expectDiscordError(res, 404, 10013)).toMatchObject({ message: 'Unknown User' });
    // Only PUT is affected.
    expect((await bot(`/guilds/${guild.id}/members/${MEMBER}/roles/${approved}`, { method: 'DELETE' })).status).toBe(
      204,
    );
  });

  it('adds latency', async () => {
    sandbox.faults.add({ route: /^GET \/users\/@me$/, latencyMs: 300, times: 1 });
    const started = Date.now();
    expect((await bot('/users/@me')).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('hangs until the client gives up', async () => {
    const { guild } = guildWithApproved();
    sandbox.faults.add({ route: `GET /guilds/${guild.id}`, hang: true, times: 1 });
    const started = Date.now();
    await expect(bot(`/guilds/${guild.id}`, { signal: AbortSignal.timeout(200) })).rejects.toMatchObject({
      name: 'TimeoutError',
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect((await bot(`/guilds/${guild.id}`)).status).toBe(200);
  });

  it('forces a 429 storm with retry_after', async () => {
    sandbox.faults.add({ route: 'GET /users/@me', rateLimit: { retryAfterMs: 1500 }, times: 3 });
    for (let i = 0; i < 3; i += 1) {
      const res = await bot('/users/@me');
      expect(res.status).toBe(429);
      expect(res.headers.get('retry-after')).toBe('2');
      expect(await res.json()).toMatchObject({ retry_after: 1.5, global: false });
    }
    expect((await bot('/users/@me')).status).toBe(200);
    expect(sandbox.stats().rateLimited).toBe(3);
  });
});

describe('control API', () => {
  it('adds and removes members, injects faults and reports state and stats over HTTP', async () => {
    const { guild, approved } = guildWithApproved();
    const control = (path: string, init: RequestInit = {}) =>
      fetch(`${sandbox.url}/_sandbox${path}`, { ...init, headers: { 'content-type': 'application/json' } });

    expect(
      (await control(`/guilds/${guild.id}/members`, { method: 'POST', body: JSON.stringify({ userId: STRANGER }) }))
        .status,
    ).toBe(204);
    expect((await bot(`/guilds/${guild.id}/members/${STRANGER}/roles/${approved}`, { method: 'PUT' })).status).toBe(
      204,
    );

    const state = (await (await control('/state')).json()) as {
      guilds: Array<{ id: string; members: Array<{ userId: string; roles: string[] }> }>;
    };
    const members = state.guilds.find((g) => g.id === guild.id)?.members ?? [];
    expect(members).toContainEqual({ userId: STRANGER, roles: [approved], pending: false });

    expect((await control(`/guilds/${guild.id}/members/${STRANGER}`, { method: 'DELETE' })).status).toBe(204);
    await expectDiscordError(await bot(`/guilds/${guild.id}/members/${STRANGER}`), 404, 10007);

    expect(
      (await control('/faults', { method: 'POST', body: JSON.stringify({ route: 'GET /users/@me', status: 503 }) }))
        .status,
    ).toBe(204);
    expect((await bot('/users/@me')).status).toBe(503);
    expect((await control('/faults', { method: 'DELETE' })).status).toBe(204);
    expect((await bot('/users/@me')).status).toBe(200);

    const stats = (await (await control('/stats')).json()) as { requests: number; memberRoleAdds: unknown[] };
    expect(stats.requests).toBe(4); // PUT, GET member, and two GET @me: control calls are not counted
    expect(stats.memberRoleAdds).toHaveLength(1);
  });

  it('seeds a demo guild, and demo newcomers who are not members yet', async () => {
    const demo = await startSandbox({ seedDemoGuild: true });
    try {
      const state = (await (await fetch(`${demo.url}/_sandbox/state`)).json()) as {
        guilds: Array<{ id: string; name: string; botInstalled: boolean; members: Array<{ userId: string }> }>;
        users: Array<{ id: string; username: string }>;
      };
      expect(state.guilds).toHaveLength(1);
      expect(state.guilds[0]).toMatchObject({ name: 'Demo Server', botInstalled: true });
      const members = state.guilds[0]?.members.map((member) => member.userId) ?? [];
      expect(members).toEqual(expect.arrayContaining([...DEMO_MEMBER_IDS]));
      for (const newcomer of DEMO_NEWCOMERS) {
        expect(members).not.toContain(newcomer.id);
        expect(demo.user(newcomer.id)).toMatchObject({ username: newcomer.username, globalName: newcomer.globalName });
      }
      expect(state.users.map((user) => user.id)).toEqual(expect.arrayContaining(DEMO_NEWCOMERS.map((n) => n.id)));
    } finally {
      await demo.close();
    }
  });
});
