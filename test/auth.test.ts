import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { hashPassword, verifyPassword } from '../src/auth/password.js';
import { createOrganizationWithAdmin } from '../src/db/organizations.js';
import { createUser } from '../src/db/users.js';
import { ACCOUNT_LOCKOUT, LOGIN_ADDRESS_LIMIT, LOGIN_RATE_LIMIT } from '../src/http/routes/auth.js';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { runProcess } from './helpers/run.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const ADMIN = { email: 'admin@acme.test', password: 'correct horse battery staple' };
/** What a production process needs besides the state secret (startTestApp's). */
const PRODUCTION_ENV = {
  NODE_ENV: 'production',
  DISCORD_CLIENT_ID: 'id',
  DISCORD_CLIENT_SECRET: 'secret',
  DISCORD_BOT_TOKEN: 'token',
  TOKEN_ENCRYPTION_KEY: Buffer.alloc(32, 3).toString('base64'),
};

let db: TestDatabase;
let app: TestApp;
let organizationId: string;
let adminId: string;

beforeAll(async () => {
  db = await createTestDatabase();
  app = await startTestApp(db.pool);
  const { organization, admin } = await createOrganizationWithAdmin(db.pool, {
    name: 'Acme Club',
    adminEmail: ADMIN.email,
    adminPasswordHash: await hashPassword(ADMIN.password),
  });
  organizationId = organization.id;
  adminId = admin.id;
});
afterAll(async () => {
  await app.close();
  await db.drop();
});
// Every test signs in from 127.0.0.1: one test's failures must not use up the next one's budget.
afterEach(async () => {
  await db.pool.query('DELETE FROM rate_limit_hits');
});

interface ErrorBody {
  error: { code: string; message: string };
}

