import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { hashPassword } from '../src/auth/password.js';
import { signOAuthState } from '../src/auth/oauth-state.js';
import { createUser } from '../src/db/users.js';
import { TEST_STATE_SECRET } from './helpers/app.js';
import { PASSWORD, startStack, type Org, type Stack } from './helpers/stack.js';
import {
  authorizeUrl,
  beginConnect,
  configRows,
  followCallback,
  outcomeOf,
  sessionIdOf,
} from './helpers/discord-connect.js';

/**
 * The attacks of the old app's review, against the bot callback: every one is refused before
 * anything reaches Discord (no token exchange: `sandbox.stats()` does not move) and writes nothing.
 * Refusals count towards the per-client limit (20 per 10 minutes): this file's main stack makes 16;
 * the limit itself is tested on a stack of its own, from other loopback addresses.
 */

let stack: Stack;
let orgA: Org;
let orgB: Org;
let cookieA: string;
let cookieB: string;
let guildId: string;

beforeAll(async () => {
  stack = await startStack();
  [orgA, orgB] = await Promise.all([stack.createOrg('Org A'), stack.createOrg('Org B')]);
  [cookieA, cookieB] = await Promise.all([stack.login(orgA.adminEmail), stack.login(orgB.adminEmail)]);
  guildId = stack.sandbox.createGuild({ name: 'Target Guild' }).id;
});
afterAll(async () => {
  await stack?.close();
});

/** Discord's redirect back to us, carrying `state` and a real, unused code. */
function callbackUrlWith(state: string, redirectUri: string): string {
  return stack.sandbox.authorize({ redirectUri, state, guildId, permissions: '268435456' });
}

/** Every connection row, as it is now: a refused callback must not change any of them. */
async function allConfigs(): Promise<unknown[]> {
  const { rows } = await stack.db.pool.query('SELECT * FROM discord_configs ORDER BY organization_id');
  return rows;
}

/** Follows the callback and checks it was refused with `error`, with no Discord call and nothing written. */
async function expectRefused(url: string, cookie: string | undefined, error: string): Promise<void> {
  const requests = stack.sandbox.stats().requests;
  const configs = await allConfigs();
  expect(outcomeOf(await followCallback(url, cookie))).toBe(`error=${error}`);
  expect(stack.sandbox.stats().requests).toBe(requests);
  expect(await allConfigs()).toEqual(configs);
}

/** A state for the admin of org A, and the callback URL Discord would send them to. */
async function stateForA(): Promise<{ state: string; redirectUri: string }> {
  return beginConnect(stack, cookieA);
}

const b64urlJson = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const parseB64urlJson = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as object;

test('a state whose organization was changed (signature kept) is invalid_state', async () => {
  const { state, redirectUri } = await stateForA();
  const [header, payload, signature] = state.split('.') as [string, string, string];
  const forged = `${header}.${b64urlJson({ ...parseB64urlJson(payload), org: orgB.id })}.${signature}`;
  await expectRefused(callbackUrlWith(forged, redirectUri), cookieA, 'invalid_state');
});

test('a state with one changed signature character is invalid_state', async () => {
  const { state, redirectUri } = await stateForA();
  const [header, payload, signature] = state.split('.') as [string, string, string];
  const i = 10; // inside the signature, where every character carries 6 bits
  const changed = `${signature.slice(0, i)}${signature[i] === 'A' ? 'B' : 'A'}${signature.slice(i + 1)}`;
  await expectRefused(callbackUrlWith(`${header}.${payload}.${changed}`, redirectUri), cookieA, 'invalid_state');
});

test('a 6-minute-old state is invalid_state (a 4-minute-old one is accepted, then refused when replayed)', async () => {
  const { sessionId, userId } = await sessionIdOf(stack, orgA.adminEmail);
  const { redirectUri } = await stateForA();
  const signedAgo = (minutes: number) =>
    signOAuthState(
      { organizationId: orgA.id, userId, sessionId },
      TEST_STATE_SECRET,
      new Date(Date.now() - minutes * 60_000),
    );
  await expectRefused(callbackUrlWith(await signedAgo(6), redirectUri), cookieA, 'invalid_state');

  // Control: the same claims, still within the 5 minutes, connect org A...
  const valid = callbackUrlWith(await signedAgo(4), redirectUri);
  expect(outcomeOf(await followCallback(valid, cookieA))).toBe('success=bot_connected');
  expect(await configRows(stack, orgA.id)).toEqual([expect.objectContaining({ connection_state: 'connected' })]);
  // ...once: the very same callback again is a replay.
  await expectRefused(valid, cookieA, 'invalid_state');
});

