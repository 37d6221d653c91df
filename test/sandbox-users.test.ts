/**
 * The sandbox playing Discord's side of signing in with Discord (`identify guilds.join`) and of
 * adding an approved applicant to the server with the role in one call (Add Guild Member), with
 * Membership Screening.
 */
import { PermissionFlagsBits } from 'discord-api-types/v10';
import { startSandbox, type Sandbox, type SandboxGuild } from '../src/dev/sandbox/index.js';
import { basicAuth, botRequest, expectDiscordError, useSandbox } from './helpers/sandbox.js';

const REDIRECT = 'http://127.0.0.1:9/api/auth/discord/callback';
const MANAGE_ROLES = PermissionFlagsBits.ManageRoles;
const INVITE = PermissionFlagsBits.CreateInstantInvite;

let sandbox: Sandbox;

useSandbox((s) => {
  sandbox = s;
});

interface Tokens {
  access_token: string;
  token_type: string;
  expires_in: number;
  refresh_token: string;
  scope: string;
}

const bot = (path: string, init?: RequestInit) => botRequest(sandbox, path, init);

const basic = (id = sandbox.clientId, secret = sandbox.clientSecret) => basicAuth(id, secret);

/** A form POST to an OAuth2 endpoint (`/api/oauth2/...`), client credentials by HTTP Basic unless given. */
function oauthPost(path: string, fields: Record<string, string>, auth: string | null = basic()): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (auth) headers.authorization = auth;
  return fetch(`${sandbox.apiBaseUrl}${path}`, { method: 'POST', headers, body: new URLSearchParams(fields) });
}

function codeOf(redirect: string): string {
  return new URL(redirect).searchParams.get('code') ?? '';
}

function exchange(code: string, redirectUri = REDIRECT): Promise<Response> {
  return oauthPost('/oauth2/token', { grant_type: 'authorization_code', code, redirect_uri: redirectUri });
}

/** Signs the user in (simulated authorize + code exchange) and answers their tokens. */
async function signIn(userId: string, scope?: string): Promise<Tokens> {
  const res = await exchange(codeOf(sandbox.authorizeUser({ redirectUri: REDIRECT, state: 's', userId, scope })));
  expect(res.status).toBe(200);
  return (await res.json()) as Tokens;
}

function me(accessToken: string): Promise<Response> {
  return fetch(`${sandbox.apiBaseUrl}/v10/users/@me`, { headers: { authorization: `Bearer ${accessToken}` } });
}

function addMember(guildId: string, userId: string, body: Record<string, unknown>): Promise<Response> {
  return bot(`/guilds/${guildId}/members/${userId}`, { method: 'PUT', body: JSON.stringify(body) });
}

function approvedGuild(opts: { botPermissions?: bigint; botRolePosition?: number } = {}): {
  guild: SandboxGuild;
  approved: string;
} {
  const guild = sandbox.createGuild({ name: 'Club', roles: [{ name: 'Approved' }], ...opts });
  return { guild, approved: guild.roleIds[0] ?? '' };
}

function authorizePageUrl(params: Record<string, string>): URL {
  const url = new URL(sandbox.authorizeUrl);
  url.search = new URLSearchParams({
    client_id: sandbox.clientId,
    response_type: 'code',
    scope: 'identify guilds.join',
    redirect_uri: REDIRECT,
    state: 'st',
    prompt: 'consent',
    ...params,
  }).toString();
  return url;
}

function postAuthorize(fields: Record<string, string>): Promise<Response> {
  return fetch(sandbox.authorizeUrl, {
    method: 'POST',
    redirect: 'manual',
    body: new URLSearchParams({
      client_id: sandbox.clientId,
      redirect_uri: REDIRECT,
      state: 'st',
      scope: 'identify guilds.join',
      response_type: 'code',
      prompt: 'consent',
      ...fields,
    }),
  });
}

