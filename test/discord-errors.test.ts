/**
 * Classification of the errors @discordjs/rest really throws, produced over HTTP by the sandbox.
 */
import { DiscordAPIError, HTTPError, RateLimitError } from '@discordjs/rest';
import { ApplicationFailure } from '@temporalio/common';
import { PermissionFlagsBits, Routes, type RESTGetAPIGuildResult } from 'discord-api-types/v10';
import { createDiscordApi, type DiscordApi } from '../src/discord/api.js';
import { classifyDiscordError, toActivityFailure, type DiscordFailure } from '../src/discord/errors.js';
import { createDiscordRest } from '../src/discord/rest.js';
import { startSandbox, type Sandbox, type SandboxGuild } from '../src/dev/sandbox/index.js';
import { useSandbox } from './helpers/sandbox.js';

const MEMBER = '300000000000000001';
const STRANGER = '300000000000000002';

let sandbox: Sandbox;

useSandbox((s) => {
  sandbox = s;
});

/**
 * A fresh client per test: @discordjs/rest keeps bucket state and forgets its token after a 401.
 * Besides the product's routes, GET /guilds/{id} (which the product never calls), through the same
 * REST instance: the simplest request to fail in every way.
 */
function client(
  options: { timeoutMs?: number; botToken?: string } = {},
): DiscordApi & { getGuild: (guildId: string) => Promise<RESTGetAPIGuildResult> } {
  const rest = createDiscordRest({
    apiBaseUrl: sandbox.apiBaseUrl,
    botToken: options.botToken ?? sandbox.botToken,
    timeoutMs: options.timeoutMs,
  });
  return {
    ...createDiscordApi(rest),
    getGuild: async (guildId) => (await rest.get(Routes.guild(guildId))) as RESTGetAPIGuildResult,
  };
}

function setup(opts: { botPermissions?: bigint; botRolePosition?: number } = {}): {
  guild: SandboxGuild;
  approved: string;
} {
  const guild = sandbox.createGuild({ name: 'Errors', roles: [{ name: 'Approved', position: 5 }], ...opts });
  sandbox.addMember(guild.id, MEMBER);
  return { guild, approved: guild.roleIds[0] ?? '' };
}

async function failureOf(promise: Promise<unknown>): Promise<{ error: unknown; failure: DiscordFailure }> {
  try {
    await promise;
  } catch (error) {
    return { error, failure: classifyDiscordError(error) };
  }
  throw new Error('expected the call to fail');
}

