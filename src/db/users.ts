import type { Pool, PoolClient } from './pool.js';
import { isUuid } from '../domain/uuid.js';

export type UserRole = 'admin' | 'reviewer';

export interface User {
  id: string;
  organizationId: string | null;
  email: string;
  role: UserRole;
  createdAt: Date;
}

/** A user with the stored scrypt hash: only for the code that checks a password. */
export interface UserWithPasswordHash extends User {
  passwordHash: string;
}

/** The email belongs to another user already (emails are unique regardless of case). */
export class EmailTakenError extends Error {
  constructor(email: string) {
    super(`a user with the email ${email} exists already`);
    this.name = 'EmailTakenError';
  }
}

interface UserRow {
  id: string;
  organization_id: string | null;
  email: string;
  role: UserRole;
  created_at: Date;
  password_hash: string;
}

const toUser = (row: UserRow): User => ({
  id: row.id,
  organizationId: row.organization_id,
  email: row.email,
  role: row.role,
  createdAt: row.created_at,
});

/** Inserts a user; `passwordHash` comes from `hashPassword`. Throws `EmailTakenError` for a duplicate email. */
export async function createUser(
  db: Pool | PoolClient,
  input: { organizationId: string | null; email: string; passwordHash: string; role: UserRole },
): Promise<User> {
  try {
    const result = await db.query<UserRow>(
      `INSERT INTO users (organization_id, email, password_hash, role)
       VALUES ($1, $2, $3, $4)
       RETURNING id, organization_id, email, role, created_at, password_hash`,
      [input.organizationId, input.email.trim(), input.passwordHash, input.role],
    );
    return toUser(result.rows[0]!);
  } catch (err) {
    if ((err as { code?: string; constraint?: string }).constraint === 'users_email_key') {
      throw new EmailTakenError(input.email.trim());
    }
    throw err;
  }
}

/** The user with this email, compared without case (the `users_email_key` index), or null. */
export async function findUserByEmail(db: Pool | PoolClient, email: string): Promise<UserWithPasswordHash | null> {
  const result = await db.query<UserRow>(
    `SELECT id, organization_id, email, role, created_at, password_hash
     FROM users
     WHERE lower(email) = lower($1)`,
    [email.trim()],
  );
  const row = result.rows[0];
  return row ? { ...toUser(row), passwordHash: row.password_hash } : null;
}

/** The user with this id, or null (also for a string that is not a UUID). */
export async function findUserById(db: Pool | PoolClient, id: string): Promise<User | null> {
  if (!isUuid(id)) return null;
  const result = await db.query<UserRow>(
    `SELECT id, organization_id, email, role, created_at, password_hash
     FROM users
     WHERE id = $1`,
    [id],
  );
  const row = result.rows[0];
  return row ? toUser(row) : null;
}