describe('user authorize page (identify guilds.join)', () => {
  it('shows who signs in: the sandbox users, escaped, and a new-user option, without scripts or external assets', async () => {
    const user = sandbox.createUser({ username: 'page.user', globalName: 'Zoë <b>' });
    const res = await fetch(authorizePageUrl({ state: 'st"ate' }));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain(`<input type="radio" id="user-${user.id}" name="user_id" value="${user.id}"`);
    expect(html).toContain(`<label for="user-${user.id}">Zoë &#60;b&#62; (@page.user)</label>`);
    expect(html).toMatch(/<input type="radio" id="user-new" name="user_id" value="new"/);
    expect(html).toMatch(/<input type="text" id="new-username" name="new_username"/);
    expect(html).toMatch(/<input type="text" id="new-global-name" name="new_global_name"/);
    expect(html).toContain('<code>guilds.join</code>');
    expect(html).toContain('value="st&#34;ate"');
    expect(html).toContain('<input type="hidden" name="prompt" value="consent">');
    expect(html).not.toContain('name="guild_id"'); // no server picker without `bot`
    expect(html).toMatch(/<button type="submit" name="action" value="authorize"[^>]*>Authorize<\/button>/);
    expect(html).toMatch(/<button type="submit" name="action" value="cancel"[^>]*>Cancel<\/button>/);
    expect(html).not.toMatch(/<script|<link|src=|https?:\/\/(?!127\.0\.0\.1)/);
    // `identify` alone is a user sign-in too.
    expect((await fetch(authorizePageUrl({ scope: 'identify' }))).status).toBe(200);
  });

  it('refuses unknown scopes and a missing response_type with a 400 page', async () => {
    const badScope = await fetch(authorizePageUrl({ scope: 'identify admin.everything' }));
    expect(badScope.status).toBe(400);
    expect(await badScope.text()).toContain('Invalid OAuth2 scope: admin.everything');
    const url = authorizePageUrl({});
    url.searchParams.delete('response_type');
    expect((await fetch(url)).status).toBe(400);
    expect(() => sandbox.authorizeUser({ redirectUri: REDIRECT, state: 's', userId: '1', scope: 'bot' })).toThrow(
      /Invalid OAuth2 scope: bot/,
    );
  });

  it('Authorize redirects with code and state only, for the user picked', async () => {
    const user = sandbox.createUser({ username: 'picked.user' });
    const res = await postAuthorize({ user_id: user.id, action: 'authorize' });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location') ?? '');
    expect(`${location.origin}${location.pathname}`).toBe(REDIRECT);
    expect([...location.searchParams.keys()].sort()).toEqual(['code', 'state']);
    expect(location.searchParams.get('state')).toBe('st');
    const tokens = (await (await exchange(location.searchParams.get('code') ?? '')).json()) as Tokens;
    expect(((await (await me(tokens.access_token)).json()) as { id: string }).id).toBe(user.id);
  });

  it('creates a new user from the form, and refuses an invalid username without creating anyone', async () => {
    const before = sandbox.users().length;
    const bad = await postAuthorize({ user_id: 'new', new_username: 'Not Valid!', action: 'authorize' });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('Username must be 2-32 characters');
    expect(sandbox.users()).toHaveLength(before);

    const res = await postAuthorize({
      user_id: 'new',
      new_username: 'fresh.face',
      new_global_name: 'Fresh Face',
      action: 'authorize',
    });
    expect(res.status).toBe(302);
    const created = sandbox.users().find((user) => user.username === 'fresh.face');
    expect(created).toMatchObject({ globalName: 'Fresh Face', avatar: null, guildCount: 0 });
    const tokens = (await (await exchange(codeOf(res.headers.get('location') ?? ''))).json()) as Tokens;
    expect(await (await me(tokens.access_token)).json()).toMatchObject({
      id: created?.id,
      username: 'fresh.face',
      global_name: 'Fresh Face',
    });
    // Usernames are unique.
    expect((await postAuthorize({ user_id: 'new', new_username: 'fresh.face', action: 'authorize' })).status).toBe(400);
  });

  it('Cancel redirects with error=access_denied, a description and the state, and creates nobody', async () => {
    const before = sandbox.users().length;
    const res = await postAuthorize({ user_id: 'new', new_username: 'never.made', action: 'cancel' });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location') ?? '');
    expect(location.searchParams.get('error')).toBe('access_denied');
    expect(location.searchParams.get('error_description')).toBeTruthy();
    expect(location.searchParams.get('state')).toBe('st');
    expect(location.searchParams.has('code')).toBe(false);
    expect(sandbox.users()).toHaveLength(before);
    const user = sandbox.createUser();
    expect(sandbox.authorizeUser({ redirectUri: REDIRECT, state: 'x', userId: user.id, deny: true })).toContain(
      'error=access_denied',
    );
  });
});

