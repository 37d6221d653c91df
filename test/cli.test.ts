import path from 'node:path';
import { verifyPassword } from '../src/auth/password.js';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';
import { runProcess, type Run } from './helpers/run.js';

const root = path.resolve(import.meta.dirname, '..');

/**
 * `tsx src/bin/cli.ts ...args` (what `npm run cli --` runs) against `databaseUrl`, as an operator
 * would run it: the project's own tsx, started directly rather than through `npx`, which would only
 * look up the same file after half a second of npm's own start, for each of the file's 18 commands.
 */
const TSX = path.join(root, 'node_modules', '.bin', 'tsx');

function cli(args: string[], databaseUrl: string | undefined): Promise<Run> {
  // Jest's NODE_OPTIONS (--experimental-vm-modules) and NODE_ENV are not the operator's.
  const { NODE_OPTIONS: _nodeOptions, NODE_ENV: _nodeEnv, DATABASE_URL: _databaseUrl, ...env } = process.env;
  return runProcess(TSX, ['src/bin/cli.ts', ...args], {
    cwd: root,
    env: databaseUrl ? { ...env, DATABASE_URL: databaseUrl } : env,
  });
}

const lines = (text: string) => text.split('\n').filter((l) => l.trim() !== '');

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

/** Runs a command that must succeed and returns its one JSON line, parsed. */
async function ok(args: string[], databaseUrl = db.url): Promise<Record<string, string>> {
  const run = await cli(args, databaseUrl);
  expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
  expect(lines(run.stdout)).toHaveLength(1);
  return JSON.parse(run.stdout) as Record<string, string>;
}

/** Runs a command that must fail and returns its one line of explanation. */
async function fails(args: string[], databaseUrl: string | undefined = db.url): Promise<string> {
  const run = await cli(args, databaseUrl);
  expect(run.code).not.toBe(0);
  expect(run.stdout).toBe('');
  expect(lines(run.stderr)).toHaveLength(1);
  return run.stderr.trim();
}

describe('create-organization', () => {
  test('prints {organizationId, slug, userId} and stores the organization and its admin', async () => {
    const out = await ok([
      'create-organization',
      '--name',
      'Chess Club of Zürich',
      '--admin-email',
      'Admin@Chess.test',
      '--admin-password',
      'queen-gambit-8',
    ]);
    expect(Object.keys(out).sort()).toEqual(['organizationId', 'slug', 'userId']);
    expect(out.slug).toBe('chess-club-of-zurich');

    const org = await db.pool.query('SELECT id, name, slug FROM organizations WHERE id = $1', [out.organizationId]);
    expect(org.rows).toEqual([{ id: out.organizationId, name: 'Chess Club of Zürich', slug: 'chess-club-of-zurich' }]);
    const user = await db.pool.query<{ organization_id: string; email: string; role: string; password_hash: string }>(
      'SELECT organization_id, email, role, password_hash FROM users WHERE id = $1',
      [out.userId],
    );
    expect(user.rows).toHaveLength(1);
    const row = user.rows[0]!;
    expect({ organization_id: row.organization_id, email: row.email, role: row.role }).toEqual({
      organization_id: out.organizationId,
      email: 'Admin@Chess.test',
      role: 'admin',
    });
    expect(row.password_hash).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(await verifyPassword('queen-gambit-8', row.password_hash)).toBe(true);
  });

  test('a second organization of the same name gets a unique slug; --slug is taken as given', async () => {
    const args = (email: string) => [
      'create-organization',
      '--name',
      'Book Club',
      '--admin-email',
      email,
      '--admin-password',
      'password-123',
    ];
    expect((await ok(args('one@book.test'))).slug).toBe('book-club');
    expect((await ok(args('two@book.test'))).slug).toBe('book-club-2');
    expect((await ok([...args('three@book.test'), '--slug', 'readers'])).slug).toBe('readers');
  });

  test('a duplicate admin email fails with one line and leaves no organization behind', async () => {
    const message = await fails([
      'create-organization',
      '--name',
      'Copycat Club',
      '--admin-email',
      'admin@chess.test',
      '--admin-password',
      'password-123',
    ]);
    expect(message).toMatch(/admin@chess\.test exists already/);
    expect((await db.pool.query(`SELECT 1 FROM organizations WHERE name = 'Copycat Club'`)).rowCount).toBe(0);
  });

  test('a taken --slug, a short password, a missing flag and an unknown flag each fail with one line', async () => {
    const base = ['create-organization', '--name', 'X', '--admin-email', 'x@x.test'];
    const [taken, short, missing, unknown] = await Promise.all([
      fails([...base, '--admin-password', 'password-123', '--slug', 'book-club']),
      fails([...base, '--admin-password', 'short']),
      fails(base),
      fails([...base, '--admin-password', 'password-123', '--colour', 'red']),
    ]);
    expect(taken).toMatch(/"book-club" is taken/);
    expect(short).toMatch(/--admin-password must be at least 8 characters/);
    expect(missing).toMatch(/--admin-password is required/);
    expect(unknown).toMatch(/--colour/);
    expect((await db.pool.query(`SELECT 1 FROM users WHERE email = 'x@x.test'`)).rowCount).toBe(0);
  });
});