const loginAt = (baseUrl: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> =>
  fetch(`${baseUrl}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
const login = (body: unknown, headers: Record<string, string> = {}) => loginAt(app.baseUrl, body, headers);

/** Signs in and returns the `sid=...` pair to send back as a Cookie header. */
async function signIn(credentials = ADMIN): Promise<string> {
  const res = await login(credentials);
  expect(res.status).toBe(200);
  const setCookie = res.headers.getSetCookie().find((c) => c.startsWith('sid='));
  expect(setCookie).toBeDefined();
  return setCookie!.split(';')[0]!;
}

const me = (cookie?: string) => fetch(`${app.baseUrl}/api/me`, { headers: cookie ? { cookie } : {} });
const tokenOf = (cookie: string) => cookie.slice('sid='.length);

describe('hashPassword / verifyPassword', () => {
  test('a hash has the scrypt$N$r$p$salt$hash form and verifies only the right password', async () => {
    const stored = await hashPassword('s3cret-password');
    const [scheme, n, r, p, salt, key] = stored.split('$');
    expect([scheme, n, r, p]).toEqual(['scrypt', '16384', '8', '1']);
    expect(Buffer.from(salt!, 'base64')).toHaveLength(16);
    expect(Buffer.from(key!, 'base64')).toHaveLength(64);
    expect(await verifyPassword('s3cret-password', stored)).toBe(true);
    expect(await verifyPassword('s3cret-passwore', stored)).toBe(false);
    expect(await hashPassword('s3cret-password')).not.toBe(stored);
  });

  test('a malformed stored hash verifies nothing and does not throw', async () => {
    expect(await verifyPassword('x', 'plain-text')).toBe(false);
    expect(await verifyPassword('x', 'scrypt$abc$8$1$AAAA$AAAA')).toBe(false);
  });
});

describe('POST /api/auth/login', () => {
  test('right credentials answer the user and organization, with an HttpOnly SameSite=Lax cookie', async () => {
    const res = await login({ email: 'Admin@Acme.test', password: ADMIN.password });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      user: { id: adminId, email: ADMIN.email, role: 'admin' },
      organization: { id: organizationId, slug: 'acme-club', name: 'Acme Club' },
    });
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('sid='))!;
    const attributes = cookie.split(';').map((a) => a.trim().toLowerCase());
    expect(attributes).toEqual(expect.arrayContaining(['httponly', 'samesite=lax', 'path=/']));
    // Not production: no Secure, so the cookie works on http://localhost.
    expect(attributes).not.toContain('secure');
    expect(tokenOf(cookie.split(';')[0]!)).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  test('in production the cookie is Secure', async () => {
    const prod = await startTestApp(db.pool, PRODUCTION_ENV);
    try {
      const res = await fetch(`${prod.baseUrl}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(ADMIN),
      });
      expect(res.status).toBe(200);
      const cookie = res.headers.getSetCookie().find((c) => c.startsWith('sid='))!;
      expect(cookie.split(';').map((a) => a.trim().toLowerCase())).toContain('secure');
    } finally {
      await prod.close();
    }
  });

  test('only the SHA-256 of the token is stored, and the login is in the audit log', async () => {
    const before = await db.pool.query<{ id: string }>('SELECT id FROM sessions');
    const cookie = await signIn();
    const token = tokenOf(cookie);
    const rows = await db.pool.query<{ id: string; token_hash: Buffer; user_id: string; expires_at: Date }>(
      'SELECT id, token_hash, user_id, expires_at FROM sessions WHERE NOT (id = ANY($1::uuid[]))',
      [before.rows.map((r) => r.id)],
    );
    expect(rows.rows).toHaveLength(1);
    const row = rows.rows[0]!;
    expect(row.token_hash.equals(createHash('sha256').update(token).digest())).toBe(true);
    expect(row.user_id).toBe(adminId);
    // SESSION_TTL_HOURS defaults to 12.
    expect(Math.abs(row.expires_at.getTime() - Date.now() - 12 * 3_600_000)).toBeLessThan(60_000);
    const everything = await db.pool.query('SELECT * FROM sessions');
    expect(JSON.stringify(everything.rows)).not.toContain(token);

    const audit = await db.pool.query(
      `SELECT organization_id, actor_user_id, subject_type, subject_id, details FROM audit_log
       WHERE action = 'user.login' AND details->>'sessionId' = $1`,
      [row.id],
    );
    expect(audit.rows).toEqual([
      {
        organization_id: organizationId,
        actor_user_id: adminId,
        subject_type: 'user',
        subject_id: adminId,
        details: { sessionId: row.id },
      },
    ]);
    expect(JSON.stringify(audit.rows)).not.toContain(ADMIN.password);
  });

  test('a login over a stale cookie answers exactly one sid cookie: the new session', async () => {
    const stale = `sid=${Buffer.alloc(32, 9).toString('base64url')}`;
    const res = await login(ADMIN, { cookie: stale, origin: app.baseUrl });
    expect(res.status).toBe(200);
    const sids = res.headers.getSetCookie().filter((c) => c.startsWith('sid='));
    expect(sids).toHaveLength(1);
    expect((await me(sids[0]!.split(';')[0]!)).status).toBe(200);
  });

  test('a login over a live session ends that session', async () => {
    const old = await signIn();
    const res = await login(ADMIN, { cookie: old, origin: app.baseUrl });
    expect(res.status).toBe(200);
    expect((await me(old)).status).toBe(401);
  });

  test('a wrong password and an unknown email get the same 401 invalid_credentials', async () => {
    const wrong = await login({ email: ADMIN.email, password: 'not the password' });
    const unknown = await login({ email: 'nobody@acme.test', password: 'not the password' });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    const wrongBody = (await wrong.json()) as ErrorBody;
    expect(wrongBody.error.code).toBe('invalid_credentials');
    expect(await unknown.json()).toEqual(wrongBody);
    expect(wrong.headers.getSetCookie().some((c) => c.startsWith('sid='))).toBe(false);
  });

  test('an unknown email costs about as long as a wrong password (no user enumeration by timing)', async () => {
    // This process's CPU time (the app runs in it; scrypt on its thread pool counts too), not the
    // wall clock, which other processes on a loaded machine stretch at random.
    const time = async (email: string) => {
      const started = process.cpuUsage();
      await login({ email, password: 'not the password' });
      const used = process.cpuUsage(started);
      return (used.user + used.system) / 1000;
    };
    // Few attempts per email: the rate limit stays out of the measurement.
    const known: number[] = [];
    const unknown: number[] = [];
    await createUser(db.pool, {
      organizationId,
      email: 'timing@acme.test',
      passwordHash: await hashPassword('timing-password'),
      role: 'reviewer',
    });
    for (let i = 0; i < 4; i++) {
      known.push(await time('timing@acme.test'));
      unknown.push(await time(`ghost${i}@acme.test`));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    // scrypt takes tens of milliseconds of CPU: without the dummy hash an unknown email would cost ~1 ms.
    expect(median(unknown)).toBeGreaterThan(median(known) * 0.5);
  });

  test('a body without a valid email or password answers 400 invalid_request saying what is wrong', async () => {
    const res = await login({ email: 'not-an-email', password: '' });
    expect(res.status).toBe(400);
    const body = (await res.json()) as ErrorBody;
    expect(body.error.code).toBe('invalid_request');
    expect(body.error.message).toBe('email: must be an email address; password: must not be empty');

    const missing = await fetch(`${app.baseUrl}/api/auth/login`, { method: 'POST' });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as ErrorBody).error.message).toMatch(/JSON body/);
  });

  test(`after ${LOGIN_RATE_LIMIT.limit} failures for one email and address, the next attempt gets 429`, async () => {
    const email = 'target@acme.test';
    await createUser(db.pool, {
      organizationId,
      email,
      passwordHash: await hashPassword('target-password'),
      role: 'reviewer',
    });
    for (let i = 0; i < LOGIN_RATE_LIMIT.limit; i++) {
      expect((await login({ email, password: `guess-${i}` })).status).toBe(401);
    }
    const limited = await login({ email, password: 'target-password' });
    expect(limited.status).toBe(429);
    expect(((await limited.json()) as ErrorBody).error.code).toBe('too_many_requests');
    // Another account from the same address is not locked out.
    expect((await login(ADMIN)).status).toBe(200);
  });
});