test("plain base64 JSON (the old app's state) is invalid_state", async () => {
  const { userId } = await sessionIdOf(stack, orgB.adminEmail);
  const { redirectUri } = await stateForA();
  const old = Buffer.from(JSON.stringify({ organizationId: orgB.id, userId, timestamp: Date.now() })).toString(
    'base64',
  );
  await expectRefused(callbackUrlWith(old, redirectUri), cookieA, 'invalid_state');
  await expectRefused(callbackUrlWith(b64urlJson({ org: orgB.id }), redirectUri), cookieB, 'invalid_state');
});

test('a replayed state is invalid_state, even with a fresh code', async () => {
  // Org B's state is spent by a callback that passes every check (its connection then fails on
  // Discord's side: the bot was given no permissions). Replayed with a new, valid code: refused.
  const { state, redirectUri } = await beginConnect(stack, cookieB);
  const noPerms = stack.sandbox.createGuild({ name: 'Replay Guild' });
  const first = stack.sandbox.authorize({ redirectUri, state, guildId: noPerms.id, permissions: '0' });
  expect(outcomeOf(await followCallback(first, cookieB))).toBe('error=missing_permissions');

  await expectRefused(callbackUrlWith(state, redirectUri), cookieB, 'invalid_state');
  await expectRefused(first, cookieB, 'invalid_state');
});

test('no session: unauthorized', async () => {
  const { state, redirectUri } = await stateForA();
  await expectRefused(callbackUrlWith(state, redirectUri), undefined, 'unauthorized');
  await expectRefused(callbackUrlWith(state, redirectUri), 'sid=not-a-session-token', 'unauthorized');
});

test("org B's state with org A's session: invalid_state; a state for B bound to A's own session: forbidden", async () => {
  const { state, redirectUri } = await beginConnect(stack, cookieB);
  await expectRefused(callbackUrlWith(state, redirectUri), cookieA, 'invalid_state');

  // The same session and user, but a state naming another organization (as if our secret had signed it).
  const { sessionId, userId } = await sessionIdOf(stack, orgA.adminEmail);
  const forB = await signOAuthState({ organizationId: orgB.id, userId, sessionId }, TEST_STATE_SECRET);
  await expectRefused(callbackUrlWith(forB, redirectUri), cookieA, 'forbidden');
});

test('a state from another session of the same admin: invalid_state', async () => {
  const { state, redirectUri } = await beginConnect(stack, cookieB);
  const otherSession = await stack.login(orgB.adminEmail);
  await expectRefused(callbackUrlWith(state, redirectUri), otherSession, 'invalid_state');
});

test('a user without organization: forbidden at connect and at the callback', async () => {
  const email = `loner-${randomUUID()}@example.com`;
  await createUser(stack.db.pool, {
    organizationId: null,
    email,
    passwordHash: await hashPassword(PASSWORD),
    role: 'admin',
  });
  const cookie = await stack.login(email);
  const connectRes = await stack.api('/api/discord/connect', { cookie });
  expect(connectRes.status).toBe(302);
  expect(outcomeOf(new URL(connectRes.headers.get('location')!))).toBe('error=forbidden');

  const { sessionId, userId } = await sessionIdOf(stack, email);
  const { redirectUri } = await stateForA();
  const state = await signOAuthState({ organizationId: orgB.id, userId, sessionId }, TEST_STATE_SECRET);
  await expectRefused(callbackUrlWith(state, redirectUri), cookie, 'forbidden');
});

test('an organization that does not exist: forbidden', async () => {
  const { sessionId, userId } = await sessionIdOf(stack, orgA.adminEmail);
  const { redirectUri } = await stateForA();
  const ghost = randomUUID();
  const state = await signOAuthState({ organizationId: ghost, userId, sessionId }, TEST_STATE_SECRET);
  await expectRefused(callbackUrlWith(state, redirectUri), cookieA, 'forbidden');
  expect(await configRows(stack, ghost)).toEqual([]);
});

test('a reviewer (not admin): 403 at connect, forbidden at the callback', async () => {
  const cookie = await stack.login(orgB.reviewerEmail);
  const connectRes = await stack.api('/api/discord/connect', { cookie });
  expect(connectRes.status).toBe(403);

  const { sessionId, userId } = await sessionIdOf(stack, orgB.reviewerEmail);
  const { redirectUri } = await stateForA();
  const state = await signOAuthState({ organizationId: orgB.id, userId, sessionId }, TEST_STATE_SECRET);
  await expectRefused(callbackUrlWith(state, redirectUri), cookie, 'forbidden');
});