describe('add-user', () => {
  test('adds a reviewer to an organization named by slug, and an admin by id; prints {userId}', async () => {
    const org = await ok([
      'create-organization',
      '--name',
      'Go Club',
      '--admin-email',
      'admin@go.test',
      '--admin-password',
      'password-123',
    ]);
    const reviewer = await ok([
      'add-user',
      '--organization',
      'go-club',
      '--email',
      'reviewer@go.test',
      '--password',
      'reviewer-pass',
      '--role',
      'reviewer',
    ]);
    expect(Object.keys(reviewer)).toEqual(['userId']);
    const admin = await ok([
      'add-user',
      '--organization',
      org.organizationId!,
      '--email',
      'second-admin@go.test',
      '--password',
      'admin-pass-2',
      '--role',
      'admin',
    ]);
    const { rows } = await db.pool.query<{ id: string; organization_id: string; role: string }>(
      'SELECT id, organization_id, role FROM users WHERE id = ANY($1::uuid[]) ORDER BY role',
      [[reviewer.userId, admin.userId]],
    );
    expect(rows).toEqual([
      { id: admin.userId, organization_id: org.organizationId, role: 'admin' },
      { id: reviewer.userId, organization_id: org.organizationId, role: 'reviewer' },
    ]);
  });

  test('an unknown organization, a duplicate email or a bad role fails with one line', async () => {
    const args = (organization: string, email: string, role = 'reviewer') => [
      'add-user',
      '--organization',
      organization,
      '--email',
      email,
      '--password',
      'password-123',
      '--role',
      role,
    ];
    const [unknownOrganization, duplicate, badRole] = await Promise.all([
      fails(args('no-such-club', 'new@go.test')),
      fails(args('go-club', 'REVIEWER@go.test')),
      fails(args('go-club', 'new@go.test', 'owner')),
    ]);
    expect(unknownOrganization).toMatch(/no organization has the id or slug "no-such-club"/);
    expect(duplicate).toMatch(/reviewer@go\.test exists already/i);
    expect(badRole).toMatch(/--role must be admin or reviewer/);
    expect((await db.pool.query(`SELECT 1 FROM users WHERE email = 'new@go.test'`)).rowCount).toBe(0);
  });
});

test('an unknown command fails with one line', async () => {
  expect(await fails(['delete-everything'])).toMatch(/unknown command "delete-everything"/);
});

test('without DATABASE_URL the CLI exits non-zero and says so', async () => {
  const run = await cli(
    ['add-user', '--organization', 'x', '--email', 'a@b.test', '--password', 'password-123', '--role', 'admin'],
    undefined,
  );
  expect(run.code).not.toBe(0);
  expect(run.stderr).toMatch(/DATABASE_URL is not set/);
});

test('the CLI migrates an empty database before its command', async () => {
  const empty = await createTestDatabase({ template: null });
  try {
    const out = await ok(
      ['create-organization', '--name', 'Fresh', '--admin-email', 'a@fresh.test', '--admin-password', 'password-123'],
      empty.url,
    );
    expect((await empty.pool.query('SELECT slug FROM organizations')).rows).toEqual([{ slug: out.slug }]);
  } finally {
    await empty.drop();
  }
});