describe('rate limits behind proxies and across replicas', () => {
  const newReviewer = async (email: string, password: string) =>
    createUser(db.pool, { organizationId, email, passwordHash: await hashPassword(password), role: 'reviewer' });

  test('by default X-Forwarded-For is ignored: rotating it does not escape the limit (production mode)', async () => {
    const production = await startTestApp(db.pool, PRODUCTION_ENV);
    try {
      const email = 'rotating@acme.test';
      await newReviewer(email, 'rotating-password');
      const statuses: number[] = [];
      for (let i = 0; i < 14; i++) {
        const res = await loginAt(
          production.baseUrl,
          { email, password: `guess-${i}` },
          {
            'x-forwarded-for': `203.0.113.${i + 1}`,
          },
        );
        statuses.push(res.status);
      }
      expect(statuses).toEqual([
        ...Array(LOGIN_RATE_LIMIT.limit).fill(401),
        ...Array(14 - LOGIN_RATE_LIMIT.limit).fill(429),
      ]);
    } finally {
      await production.close();
    }
  });

  test('two API replicas on one database share one budget', async () => {
    const second = await startTestApp(db.pool);
    try {
      const email = 'replicas@acme.test';
      await newReviewer(email, 'replicas-password');
      const statuses: number[] = [];
      for (let i = 0; i < 14; i++) {
        const replica = i % 2 === 0 ? app.baseUrl : second.baseUrl;
        statuses.push((await loginAt(replica, { email, password: `guess-${i}` })).status);
      }
      expect(statuses.filter((s) => s === 401)).toHaveLength(LOGIN_RATE_LIMIT.limit);
      expect(statuses.slice(LOGIN_RATE_LIMIT.limit)).toEqual([429, 429, 429, 429]);
      // Counters live in Postgres, under the limiter's name.
      const { rows } = await db.pool.query(`SELECT hits FROM rate_limit_hits WHERE limiter = 'login' AND key LIKE $1`, [
        `%|${email}`,
      ]);
      expect(rows).toEqual([{ hits: 14 }]);
    } finally {
      await second.close();
    }
  });

  test(`behind a trusted proxy each client counts apart, and ${ACCOUNT_LOCKOUT.limit} failures from many addresses lock the account`, async () => {
    const proxied = await startTestApp(db.pool, { TRUST_PROXY: 'loopback' });
    try {
      const email = 'lockout@acme.test';
      const password = 'lockout-password';
      const user = await newReviewer(email, password);
      const from = (i: number) => ({ 'x-forwarded-for': `198.51.100.${i + 1}` });
      // Each address stays under its own limit of LOGIN_RATE_LIMIT.limit.
      for (let i = 0; i < ACCOUNT_LOCKOUT.limit; i++) {
        expect((await loginAt(proxied.baseUrl, { email, password: `guess-${i}` }, from(i))).status).toBe(401);
      }
      // Now even the right password, from a new address, is refused, and says until when.
      const locked = await loginAt(proxied.baseUrl, { email, password }, from(200));
      expect(locked.status).toBe(429);
      expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
      const body = (await locked.json()) as ErrorBody;
      expect(body.error.code).toBe('account_locked');
      expect(body.error.message).toMatch(/locked until \d\d:\d\d UTC/);
      // Another account is not affected.
      expect((await loginAt(proxied.baseUrl, ADMIN, from(201))).status).toBe(200);

      const { rows } = await db.pool.query(
        `SELECT organization_id, subject_id, details FROM audit_log WHERE action = 'user.login_failed' AND details->>'email' = $1 ORDER BY id`,
        [email],
      );
      expect(rows).toHaveLength(ACCOUNT_LOCKOUT.limit + 1);
      expect(rows[0]).toEqual({
        organization_id: organizationId,
        subject_id: user.id,
        details: { email, reason: 'wrong_password', ip: '198.51.100.1' },
      });
      expect(rows.at(-1).details).toEqual({ email, reason: 'account_locked', ip: '198.51.100.201' });
    } finally {
      await proxied.close();
    }
  });

  test('attempts sent all at once from many addresses check at most the lockout limit of passwords', async () => {
    const proxied = await startTestApp(db.pool, { TRUST_PROXY: 'loopback' });
    try {
      const email = 'burst@acme.test';
      await newReviewer(email, 'burst-password');
      const attempts = 2 * ACCOUNT_LOCKOUT.limit;
      const statuses = await Promise.all(
        Array.from({ length: attempts }, (_, i) =>
          loginAt(proxied.baseUrl, { email, password: `guess-${i}` }, { 'x-forwarded-for': `192.0.2.${i + 1}` }).then(
            (r) => r.status,
          ),
        ),
      );
      // Each 401 is a password that was checked; the others were refused before any check.
      expect(statuses.filter((s) => s === 401)).toHaveLength(ACCOUNT_LOCKOUT.limit);
      expect(statuses.filter((s) => s === 429)).toHaveLength(attempts - ACCOUNT_LOCKOUT.limit);
    } finally {
      await proxied.close();
    }
  });

  test(`one address trying many accounts is stopped after ${LOGIN_ADDRESS_LIMIT.limit} failures`, async () => {
    const proxied = await startTestApp(db.pool, { TRUST_PROXY: 'loopback' });
    try {
      const from = { 'x-forwarded-for': '192.0.2.250' };
      const statuses: number[] = [];
      for (let i = 0; i <= LOGIN_ADDRESS_LIMIT.limit; i++) {
        statuses.push(
          (await loginAt(proxied.baseUrl, { email: `spray-${i}@acme.test`, password: 'Summer2026!' }, from)).status,
        );
      }
      expect(statuses.slice(0, -1).every((s) => s === 401)).toBe(true);
      expect(statuses.at(-1)).toBe(429);
      // A made-up X-Forwarded-For value (not an address) is no way around it either: one shared key.
      const junk = await loginAt(
        proxied.baseUrl,
        { email: 'junk@acme.test', password: 'x' },
        { 'x-forwarded-for': 'nonsense-1' },
      );
      const junk2 = await loginAt(
        proxied.baseUrl,
        { email: 'junk@acme.test', password: 'x' },
        { 'x-forwarded-for': 'nonsense-2' },
      );
      expect([junk.status, junk2.status]).toEqual([401, 401]);
      const { rows } = await db.pool.query(
        `SELECT key, hits FROM rate_limit_hits WHERE limiter = 'login-address' AND key = 'not-an-address'`,
      );
      expect(rows).toEqual([{ key: 'not-an-address', hits: 2 }]);
    } finally {
      await proxied.close();
    }
  });

  test('npm run cli -- unlock-account ends a lock, in the audit log', async () => {
    const proxied = await startTestApp(db.pool, { TRUST_PROXY: 'loopback' });
    try {
      const email = 'unlock.me_1@acme.test';
      const password = 'unlock-password';
      const user = await newReviewer(email, password);
      for (let i = 0; i < ACCOUNT_LOCKOUT.limit; i++) {
        await loginAt(
          proxied.baseUrl,
          { email, password: `guess-${i}` },
          { 'x-forwarded-for': `203.0.113.${100 + i}` },
        );
      }
      const locked = await loginAt(proxied.baseUrl, { email, password }, { 'x-forwarded-for': '203.0.113.99' });
      expect(locked.status).toBe(429);

      const { code, stdout, stderr } = await runProcess(
        process.execPath,
        [
          path.join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'),
          'src/bin/cli.ts',
          'unlock-account',
          '--email',
          'Unlock.Me_1@acme.test',
        ],
        { cwd: root, env: { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: db.url } },
      );
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      expect(JSON.parse(stdout)).toEqual({ email, countersDeleted: expect.any(Number) });
      expect(JSON.parse(stdout).countersDeleted).toBeGreaterThanOrEqual(1);

      expect((await loginAt(proxied.baseUrl, { email, password }, { 'x-forwarded-for': '203.0.113.99' })).status).toBe(
        200,
      );
      const audit = await db.pool.query(`SELECT subject_id FROM audit_log WHERE action = 'user.unlocked'`);
      expect(audit.rows).toEqual([{ subject_id: user.id }]);
    } finally {
      await proxied.close();
    }
  });

  test('an unknown email is audited too, without an organization', async () => {
    expect((await login({ email: 'stranger@acme.test', password: 'whatever' })).status).toBe(401);
    const { rows } = await db.pool.query(
      `SELECT organization_id, subject_id, details->>'reason' AS reason FROM audit_log WHERE action = 'user.login_failed' AND details->>'email' = 'stranger@acme.test'`,
    );
    expect(rows).toEqual([{ organization_id: null, subject_id: null, reason: 'unknown_email' }]);
  });
});