describe('user tokens', () => {
  it('exchanges a user code once, form-encoded only, for a Bearer pair without a guild', async () => {
    const user = sandbox.createUser();
    const code = () => codeOf(sandbox.authorizeUser({ redirectUri: REDIRECT, state: 's', userId: user.id }));

    const spentByJson = code();
    const asJson = await fetch(`${sandbox.apiBaseUrl}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basic() },
      body: JSON.stringify({ grant_type: 'authorization_code', code: spentByJson, redirect_uri: REDIRECT }),
    });
    expect(asJson.status).toBe(400);
    expect(await asJson.json()).toMatchObject({ error: 'invalid_request' });

    const mismatch = await exchange(code(), 'http://127.0.0.1:9/elsewhere');
    expect(mismatch.status).toBe(400);
    expect(await mismatch.json()).toEqual({
      error: 'invalid_grant',
      error_description: 'Invalid "redirect_uri" in request.',
    });

    const badClient = await oauthPost(
      '/oauth2/token',
      { grant_type: 'authorization_code', code: code(), redirect_uri: REDIRECT },
      basic(sandbox.clientId, 'wrong'),
    );
    expect(badClient.status).toBe(401);
    expect(await badClient.json()).toEqual({ error: 'invalid_client' });

    const good = code();
    // Client credentials in the form, on the versioned path.
    const ok = await oauthPost(
      '/v10/oauth2/token',
      {
        grant_type: 'authorization_code',
        code: good,
        redirect_uri: REDIRECT,
        client_id: sandbox.clientId,
        client_secret: sandbox.clientSecret,
      },
      null,
    );
    expect(ok.status).toBe(200);
    expect(ok.headers.get('cache-control')).toBe('no-store');
    const body = (await ok.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['access_token', 'expires_in', 'refresh_token', 'scope', 'token_type']);
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 604800, scope: 'identify guilds.join' });
    expect(body.access_token).not.toBe(body.refresh_token);

    const reuse = await exchange(good);
    expect(reuse.status).toBe(400);
    expect(await reuse.json()).toEqual({ error: 'invalid_grant', error_description: 'Invalid "code" in request.' });
  });

  it('expires user codes after codeTtlMs', async () => {
    const short = await startSandbox({ codeTtlMs: 50 });
    try {
      const user = short.createUser();
      const code = codeOf(short.authorizeUser({ redirectUri: REDIRECT, state: 's', userId: user.id }));
      await new Promise((resolve) => setTimeout(resolve, 120));
      const res = await fetch(`${short.apiBaseUrl}/oauth2/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: basic(short.clientId, short.clientSecret),
        },
        body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT }),
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: 'invalid_grant' });
    } finally {
      await short.close();
    }
  });

  it('refreshes into a new pair; the old pair stops working and a used refresh token is refused', async () => {
    const user = sandbox.createUser();
    const first = await signIn(user.id);
    const refresh = (token: string) =>
      oauthPost('/oauth2/token', { grant_type: 'refresh_token', refresh_token: token });

    const res = await refresh(first.refresh_token);
    expect(res.status).toBe(200);
    const second = (await res.json()) as Tokens;
    expect(second).toMatchObject({ token_type: 'Bearer', expires_in: 604800, scope: 'identify guilds.join' });
    expect(second.access_token).not.toBe(first.access_token);
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect((await me(second.access_token)).status).toBe(200);
    expect((await me(first.access_token)).status).toBe(401);

    const reused = await refresh(first.refresh_token);
    expect(reused.status).toBe(400);
    expect(await reused.json()).toEqual({
      error: 'invalid_grant',
      error_description: 'Invalid "refresh_token" in request.',
    });
    const unsupported = await oauthPost('/oauth2/token', { grant_type: 'password', username: 'x' });
    expect(unsupported.status).toBe(400);
    expect(await unsupported.json()).toMatchObject({ error: 'unsupported_grant_type' });
  });

  it('expireUserTokens ends the access tokens; refreshing still works', async () => {
    const user = sandbox.createUser();
    const tokens = await signIn(user.id);
    sandbox.expireUserTokens(user.id);
    expect((await me(tokens.access_token)).status).toBe(401);
    const res = await oauthPost('/oauth2/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
    expect(res.status).toBe(200);
    expect((await me(((await res.json()) as Tokens).access_token)).status).toBe(200);
  });

  it('revokes: client credentials and a form required; any token of the authorization ends all of them', async () => {
    const user = sandbox.createUser();
    const older = await signIn(user.id);
    const tokens = await signIn(user.id);
    const other = await signIn(sandbox.createUser().id);

    const asJson = await fetch(`${sandbox.apiBaseUrl}/oauth2/token/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basic() },
      body: JSON.stringify({ token: tokens.access_token }),
    });
    expect(asJson.status).toBe(400);
    expect(await asJson.json()).toMatchObject({ error: 'invalid_request' });
    const noClient = await oauthPost('/oauth2/token/revoke', { token: tokens.access_token }, null);
    expect(noClient.status).toBe(401);
    expect(await noClient.json()).toEqual({ error: 'invalid_client' });
    expect((await me(tokens.access_token)).status).toBe(200);

    const res = await oauthPost('/oauth2/token/revoke', {
      token: tokens.refresh_token,
      token_type_hint: 'access_token',
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({});
    for (const access of [tokens.access_token, older.access_token]) expect((await me(access)).status).toBe(401);
    for (const refreshToken of [tokens.refresh_token, older.refresh_token]) {
      const refresh = await oauthPost('/v10/oauth2/token', {
        grant_type: 'refresh_token',
        refresh_token: refreshToken,
      });
      expect(refresh.status).toBe(400);
      expect(await refresh.json()).toMatchObject({ error: 'invalid_grant' });
    }
    // Another user's authorization is untouched; unknown tokens answer 200 (RFC 7009).
    expect((await me(other.access_token)).status).toBe(200);
    expect((await oauthPost('/oauth2/token/revoke', { token: 'not-a-token' })).status).toBe(200);
  });

  it('revokeUserTokens is the user deauthorizing the app: access and refresh tokens stop working', async () => {
    const user = sandbox.createUser();
    const tokens = await signIn(user.id);
    sandbox.revokeUserTokens(user.id);
    expect((await me(tokens.access_token)).status).toBe(401);
    const refresh = await oauthPost('/oauth2/token', {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token,
    });
    expect(refresh.status).toBe(400);
    expect(await refresh.json()).toMatchObject({ error: 'invalid_grant' });
  });
});

describe('GET /users/@me with a user token', () => {
  it('answers the user for a valid token, and 401 code 0 for a missing scope, an unknown or a revoked token', async () => {
    const user = sandbox.createUser({
      username: 'me.myself',
      globalName: 'Me Myself',
      avatar: 'a_0123456789abcdef0123456789abcdef',
    });
    const tokens = await signIn(user.id);
    const res = await me(tokens.access_token);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-ratelimit-bucket')).toMatch(/^[0-9a-f]{32}$/);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      id: user.id,
      username: 'me.myself',
      global_name: 'Me Myself',
      avatar: 'a_0123456789abcdef0123456789abcdef',
      discriminator: '0',
    });
    expect(body).not.toHaveProperty('email'); // only with the `email` scope
    expect(body).not.toHaveProperty('bot');

    const unauthorized = { message: '401: Unauthorized', code: 0 };
    for (const authorization of ['Bearer nope', `Bot ${tokens.access_token}`, tokens.access_token]) {
      const refused = await fetch(`${sandbox.apiBaseUrl}/v10/users/@me`, { headers: { authorization } });
      expect(refused.status).toBe(401);
      expect(await refused.json()).toEqual(unauthorized);
    }
    const joinOnly = await signIn(user.id, 'guilds.join');
    expect((await me(joinOnly.access_token)).status).toBe(401); // no `identify`
    const withEmail = await signIn(user.id, 'identify email');
    expect(await (await me(withEmail.access_token)).json()).toMatchObject({
      verified: true,
      email: expect.any(String),
    });

    sandbox.revokeUserTokens(user.id);
    const revoked = await me(tokens.access_token);
    expect(revoked.status).toBe(401);
    expect(await revoked.json()).toEqual(unauthorized);
    // The bot's token still answers the bot.
    expect(await (await bot('/users/@me')).json()).toMatchObject({ id: sandbox.botUserId, bot: true });
    // A user token is no bot token elsewhere.
    const other = await signIn(sandbox.createUser().id);
    const guild = sandbox.createGuild({ name: 'Not for users' });
    const refused = await fetch(`${sandbox.apiBaseUrl}/v10/guilds/${guild.id}`, {
      headers: { authorization: `Bearer ${other.access_token}` },
    });
    expect(refused.status).toBe(401);
  });
});

describe('Add Guild Member', () => {
  it('adds the user with the roles in one call: 201 with the member, then 204 when already a member', async () => {
    const { guild, approved } = approvedGuild();
    const user = sandbox.createUser({ username: 'applicant.one', guildCount: 3 });
    const tokens = await signIn(user.id);

    const res = await addMember(guild.id, user.id, { access_token: tokens.access_token, roles: [approved] });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-ratelimit-limit')).toMatch(/^\d+$/);
    const member = (await res.json()) as Record<string, unknown>;
    expect(member).toMatchObject({
      user: { id: user.id, username: 'applicant.one' },
      roles: [approved],
      pending: false,
      nick: null,
      mute: false,
      deaf: false,
    });
    expect(sandbox.member(guild.id, user.id)).toEqual({ roles: [approved], pending: false });
    expect(sandbox.user(user.id)?.guildCount).toBe(4);

    // Already a member: 204, empty, and `roles` is ignored.
    sandbox.removeMember(guild.id, user.id);
    sandbox.addMember(guild.id, user.id);
    const again = await addMember(guild.id, user.id, { access_token: tokens.access_token, roles: [approved] });
    expect(again.status).toBe(204);
    expect(await again.text()).toBe('');
    expect(sandbox.member(guild.id, user.id)).toEqual({ roles: [], pending: false });

    const stats = sandbox.stats();
    expect(stats.memberAddOutcomes).toEqual({ added: 1, alreadyMember: 1, refused: 0 });
    expect(stats.memberAdds).toEqual([
      { guildId: guild.id, userId: user.id, outcome: 'added', roles: [approved], status: 201, at: expect.any(Number) },
      {
        guildId: guild.id,
        userId: user.id,
        outcome: 'already_member',
        roles: [approved],
        status: 204,
        at: expect.any(Number),
      },
    ]);
    expect(stats.byRoute['PUT /guilds/:guildId/members/:userId']).toEqual({ requests: 2, rateLimited: 0 });
    expect(stats.memberRoleAdds).toEqual([]); // no separate role call
  });

  it('needs Create Instant Invite, and Manage Roles when roles are given: 403 50013', async () => {
    const { guild, approved } = approvedGuild({ botPermissions: MANAGE_ROLES });
    const user = sandbox.createUser();
    const { access_token } = await signIn(user.id);
    await expectDiscordError(await addMember(guild.id, user.id, { access_token, roles: [approved] }), 403, 50013);
    await expectDiscordError(await addMember(guild.id, user.id, { access_token }), 403, 50013);

    sandbox.setBotPermissions(guild.id, INVITE);
    await expectDiscordError(await addMember(guild.id, user.id, { access_token, roles: [approved] }), 403, 50013);
    expect(sandbox.member(guild.id, user.id)).toBeNull();
    // Without roles, Create Instant Invite is enough; Administrator implies both.
    expect((await addMember(guild.id, user.id, { access_token })).status).toBe(201);
    sandbox.setBotPermissions(guild.id, PermissionFlagsBits.Administrator);
    const second = sandbox.createUser();
    const token = (await signIn(second.id)).access_token;
    expect((await addMember(guild.id, second.id, { access_token: token, roles: [approved] })).status).toBe(201);
    expect(sandbox.stats().memberAddOutcomes).toEqual({ added: 2, alreadyMember: 0, refused: 3 });
    expect(sandbox.stats().memberAdds[0]).toMatchObject({ outcome: 'refused', status: 403, code: 50013 });
  });

  it('refuses roles the bot cannot hand out: above or at its highest role or managed 50013, unknown 10011', async () => {
    const guild = sandbox.createGuild({ name: 'High', roles: [{ name: 'Approved', position: 5 }], botRolePosition: 5 });
    const approved = guild.roleIds[0] ?? '';
    const user = sandbox.createUser();
    const { access_token } = await signIn(user.id);
    await expectDiscordError(await addMember(guild.id, user.id, { access_token, roles: [approved] }), 403, 50013);
    await expectDiscordError(
      await addMember(guild.id, user.id, { access_token, roles: [guild.botRoleId] }),
      403,
      50013,
    );
    await expectDiscordError(
      await addMember(guild.id, user.id, { access_token, roles: ['400000000000000001'] }),
      404,
      10011,
    );
    expect(sandbox.member(guild.id, user.id)).toBeNull();
    sandbox.setBotRolePosition(guild.id, 6);
    expect((await addMember(guild.id, user.id, { access_token, roles: [approved] })).status).toBe(201);
  });

  it('refuses bad access tokens with 403 50025 (unknown, expired, revoked, another user) and 50026 without guilds.join', async () => {
    const { guild } = approvedGuild();
    const user = sandbox.createUser();
    const stranger = sandbox.createUser();
    const tokens = await signIn(user.id);
    const strangers = await signIn(stranger.id);

    const invalid = await expectDiscordError(
      await addMember(guild.id, user.id, { access_token: 'not-a-token' }),
      403,
      50025,
    );
    expect(invalid.message).toBe('Invalid OAuth2 access token');
    await expectDiscordError(await addMember(guild.id, user.id, { access_token: strangers.access_token }), 403, 50025);
    const identifyOnly = await signIn(user.id, 'identify');
    await expectDiscordError(
      await addMember(guild.id, user.id, { access_token: identifyOnly.access_token }),
      403,
      50026,
    );
    sandbox.expireUserTokens(user.id);
    await expectDiscordError(await addMember(guild.id, user.id, { access_token: tokens.access_token }), 403, 50025);
    const fresh = await signIn(user.id);
    sandbox.revokeUserTokens(user.id);
    await expectDiscordError(await addMember(guild.id, user.id, { access_token: fresh.access_token }), 403, 50025);
    expect(sandbox.member(guild.id, user.id)).toBeNull();
  });

  it('stops at 100 servers with 400 30001', async () => {
    const { guild } = approvedGuild();
    const full = sandbox.createUser({ guildCount: 100 });
    const body = await expectDiscordError(
      await addMember(guild.id, full.id, { access_token: (await signIn(full.id)).access_token }),
      400,
      30001,
    );
    expect(body.message).toBe('Maximum number of guilds reached (100)');
    const almost = sandbox.createUser({ guildCount: 99 });
    expect(
      (await addMember(guild.id, almost.id, { access_token: (await signIn(almost.id)).access_token })).status,
    ).toBe(201);
    expect(sandbox.user(almost.id)?.guildCount).toBe(100);
    // Already a member answers 204 even at the limit.
    const again = await addMember(guild.id, almost.id, { access_token: (await signIn(almost.id)).access_token });
    expect(again.status).toBe(204);
  });

  it('answers 404 10004 for an unknown guild or one without the bot, 401 without the bot token, 50035 for bad bodies', async () => {
    const user = sandbox.createUser();
    const { access_token } = await signIn(user.id);
    await expectDiscordError(await addMember('400000000000000001', user.id, { access_token }), 404, 10004);
    const gone = sandbox.createGuild({ name: 'No bot', botInstalled: false });
    await expectDiscordError(await addMember(gone.id, user.id, { access_token }), 404, 10004);

    const { guild } = approvedGuild();
    const asUser = await fetch(`${sandbox.apiBaseUrl}/v10/guilds/${guild.id}/members/${user.id}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${access_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ access_token }),
    });
    expect(asUser.status).toBe(401);

    const missing = await expectDiscordError(await addMember(guild.id, user.id, {}), 400, 50035);
    expect(missing.errors).toEqual({
      access_token: { _errors: [{ code: 'BASE_TYPE_REQUIRED', message: 'This field is required' }] },
    });
    const badRoles = await expectDiscordError(
      await addMember(guild.id, user.id, { access_token, roles: ['abc'] }),
      400,
      50035,
    );
    expect(badRoles.errors).toEqual({
      roles: { 0: { _errors: [{ code: 'NUMBER_TYPE_COERCE', message: 'Value "abc" is not snowflake.' }] } },
    });
    await expectDiscordError(await addMember(guild.id, user.id, { access_token, nick: 'x'.repeat(33) }), 400, 50035);
    await expectDiscordError(await addMember(guild.id, 'me', { access_token }), 400, 50035);
    expect(sandbox.member(guild.id, user.id)).toBeNull();
  });

  it('needs Manage Nicknames for nick, Mute and Deafen Members for mute and deaf', async () => {
    const { guild } = approvedGuild();
    const user = sandbox.createUser();
    const { access_token } = await signIn(user.id);
    await expectDiscordError(await addMember(guild.id, user.id, { access_token, nick: 'Newbie' }), 403, 50013);
    await expectDiscordError(await addMember(guild.id, user.id, { access_token, mute: true }), 403, 50013);
    sandbox.setBotPermissions(
      guild.id,
      MANAGE_ROLES | INVITE | PermissionFlagsBits.ManageNicknames | PermissionFlagsBits.MuteMembers,
    );
    const res = await addMember(guild.id, user.id, { access_token, nick: 'Newbie', mute: true, deaf: false });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ nick: 'Newbie', mute: true, deaf: false });
  });

  it('has a per-guild rate-limit bucket, and faults match the route', async () => {
    sandbox.setRateLimits({ buckets: { memberAdd: { limit: 1, windowMs: 60_000 } } });
    const { guild } = approvedGuild();
    const other = approvedGuild().guild;
    const user = sandbox.createUser();
    const { access_token } = await signIn(user.id);
    const first = await addMember(guild.id, user.id, { access_token });
    expect(first.status).toBe(201);
    expect(first.headers.get('x-ratelimit-remaining')).toBe('0');
    const limited = await addMember(guild.id, user.id, { access_token });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('x-ratelimit-scope')).toBe('user');
    expect((await addMember(other.id, user.id, { access_token })).status).toBe(201);
    // A 429 is no add-member outcome.
    expect(sandbox.stats().memberAddOutcomes).toEqual({ added: 2, alreadyMember: 0, refused: 0 });

    sandbox.setRateLimits({});
    const third = approvedGuild().guild;
    sandbox.faults.add({ route: 'PUT /guilds/:guildId/members/:userId', code: 50025, times: 1 });
    await expectDiscordError(await addMember(third.id, user.id, { access_token }), 403, 50025);
    expect(sandbox.member(third.id, user.id)).toBeNull();
    expect((await addMember(third.id, user.id, { access_token })).status).toBe(201);
    sandbox.faults.add({ route: 'POST /oauth2/token/revoke', status: 503, times: 1 });
    expect((await oauthPost('/oauth2/token/revoke', { token: access_token })).status).toBe(503);
  });

  it('does not count user token requests against the bot global limit', async () => {
    sandbox.setRateLimits({ global: { limit: 1, windowMs: 60_000 } });
    const { access_token } = await signIn(sandbox.createUser().id);
    expect((await bot('/users/@me')).status).toBe(200);
    expect((await me(access_token)).status).toBe(200);
    expect((await me(access_token)).status).toBe(200);
    expect((await bot('/users/@me')).status).toBe(429);
  });
});