describe('classifyDiscordError on real @discordjs/rest errors', () => {
  it('works end to end when nothing is wrong', async () => {
    const { guild, approved } = setup();
    const api = client();
    expect((await api.getGuild(guild.id)).id).toBe(guild.id);
    expect((await api.listRoles(guild.id)).some((role) => role.id === approved)).toBe(true);
    await api.addMemberRole(guild.id, MEMBER, approved, 'Application 7 approved');
    expect(sandbox.memberRoles(guild.id, MEMBER)).toEqual([approved]);
    expect((await api.getMember(guild.id, MEMBER)).roles).toEqual([approved]);
    await api.removeMemberRole(guild.id, MEMBER, approved, 'Application 7 reversed');
    expect(sandbox.memberRoles(guild.id, MEMBER)).toEqual([]);
    const created = await api.createRole(
      guild.id,
      { name: 'Approved', permissions: '0' },
      'Role for approved applicants',
    );
    expect(created.name).toBe('Approved');
    expect((await api.getCurrentUser()).id).toBe(sandbox.botUserId);
    expect(sandbox.stats().auditLogReasons).toEqual([
      'Application 7 approved',
      'Application 7 reversed',
      'Role for approved applicants',
    ]);
    await api.leaveGuild(guild.id);
    expect(sandbox.roles(guild.id).some((role) => role.managed)).toBe(false);
  });

  it('10007 Unknown Member: permanent, tells the admin the applicant has not joined', async () => {
    const { guild, approved } = setup();
    const { error, failure } = await failureOf(client().addMemberRole(guild.id, STRANGER, approved, 'r'));
    expect(error).toBeInstanceOf(DiscordAPIError);
    expect(failure).toMatchObject({ retryable: false, type: 'unknown_member', status: 404, code: 10007 });
    expect(failure.message).toContain('has not joined the Discord server yet');
  });

  it('50013 Missing Permissions (no Manage Roles, or role above the bot): permanent, with the fix', async () => {
    const noPerms = setup({ botPermissions: 0n });
    const first = await failureOf(client().addMemberRole(noPerms.guild.id, MEMBER, noPerms.approved, 'r'));
    expect(first.failure).toMatchObject({ retryable: false, type: 'missing_permissions', status: 403, code: 50013 });
    expect(first.failure.message).toBe(
      'The bot lacks permission to manage this role: give the bot Manage Roles and drag its role above Approved in Server Settings → Roles.',
    );
    const low = setup({ botPermissions: PermissionFlagsBits.ManageRoles, botRolePosition: 2 });
    const second = await failureOf(client().addMemberRole(low.guild.id, MEMBER, low.approved, 'r'));
    expect(second.failure.type).toBe('missing_permissions');
  });

  it('10004, 50001, 10011, 10013, 50035, 30005: permanent with their own types', async () => {
    const { guild, approved } = setup();
    const api = client();
    expect((await failureOf(api.addMemberRole(guild.id, MEMBER, '400000000000000001', 'r'))).failure).toMatchObject({
      type: 'unknown_role',
      code: 10011,
      retryable: false,
    });
    expect((await failureOf(api.createRole(guild.id, { name: 'x'.repeat(101) }, 'r'))).failure).toMatchObject({
      type: 'invalid_form_body',
      code: 50035,
      status: 400,
      retryable: false,
    });
    sandbox.faults.add({ route: 'GET /guilds/:guildId/members/:userId', code: 10013, times: 1 });
    expect((await failureOf(api.getMember(guild.id, MEMBER))).failure).toMatchObject({
      type: 'unknown_user',
      code: 10013,
      status: 404,
      retryable: false,
    });
    sandbox.faults.add({ route: 'POST /guilds/:guildId/roles', code: 30005, times: 1 });
    expect((await failureOf(api.createRole(guild.id, { name: 'Approved' }, 'r'))).failure).toMatchObject({
      type: 'max_roles',
      code: 30005,
      retryable: false,
    });

    sandbox.removeBot(guild.id);
    expect((await failureOf(api.getGuild(guild.id))).failure).toMatchObject({
      type: 'unknown_guild',
      code: 10004,
      status: 404,
      retryable: false,
    });
    const access = (await failureOf(api.addMemberRole(guild.id, MEMBER, approved, 'r'))).failure;
    expect(access).toMatchObject({ type: 'missing_access', code: 50001, status: 403, retryable: false });
    for (const failure of [access]) expect(failure.message.length).toBeGreaterThan(20);
  });

  it('401: invalid_bot_token, permanent; later calls (token forgotten by the library) too', async () => {
    const { guild } = setup();
    const api = client({ botToken: 'not-the-token' });
    const first = await failureOf(api.getGuild(guild.id));
    expect(first.error).toBeInstanceOf(DiscordAPIError);
    expect(first.failure).toMatchObject({ type: 'invalid_bot_token', status: 401, retryable: false });
    const second = await failureOf(api.getGuild(guild.id));
    expect(second.failure).toMatchObject({ type: 'invalid_bot_token', retryable: false });
    expect(sandbox.stats().requests).toBe(1); // the second call never left the process
  });

  it('an unknown 4xx is a permanent unexpected failure', async () => {
    const { guild } = setup();
    sandbox.faults.add({ route: 'GET /guilds/:guildId', status: 418, times: 1 });
    expect((await failureOf(client().getGuild(guild.id))).failure).toMatchObject({
      type: 'unexpected',
      status: 418,
      retryable: false,
    });
  });

  it('5xx: HTTPError, retryable server_error', async () => {
    const { guild } = setup();
    sandbox.faults.add({ route: 'GET /guilds/:guildId/roles', status: 503, times: 1 });
    const { error, failure } = await failureOf(client().listRoles(guild.id));
    expect(error).toBeInstanceOf(HTTPError);
    expect(failure).toMatchObject({ type: 'server_error', status: 503, retryable: true });
  });

  it('a real 429 from Discord: RateLimitError, retryable with retryAfterMs', async () => {
    const { guild } = setup();
    sandbox.faults.add({ route: 'GET /guilds/:guildId/roles', rateLimit: { retryAfterMs: 3000 }, times: 1 });
    const { error, failure } = await failureOf(client().listRoles(guild.id));
    expect(error).toBeInstanceOf(RateLimitError);
    expect(failure).toMatchObject({ type: 'rate_limited', retryable: true });
    // Retry-After is whole seconds; the library adds its 50 ms offset.
    expect(failure.retryAfterMs).toBeGreaterThanOrEqual(3000);
    expect(failure.retryAfterMs).toBeLessThanOrEqual(3100);
  });

  it('an empty bucket: once the library knows the bucket, it refuses before sending', async () => {
    // A window far longer than the test takes, however loaded the machine: the bounds below follow it.
    sandbox.setRateLimits({ buckets: { memberRoles: { limit: 1, windowMs: 60_000 } } });
    const { guild, approved } = setup();
    const api = client();
    await api.addMemberRole(guild.id, MEMBER, approved, 'r');
    // The first answer taught the library the bucket's hash, so the next call runs in a new
    // per-hash queue that has not seen "Remaining: 0" yet: it is sent and Discord answers 429.
    const answered = await failureOf(api.addMemberRole(guild.id, MEMBER, approved, 'r'));
    expect(answered.error).toBeInstanceOf(RateLimitError);
    expect(answered.failure).toMatchObject({ type: 'rate_limited', retryable: true });
    // From now on the library refuses locally, with the time left until the bucket resets.
    const { error, failure } = await failureOf(api.addMemberRole(guild.id, MEMBER, approved, 'r'));
    expect(error).toBeInstanceOf(RateLimitError);
    expect(failure.type).toBe('rate_limited');
    expect(failure.retryAfterMs).toBeGreaterThan(30_000);
    expect(failure.retryAfterMs).toBeLessThanOrEqual(60_100);
    const stats = sandbox.stats();
    expect(stats.byRoute['PUT /guilds/:guildId/members/:userId/roles/:roleId']).toEqual({
      requests: 2,
      rateLimited: 1,
    });
  });

  it('a global 429', async () => {
    sandbox.setRateLimits({ global: { limit: 1, windowMs: 60_000 } });
    const { guild } = setup();
    const api = client();
    await api.getCurrentUser();
    const { error, failure } = await failureOf(api.getGuild(guild.id));
    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as RateLimitError).global).toBe(true);
    expect(failure).toMatchObject({ type: 'rate_limited', retryable: true });
    expect(sandbox.stats().rateLimited).toBe(1);
  });

  it('a hanging answer: timeout, retryable', async () => {
    const { guild } = setup();
    sandbox.faults.add({ route: 'GET /guilds/:guildId', hang: true, times: 1 });
    const started = Date.now();
    const { failure } = await failureOf(client({ timeoutMs: 300 }).getGuild(guild.id));
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(failure).toMatchObject({ type: 'timeout', retryable: true });
  });

  it('connection refused or reset: network, retryable', async () => {
    const gone = await startSandbox();
    const api = createDiscordApi(createDiscordRest({ apiBaseUrl: gone.apiBaseUrl, botToken: gone.botToken }));
    await gone.close();
    const { failure } = await failureOf(api.getCurrentUser());
    expect(failure).toMatchObject({ type: 'network', retryable: true });

    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    expect(classifyDiscordError(reset)).toMatchObject({ type: 'network', retryable: true });
    expect(classifyDiscordError(new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } }))).toMatchObject({
      type: 'network',
    });
    expect(classifyDiscordError(new Error('boom'))).toMatchObject({ type: 'unexpected', retryable: false });
  });
});