describe('GET /api/me', () => {
  test('with a session: the user and organization', async () => {
    const cookie = await signIn();
    const res = await me(cookie);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      user: { id: adminId, email: ADMIN.email, role: 'admin' },
      organization: { id: organizationId, slug: 'acme-club', name: 'Acme Club' },
    });
  });

  test('a user without an organization gets organization null', async () => {
    await createUser(db.pool, {
      organizationId: null,
      email: 'loner@example.test',
      passwordHash: await hashPassword('loner-password'),
      role: 'reviewer',
    });
    const res = await me(await signIn({ email: 'loner@example.test', password: 'loner-password' }));
    expect(res.status).toBe(200);
    expect(((await res.json()) as { organization: unknown }).organization).toBeNull();
  });

  test('without a session, or with a made-up token: 401 unauthorized', async () => {
    const none = await me();
    expect(none.status).toBe(401);
    expect(((await none.json()) as ErrorBody).error.code).toBe('unauthorized');
    const forged = await me(`sid=${Buffer.alloc(32, 7).toString('base64url')}`);
    expect(forged.status).toBe(401);
  });

  test('an expired session is refused', async () => {
    const cookie = await signIn();
    await db.pool.query(`UPDATE sessions SET expires_at = now() - interval '1 second' WHERE token_hash = $1`, [
      createHash('sha256').update(tokenOf(cookie)).digest(),
    ]);
    const res = await me(cookie);
    expect(res.status).toBe(401);
    // The browser is told to forget the dead cookie.
    expect(res.headers.getSetCookie().some((c) => /^sid=;/.test(c))).toBe(true);
  });
});

