import { classifyDiscordError, DiscordOAuthError } from '../src/discord/errors.js';
import { buildAuthorizeUrl, exchangeCode } from '../src/discord/oauth.js';
import { startSandbox, type Sandbox } from '../src/dev/sandbox/index.js';
import { useSandbox } from './helpers/sandbox.js';

const REDIRECT = 'http://127.0.0.1:9/api/discord/bot-callback';

let sandbox: Sandbox;

useSandbox((s) => {
  sandbox = s;
});

async function rejectionOf(promise: Promise<unknown>): Promise<DiscordOAuthError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(DiscordOAuthError);
    return error as DiscordOAuthError;
  }
  throw new Error('expected the exchange to fail');
}

function exchange(code: string, overrides: Partial<Parameters<typeof exchangeCode>[0]> = {}) {
  return exchangeCode({
    apiBaseUrl: sandbox.apiBaseUrl,
    clientId: sandbox.clientId,
    clientSecret: sandbox.clientSecret,
    code,
    redirectUri: REDIRECT,
    ...overrides,
  });
}

function authorizeCode(guildId: string): string {
  const redirect = new URL(
    sandbox.authorize({ redirectUri: REDIRECT, state: 'st', guildId, permissions: '268435456' }),
  );
  return redirect.searchParams.get('code') ?? '';
}

describe('buildAuthorizeUrl', () => {
  it('asks for the bot scope with Manage Roles and Create Instant Invite (to add applicants)', () => {
    const url = new URL(
      buildAuthorizeUrl({
        authorizeUrl: 'https://discord.com/oauth2/authorize',
        clientId: '123456789012345678',
        redirectUri: 'https://app.example/api/discord/bot-callback',
        state: 'a.b&c',
      }),
    );
    expect(`${url.origin}${url.pathname}`).toBe('https://discord.com/oauth2/authorize');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      client_id: '123456789012345678',
      scope: 'bot',
      permissions: '268435457',
      response_type: 'code',
      redirect_uri: 'https://app.example/api/discord/bot-callback',
      state: 'a.b&c',
    });
  });

  it('is accepted by the sandbox authorize page', async () => {
    const url = buildAuthorizeUrl({
      authorizeUrl: sandbox.authorizeUrl,
      clientId: sandbox.clientId,
      redirectUri: REDIRECT,
      state: 's',
    });
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('Authorize');
  });
});

describe('exchangeCode', () => {
  it('returns the access token and the guild of the answer (with roles)', async () => {
    const guild = sandbox.createGuild({ name: 'OAuth Server', botInstalled: false, roles: [{ name: 'Approved' }] });
    const result = await exchange(authorizeCode(guild.id));
    expect(typeof result.accessToken).toBe('string');
    expect(result.scope).toBe('bot');
    expect(result.guild?.id).toBe(guild.id);
    expect(result.guild?.name).toBe('OAuth Server');
    expect(result.guild?.roles.map((role) => role.name)).toEqual(expect.arrayContaining(['@everyone', 'Approved']));
    const botRole = result.guild?.roles.find((role) => role.managed);
    expect(botRole?.permissions).toBe('268435456');
  });

  it('a used code: invalid_grant, not retryable', async () => {
    const guild = sandbox.createGuild({ name: 'Reuse' });
    const code = authorizeCode(guild.id);
    await exchange(code);
    const error = await rejectionOf(exchange(code));
    expect(error).toMatchObject({ oauthError: 'invalid_grant', status: 400, retryable: false });
    expect(error.description).toBe('Invalid "code" in request.');
    expect(classifyDiscordError(error)).toMatchObject({ type: 'oauth_invalid_grant', retryable: false, status: 400 });
  });

  it('a wrong redirect_uri: invalid_grant', async () => {
    const guild = sandbox.createGuild({ name: 'Redirect' });
    const error = await rejectionOf(exchange(authorizeCode(guild.id), { redirectUri: 'http://127.0.0.1:9/other' }));
    expect(error).toMatchObject({ oauthError: 'invalid_grant', retryable: false });
  });

  it('wrong client credentials: invalid_client, not retryable', async () => {
    const guild = sandbox.createGuild({ name: 'Creds' });
    const error = await rejectionOf(exchange(authorizeCode(guild.id), { clientSecret: 'wrong' }));
    expect(error).toMatchObject({ oauthError: 'invalid_client', status: 401, retryable: false });
    expect(classifyDiscordError(error)).toMatchObject({ type: 'oauth_invalid_client', retryable: false });
  });

  it('client secrets with reserved characters survive HTTP Basic encoding', async () => {
    const odd = await startSandbox({ clientSecret: 'a:b+c/d=e%f' });
    try {
      const guild = odd.createGuild({ name: 'Odd' });
      const code =
        new URL(odd.authorize({ redirectUri: REDIRECT, state: 's', guildId: guild.id })).searchParams.get('code') ?? '';
      const result = await exchangeCode({
        apiBaseUrl: odd.apiBaseUrl,
        clientId: odd.clientId,
        clientSecret: odd.clientSecret,
        code,
        redirectUri: REDIRECT,
      });
      expect(result.guild?.id).toBe(guild.id);
    } finally {
      await odd.close();
    }
  });

  it('5xx: retryable server_error', async () => {
    sandbox.faults.add({ route: 'POST /oauth2/token', status: 502, times: 1 });
    const error = await rejectionOf(exchange('whatever'));
    expect(error).toMatchObject({ status: 502, retryable: true });
    expect(classifyDiscordError(error)).toMatchObject({ type: 'server_error', retryable: true, status: 502 });
  });

  it('429: retryable rate_limited with the wait', async () => {
    sandbox.faults.add({ route: 'POST /oauth2/token', rateLimit: { retryAfterMs: 1200 }, times: 1 });
    const error = await rejectionOf(exchange('whatever'));
    expect(error).toMatchObject({ status: 429, retryable: true, retryAfterMs: 1200 });
    expect(classifyDiscordError(error)).toMatchObject({ type: 'rate_limited', retryAfterMs: 1200 });
  });

  it('no answer in time: retryable timeout', async () => {
    sandbox.faults.add({ route: 'POST /oauth2/token', hang: true, times: 1 });
    const started = Date.now();
    const error = await rejectionOf(exchange('whatever', { timeoutMs: 250 }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(240);
    expect(error).toMatchObject({ oauthError: 'timeout', retryable: true });
    expect(classifyDiscordError(error)).toMatchObject({ type: 'timeout', retryable: true });
  });

  it('nobody listening: retryable network', async () => {
    const gone = await startSandbox();
    await gone.close();
    const error = await rejectionOf(exchange('whatever', { apiBaseUrl: gone.apiBaseUrl }));
    expect(error).toMatchObject({ oauthError: 'network', retryable: true });
    expect(classifyDiscordError(error)).toMatchObject({ type: 'network', retryable: true });
  });
});