describe('Membership Screening', () => {
  it('adds members pending; a role can be added while pending (Discord does not refuse it); accepting the rules ends pending', async () => {
    const { guild, approved } = approvedGuild();
    sandbox.setMembershipScreening(guild.id, true);
    const features = ((await (await bot(`/guilds/${guild.id}`)).json()) as { features: string[] }).features;
    expect(features).toContain('MEMBER_VERIFICATION_GATE_ENABLED');

    const user = sandbox.createUser();
    const { access_token } = await signIn(user.id);
    const added = await addMember(guild.id, user.id, { access_token });
    expect(added.status).toBe(201);
    expect(await added.json()).toMatchObject({ pending: true, roles: [] });
    expect(sandbox.member(guild.id, user.id)).toEqual({ roles: [], pending: true });
    expect(await (await bot(`/guilds/${guild.id}/members/${user.id}`)).json()).toMatchObject({ pending: true });

    // Discord documents no refusal for pending members and none happens: 204, the role is added,
    // and (since 2023) a role no longer ends screening: the member stays pending.
    const role = await bot(`/guilds/${guild.id}/members/${user.id}/roles/${approved}`, { method: 'PUT' });
    expect(role.status).toBe(204);
    expect(sandbox.member(guild.id, user.id)).toEqual({ roles: [approved], pending: true });

    sandbox.acceptRules(guild.id, user.id);
    expect(sandbox.member(guild.id, user.id)).toEqual({ roles: [approved], pending: false });
    expect(await (await bot(`/guilds/${guild.id}/members/${user.id}`)).json()).toMatchObject({
      pending: false,
      roles: [approved],
    });
    expect(() => sandbox.acceptRules(guild.id, sandbox.createUser().id)).toThrow(/not a member/);
  });

  it('keeps a member added with roles pending; members added by the control API and owners are never pending', async () => {
    const { guild, approved } = approvedGuild();
    sandbox.setMembershipScreening(guild.id, true);
    const user = sandbox.createUser();
    const res = await addMember(guild.id, user.id, {
      access_token: (await signIn(user.id)).access_token,
      roles: [approved],
    });
    expect(await res.json()).toMatchObject({ pending: true, roles: [approved] });
    const direct = sandbox.createUser();
    sandbox.addMember(guild.id, direct.id);
    expect(sandbox.member(guild.id, direct.id)).toEqual({ roles: [], pending: false });
    expect(sandbox.member(guild.id, guild.ownerId)?.pending).toBe(false);

    // Screening off: nobody has rules left to accept.
    sandbox.setMembershipScreening(guild.id, false);
    expect(sandbox.member(guild.id, user.id)).toEqual({ roles: [approved], pending: false });
    expect(((await (await bot(`/guilds/${guild.id}`)).json()) as { features: string[] }).features).toEqual([]);
  });
});