describe('POST /api/auth/logout', () => {
  test('deletes the session, clears the cookie, and the old cookie no longer works', async () => {
    const cookie = await signIn();
    const hash = createHash('sha256').update(tokenOf(cookie)).digest();
    const { rows } = await db.pool.query<{ id: string }>('SELECT id FROM sessions WHERE token_hash = $1', [hash]);
    expect(rows).toHaveLength(1);

    const res = await fetch(`${app.baseUrl}/api/auth/logout`, {
      method: 'POST',
      headers: { cookie, origin: app.baseUrl },
    });
    expect(res.status).toBe(204);
    const cleared = res.headers.getSetCookie().find((c) => c.startsWith('sid='))!;
    expect(cleared).toMatch(/^sid=;/);
    expect(cleared).toMatch(/Max-Age=0/i);
    expect((await db.pool.query('SELECT 1 FROM sessions WHERE token_hash = $1', [hash])).rowCount).toBe(0);
    expect((await me(cookie)).status).toBe(401);

    const audit = await db.pool.query(
      `SELECT actor_user_id FROM audit_log WHERE action = 'user.logout' AND details->>'sessionId' = $1`,
      [rows[0]!.id],
    );
    expect(audit.rows).toEqual([{ actor_user_id: adminId }]);
  });
});

