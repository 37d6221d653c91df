import { randomUUID } from 'node:crypto';
import {
  InvalidStateError,
  OAUTH_STATE_TTL_SECONDS,
  consumeOAuthStateNonce,
  signOAuthState,
  stateBelongsToSession,
  verifyOAuthState,
  type InvalidStateReason,
} from '../src/auth/oauth-state.js';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';

const SECRET = 'oauth-state-test-secret-of-at-least-32-bytes!';
const organizationId = randomUUID();
const userId = randomUUID();
const sessionId = randomUUID();

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

const sign = (now?: Date) => signOAuthState({ organizationId, userId, sessionId }, SECRET, now);

/** The reason `promise` was refused with; fails the test when it was not an InvalidStateError. */
async function refusal(promise: Promise<unknown>): Promise<InvalidStateReason> {
  const err: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InvalidStateError);
  return (err as InvalidStateError).reason;
}

function decodePart(part: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

test('signOAuthState / verifyOAuthState: a fresh state verifies and says whose it is', async () => {
  const before = Date.now();
  const state = await sign();
  const claims = await verifyOAuthState(state, { secret: SECRET, sessionId });
  expect(claims.organizationId).toBe(organizationId);
  expect(claims.userId).toBe(userId);
  expect(claims.nonce).toMatch(/^[A-Za-z0-9_-]{22}$/);
  const ttl = claims.expiresAt.getTime() - before;
  expect(ttl).toBeGreaterThan((OAUTH_STATE_TTL_SECONDS - 2) * 1000);
  expect(ttl).toBeLessThanOrEqual(OAUTH_STATE_TTL_SECONDS * 1000);
  // The session id is in the state only as a hash: the URL does not carry it.
  expect(state).not.toContain(sessionId);
  expect(JSON.stringify(decodePart(state.split('.')[1]!))).not.toContain(sessionId);
  // Two states for the same session have distinct nonces.
  expect((await verifyOAuthState(await sign(), { secret: SECRET })).nonce).not.toBe(claims.nonce);
});

test('verifyOAuthState: another organization written into the payload breaks the signature', async () => {
  const [header, payload, signature] = (await sign()).split('.') as [string, string, string];
  const claims = decodePart(payload);
  const forged = Buffer.from(JSON.stringify({ ...claims, org: randomUUID() })).toString('base64url');
  expect(await refusal(verifyOAuthState(`${header}.${forged}.${signature}`, { secret: SECRET, sessionId }))).toBe(
    'bad_signature',
  );
});

test('verifyOAuthState: one changed character of the signature is refused', async () => {
  const state = await sign();
  const [header, payload, signature] = state.split('.') as [string, string, string];
  // The first character carries 6 full bits (the last one only partly): changing it changes the bytes.
  const changed = (signature[0] === 'A' ? 'B' : 'A') + signature.slice(1);
  expect(await refusal(verifyOAuthState(`${header}.${payload}.${changed}`, { secret: SECRET, sessionId }))).toBe(
    'bad_signature',
  );
});

test('verifyOAuthState: a state signed with another secret is refused', async () => {
  const state = await signOAuthState({ organizationId, userId, sessionId }, 'another-secret-that-is-32-bytes-long!!');
  expect(await refusal(verifyOAuthState(state, { secret: SECRET }))).toBe('bad_signature');
});

test('verifyOAuthState: a 6-minute-old state has expired; a 4-minute-old one has not', async () => {
  const now = new Date();
  const old = await sign(new Date(now.getTime() - 6 * 60_000));
  expect(await refusal(verifyOAuthState(old, { secret: SECRET, sessionId, now }))).toBe('expired');
  const recent = await sign(new Date(now.getTime() - 4 * 60_000));
  await expect(verifyOAuthState(recent, { secret: SECRET, sessionId, now })).resolves.toMatchObject({ organizationId });
});

test("verifyOAuthState: the old app's plain base64 JSON state is refused without being read", async () => {
  const legacy = btoa(JSON.stringify({ organizationId, userId }));
  const err = await verifyOAuthState(legacy, { secret: SECRET }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(InvalidStateError);
  expect((err as InvalidStateError).reason).toBe('malformed');
  expect((err as Error).message).not.toContain(organizationId);
});

test('verifyOAuthState: an unsigned JWT (alg none) with valid claims is refused', async () => {
  const payload = decodePart((await sign()).split('.')[1]!);
  const unsigned = [{ alg: 'none', typ: 'JWT' }, payload]
    .map((part) => Buffer.from(JSON.stringify(part)).toString('base64url'))
    .join('.');
  expect(await refusal(verifyOAuthState(`${unsigned}.`, { secret: SECRET }))).toBe('malformed');
  expect(await refusal(verifyOAuthState('', { secret: SECRET }))).toBe('malformed');
});

test("verifyOAuthState: another session's state is refused when the session is given", async () => {
  const state = await sign();
  expect(await refusal(verifyOAuthState(state, { secret: SECRET, sessionId: randomUUID() }))).toBe('wrong_session');
});

test('stateBelongsToSession: checks the session separately, after a verification without one', async () => {
  const claims = await verifyOAuthState(await sign(), { secret: SECRET });
  expect(stateBelongsToSession(claims, sessionId)).toBe(true);
  expect(stateBelongsToSession(claims, randomUUID())).toBe(false);
});

test('consumeOAuthStateNonce: a state is accepted once; the replay is refused', async () => {
  const claims = await verifyOAuthState(await sign(), { secret: SECRET, sessionId });
  await consumeOAuthStateNonce(db.pool, claims.nonce, claims.expiresAt);
  expect(await refusal(consumeOAuthStateNonce(db.pool, claims.nonce, claims.expiresAt))).toBe('replayed');
  const { rows } = await db.pool.query<{ expires_at: Date }>(
    'SELECT expires_at FROM oauth_state_uses WHERE nonce = $1',
    [claims.nonce],
  );
  expect(rows).toEqual([{ expires_at: claims.expiresAt }]);
});

test('consumeOAuthStateNonce: of concurrent uses of one state, exactly one wins', async () => {
  const claims = await verifyOAuthState(await sign(), { secret: SECRET });
  const results = await Promise.allSettled(
    Array.from({ length: 8 }, () => consumeOAuthStateNonce(db.pool, claims.nonce, claims.expiresAt)),
  );
  expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  expect(refused).toHaveLength(7);
  for (const r of refused) expect((r.reason as InvalidStateError).reason).toBe('replayed');
});

test('signOAuthState refuses a secret shorter than 32 bytes', async () => {
  await expect(signOAuthState({ organizationId, userId, sessionId }, 'short')).rejects.toThrow(/32 bytes/);
});