test('access_denied: the admin cancelled on Discord', async () => {
  const url = await authorizeUrl(stack, cookieB, guildId, { deny: true });
  expect(new URL(url).searchParams.get('code')).toBeNull();
  await expectRefused(url, cookieB, 'access_denied');
});

describe('rate limit of refused callbacks (a stack of its own)', () => {
  let limited: Stack;

  beforeAll(async () => {
    limited = await startStack();
  });
  afterAll(async () => {
    await limited?.close();
  });

  async function admin(): Promise<string> {
    return limited.login((await limited.createOrg()).adminEmail);
  }

  /** Follows a callback URL from the loopback address `localAddress`: each address is another client. */
  const callbackFrom = (localAddress: string, url: string, cookie: string): Promise<string> =>
    new Promise((resolve, reject) => {
      http
        .get(url, { localAddress, headers: { cookie } }, (res) => {
          res.resume();
          resolve(outcomeOf(new URL(res.headers.location!)));
        })
        .on('error', reject);
    });

  test('after 20 refusals in 10 minutes: too_many_attempts, for valid callbacks too, for that client only', async () => {
    const cookie = await admin();
    const guild = limited.sandbox.createGuild({ name: 'Limited' });
    const callback = `${limited.app.baseUrl}/api/discord/bot-callback`;
    const from = (url: string) => callbackFrom('127.0.0.2', url, cookie);

    // Answers that are not refusals do not count.
    for (let i = 0; i < 5; i += 1) {
      expect(await from(`${callback}?error=access_denied&state=x`)).toBe('error=access_denied');
    }
    for (let i = 0; i < 20; i += 1) {
      expect(await from(`${callback}?code=c&state=forged-${i}`)).toBe('error=invalid_state');
    }
    expect(await from(`${callback}?code=c&state=forged-21`)).toBe('error=too_many_attempts');
    const valid = await authorizeUrl(limited, cookie, guild.id);
    const requests = limited.sandbox.stats().requests;
    expect(await from(valid)).toBe('error=too_many_attempts');
    expect(limited.sandbox.stats().requests).toBe(requests);

    // Another client is not affected.
    expect(await callbackFrom('127.0.0.3', `${callback}?code=c&state=forged`, cookie)).toBe('error=invalid_state');
  });

  test('callbacks that are not refused never count, not even while they run', async () => {
    const cookie = await admin();
    const guild = limited.sandbox.createGuild({ name: 'Busy Client' });
    const callback = `${limited.app.baseUrl}/api/discord/bot-callback`;
    const from = (url: string) => callbackFrom('127.0.0.4', url, cookie);

    for (let i = 0; i < 15; i += 1)
      expect(await from(`${callback}?code=c&state=expired-${i}`)).toBe('error=invalid_state');
    // 15 refusals so far: twenty tabs finishing the flow at once are all answered on their merits.
    const urls: string[] = [];
    for (let i = 0; i < 20; i += 1) urls.push(await authorizeUrl(limited, cookie, guild.id));
    const outcomes = await Promise.all(urls.map(from));
    const won = (o: string) => o === 'success=bot_connected' || o === 'status=connecting';
    expect(outcomes.filter(won)).toHaveLength(1);
    for (const o of outcomes.filter((x) => !won(x))) {
      expect(['error=connection_in_progress', 'error=already_connected']).toContain(o);
    }
    // Five more refusals are still answered as such; the 21st attempt after them is not.
    for (let i = 0; i < 5; i += 1) expect(await from(`${callback}?code=c&state=late-${i}`)).toBe('error=invalid_state');
    expect(await from(`${callback}?code=c&state=late-5`)).toBe('error=too_many_attempts');
  });

  test('a burst of 30 forged callbacks at once: 20 answered invalid_state, the other 10 too_many_attempts', async () => {
    const cookie = await admin();
    const callback = `${limited.app.baseUrl}/api/discord/bot-callback`;
    const burst = Array.from({ length: 30 }, (_, i) =>
      callbackFrom('127.0.0.5', `${callback}?code=c&state=f${i}`, cookie),
    );
    const outcomes = await Promise.all(burst);
    expect(outcomes.filter((o) => o === 'error=invalid_state')).toHaveLength(20);
    expect(outcomes.filter((o) => o === 'error=too_many_attempts')).toHaveLength(10);
  });
});