describe('CSRF', () => {
  const logout = (headers: Record<string, string>) =>
    fetch(`${app.baseUrl}/api/auth/logout`, { method: 'POST', headers });

  test('a cookie POST from a foreign Origin is refused with 403 csrf_rejected and changes nothing', async () => {
    const cookie = await signIn();
    const res = await logout({ cookie, origin: 'https://evil.example' });
    expect(res.status).toBe(403);
    expect(((await res.json()) as ErrorBody).error.code).toBe('csrf_rejected');
    expect((await me(cookie)).status).toBe(200);
  });

  test('a cookie POST with the origin of PUBLIC_BASE_URL goes through', async () => {
    const cookie = await signIn();
    expect((await logout({ cookie, origin: new URL(app.config.publicBaseUrl).origin })).status).toBe(204);
    expect((await me(cookie)).status).toBe(401);
  });

  test('without Origin, Sec-Fetch-Site: same-origin goes through', async () => {
    const cookie = await signIn();
    expect((await logout({ cookie, 'sec-fetch-site': 'same-origin' })).status).toBe(204);
    expect((await me(cookie)).status).toBe(401);
  });

  test('without Origin, Sec-Fetch-Site: cross-site or nothing at all is refused', async () => {
    const cookie = await signIn();
    const refused: Record<string, string>[] = [
      { cookie },
      { cookie, 'sec-fetch-site': 'cross-site' },
      { cookie, 'sec-fetch-site': 'same-site' },
    ];
    for (const headers of refused) {
      const res = await logout(headers);
      expect(res.status).toBe(403);
      expect(((await res.json()) as ErrorBody).error.code).toBe('csrf_rejected');
    }
    expect((await me(cookie)).status).toBe(200);
  });

  test('requests without the session cookie are not affected (login from anywhere)', async () => {
    const res = await login(ADMIN, { origin: 'https://elsewhere.example' });
    expect(res.status).toBe(200);
  });

  test('GET is not affected', async () => {
    const cookie = await signIn();
    expect((await fetch(`${app.baseUrl}/api/me`, { headers: { cookie, origin: 'https://evil.example' } })).status).toBe(
      200,
    );
  });
});