describe('control API for users, tokens and screening', () => {
  const control = (path: string, init: RequestInit = {}) =>
    fetch(`${sandbox.url}/_sandbox${path}`, { ...init, headers: { 'content-type': 'application/json' } });

  it('creates and lists users, and validates them', () => {
    const user = sandbox.createUser({ username: 'made.here', globalName: null, guildCount: 7 });
    expect(user).toEqual({
      id: expect.stringMatching(/^\d{17,20}$/),
      username: 'made.here',
      globalName: null,
      avatar: null,
      guildCount: 7,
    });
    expect(sandbox.user(user.id)).toEqual(user);
    expect(sandbox.users()).toContainEqual(user);
    expect(sandbox.users().some((u) => u.id === sandbox.botUserId)).toBe(false);
    expect(sandbox.user(sandbox.botUserId)).toBeNull();
    expect(sandbox.user('400000000000000009')).toBeNull();
    expect(sandbox.createUser().username).toMatch(/^user\d{6}/);
    expect(() => sandbox.createUser({ username: 'made.here' })).toThrow(/taken/);
    expect(() => sandbox.createUser({ username: 'A' })).toThrow(/Username/);
    expect(() => sandbox.createUser({ avatar: 'not-a-hash' })).toThrow(/Avatar/);
    expect(() => sandbox.createUser({ guildCount: -1 })).toThrow(/guildCount/);
  });

  it('does the same over HTTP', async () => {
    const created = await control('/users', {
      method: 'POST',
      body: JSON.stringify({ username: 'http.user', globalName: 'HTTP User', guildCount: 2 }),
    });
    expect(created.status).toBe(201);
    const user = (await created.json()) as { id: string };
    expect(user).toMatchObject({ username: 'http.user', globalName: 'HTTP User', avatar: null, guildCount: 2 });
    expect(await (await control(`/users/${user.id}`)).json()).toEqual(user);
    expect((await control('/users/400000000000000009')).status).toBe(404);
    expect(await (await control('/users')).json()).toContainEqual(user);
    expect((await control('/users', { method: 'POST', body: JSON.stringify({ username: 'Bad Name' }) })).status).toBe(
      400,
    );

    const tokens = await signIn(user.id);
    expect((await control(`/users/${user.id}/expire-tokens`, { method: 'POST' })).status).toBe(204);
    expect((await me(tokens.access_token)).status).toBe(401);
    const refreshed = (await (
      await oauthPost('/oauth2/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token })
    ).json()) as Tokens;
    expect((await control(`/users/${user.id}/revoke-tokens`, { method: 'POST' })).status).toBe(204);
    expect((await me(refreshed.access_token)).status).toBe(401);

    const { guild } = approvedGuild();
    const on = await control(`/guilds/${guild.id}/membership-screening`, {
      method: 'PUT',
      body: JSON.stringify({ on: true }),
    });
    expect(on.status).toBe(204);
    const { access_token } = await signIn(user.id);
    expect((await addMember(guild.id, user.id, { access_token })).status).toBe(201);
    expect(await (await control(`/guilds/${guild.id}/members/${user.id}`)).json()).toEqual({
      roles: [],
      pending: true,
    });
    expect((await control(`/guilds/${guild.id}/members/${user.id}/accept-rules`, { method: 'POST' })).status).toBe(204);
    expect(await (await control(`/guilds/${guild.id}/members/${user.id}`)).json()).toEqual({
      roles: [],
      pending: false,
    });
    expect((await control(`/guilds/${guild.id}/members/400000000000000009`)).status).toBe(404);
    const state = (await (await control('/state')).json()) as {
      users: Array<{ id: string }>;
      guilds: Array<{ id: string; membershipScreening: boolean }>;
    };
    expect(state.users.map((u) => u.id)).toContain(user.id);
    expect(state.guilds.find((g) => g.id === guild.id)?.membershipScreening).toBe(true);
  });
});

describe('demo guild', () => {
  it('lets a demo newcomer sign in and be added with the Member role on approval', async () => {
    const demo = await startSandbox({ seedDemoGuild: true });
    try {
      const page = await (
        await fetch(
          `${demo.authorizeUrl}?${new URLSearchParams({
            client_id: demo.clientId,
            response_type: 'code',
            scope: 'identify guilds.join',
            redirect_uri: REDIRECT,
            state: 's',
          })}`,
        )
      ).text();
      expect(page).toContain('Ada Newcomer (@ada.newcomer)');
      const newcomer = demo.users().find((user) => user.username === 'ada.newcomer')?.id ?? '';
      const state = (await (await fetch(`${demo.url}/_sandbox/state`)).json()) as { guilds: Array<{ id: string }> };
      const guildId = state.guilds[0]?.id ?? '';
      const memberRole = demo.roles(guildId).find((role) => role.name === 'Member')?.id ?? '';
      expect(demo.member(guildId, newcomer)).toBeNull();

      const code = codeOf(demo.authorizeUser({ redirectUri: REDIRECT, state: 's', userId: newcomer }));
      const tokens = (await (
        await fetch(`${demo.apiBaseUrl}/oauth2/token`, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            authorization: basic(demo.clientId, demo.clientSecret),
          },
          body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT }),
        })
      ).json()) as Tokens;
      const res = await botRequest(demo, `/guilds/${guildId}/members/${newcomer}`, {
        method: 'PUT',
        body: JSON.stringify({ access_token: tokens.access_token, roles: [memberRole] }),
      });
      expect(res.status).toBe(201);
      expect(demo.member(guildId, newcomer)).toEqual({ roles: [memberRole], pending: false });
    } finally {
      await demo.close();
    }
  });
});