describe('toActivityFailure', () => {
  it('permanent failures are non-retryable, with the classified failure in details[0]', async () => {
    const { guild, approved } = setup();
    const { error } = await failureOf(client().addMemberRole(guild.id, STRANGER, approved, 'r'));
    const failure = toActivityFailure(error);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.type).toBe('unknown_member');
    expect(failure.message).toContain('has not joined the Discord server yet');
    expect(failure.details?.[0]).toMatchObject({ type: 'unknown_member', code: 10007, retryable: false });
  });

  it('429 carries nextRetryDelay from Discord', async () => {
    const { guild } = setup();
    sandbox.faults.add({ route: 'GET /guilds/:guildId', rateLimit: { retryAfterMs: 2000 }, times: 1 });
    const { error } = await failureOf(client().getGuild(guild.id));
    const failure = toActivityFailure(error);
    expect(failure.nonRetryable).toBe(false);
    expect(failure.type).toBe('rate_limited');
    expect(failure.nextRetryDelay).toBe(2050);
    expect(failure.details?.[0]).toMatchObject({ type: 'rate_limited', retryAfterMs: 2050 });
  });

  it('other transient failures are retryable', async () => {
    const { guild } = setup();
    sandbox.faults.add({ route: 'GET /guilds/:guildId', status: 500, times: 1 });
    const { error } = await failureOf(client().getGuild(guild.id));
    const failure = toActivityFailure(error);
    expect(failure.nonRetryable).toBe(false);
    expect(failure.type).toBe('server_error');
    expect(failure.nextRetryDelay).toBeUndefined();
  });
});
