import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';

// The layering rules of eslint.config.js, proved on snippets linted as if they were the named files:
// the product never imports src/dev; it imports workflows/ as types only; src/db imports only itself,
// src/domain and packages; nothing below src/http imports it; workflow code (and what it bundles:
// src/domain, the contract modules) imports only what its allowlist names (types excepted), and
// never dynamically; the product's import() obeys the same rules; SQL only in src/db.

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const eslint = new ESLint({ cwd: root });
const LAYERING_RULES = new Set(['@typescript-eslint/no-restricted-imports', 'no-restricted-syntax']);

/** The layering complaints about `code` in `file` (other rules, such as unused imports, are not asked). */
async function complaints(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(`${code}\n`, { filePath: path.join(root, file) });
  return result!.messages.filter((m) => m.ruleId && LAYERING_RULES.has(m.ruleId)).map((m) => m.message);
}

const refused = (file: string, code: string) => [file, code, 'refused'] as const;
const allowed = (file: string, code: string) => [file, code, 'allowed'] as const;

describe('workflow code: an allowlist', () => {
  test.each([
    refused('workflows/x.ts', "import { createActivities } from '../activities';"),
    refused('workflows/x.ts', "import { createActivities } from '../activities/index.js';"),
    refused('workflows/x.ts', "import { failureOf } from '../src/discord/errors.js';"),
    refused('workflows/x.ts', "import { startConnection } from '../src/temporal/operations.js';"),
    refused('workflows/x.ts', "import { createPool } from '../src/db/pool.js';"),
    refused('workflows/x.ts', "import { createPool } from '../src/domain/../db/pool.js';"),
    refused('workflows/x.ts', "import fs from 'node:fs';"),
    refused('workflows/x.ts', "import fs from 'fs';"),
    refused('workflows/x.ts', "import pg from 'pg';"),
    refused('workflows/x.ts', "import { Client } from '@temporalio/client';"),
    refused('workflows/x.ts', "import { Worker } from '@temporalio/worker';"),
    refused('workflows/x.ts', "export { createActivities } from '../activities/index.js';"),
    refused('workflows/x.ts', "export * from '../src/discord/errors.js';"),
    refused('workflows/x.ts', "const wf = await import('@temporalio/workflow');"),
    refused('workflows/x.ts', "const sql = 'SELECT 1';"),
    refused('workflows/x.ts', "import { ApplicationFailure } from '@temporalio/common';"),
    refused('workflows/x.ts', "const { createPool } = await import('../src/db/pool.js');"),
    refused('workflows/x.ts', "const sql = 'select 1';"),
    // The bench's workflow file is bundled alone: the SDK only, not its neighbours (which do I/O).
    refused('src/dev/bench/workflows.ts', "import fs from 'node:fs';"),
    refused('src/dev/bench/workflows.ts', "import { startServer } from './support.js';"),
    refused('src/dev/bench/workflows.ts', "import { main } from './main.js';"),
    refused('src/dev/bench/workflows.ts', "import { transition } from '../../domain/application-lifecycle.js';"),
    refused('src/dev/bench/workflows.ts', "const { sleep } = await import('@temporalio/workflow');"),
    allowed('workflows/x.ts', "import { proxyActivities } from '@temporalio/workflow';"),
    allowed('workflows/x.ts', "import { transition } from '../src/domain/application-lifecycle.js';"),
    allowed('workflows/x.ts', "import { roleWorkflowId } from '../src/temporal/shared.js';"),
    allowed('workflows/x.ts', "import { OrganizationIdKey } from '../src/temporal/search-attributes.js';"),
    allowed('workflows/x.ts', "import { summarizeFailure } from './errors.js';"),
    allowed('workflows/x.ts', "import type { DatabaseActivities } from '../activities/index.js';"),
    allowed('workflows/x.ts', "import { type DatabaseActivities } from '../activities/index.js';"),
    allowed('workflows/x.ts', "import type { Pool } from 'pg';"),
    allowed('workflows/x.ts', "import { Mutex } from 'async-mutex';"),
    allowed('workflows/x.ts', "import { discordErrorMessage } from '../src/domain/discord-messages.js';"),
    allowed('src/dev/bench/workflows.ts', "import { sleep } from '@temporalio/workflow';"),
    allowed('src/dev/bench/workflows.ts', "import type { BenchOptions } from './support.js';"),
    // What the workflows import at run time must be pure too.
    refused('src/temporal/shared.ts', "import { createPool } from '../db/pool.js';"),
    refused('src/temporal/shared.ts', "import { Client } from '@temporalio/client';"),
    allowed('src/temporal/shared.ts', "import { defineQuery } from '@temporalio/workflow';"),
    refused('src/temporal/shared.ts', "const { createPool } = await import('../db/pool.js');"),
    refused('src/temporal/shared.ts', "const { OrganizationIdKey } = await import('./search-attributes.js');"),
    refused('src/temporal/search-attributes.ts', "const fs = await import('node:fs');"),
    allowed('src/temporal/shared.ts', "import { defineQuery } from '@temporalio/workflow';"),
    allowed('src/temporal/shared.ts', "import type { Application } from '../domain/application.js';"),
    allowed('src/temporal/search-attributes.ts', "import { defineSearchAttributeKey } from '@temporalio/common';"),
    refused('src/domain/x.ts', "import { createPool } from '../db/pool.js';"),
    refused('src/domain/x.ts', "import fs from 'node:fs';"),
    refused('src/domain/x.ts', "const { createPool } = await import('../db/pool.js');"),
    refused('src/domain/x.ts', "const { isUuid } = await import('./uuid.js');"),
    allowed('src/domain/x.ts', "import { isUuid } from './uuid.js';"),
  ])('%s: %s is %s', async (file, code, verdict) => {
    const found = await complaints(file, code);
    if (verdict === 'refused') expect(found).not.toEqual([]);
    else expect(found).toEqual([]);
  });
});

describe('the product never imports src/dev', () => {
  test.each([
    refused('src/http/app.ts', "import { startSandbox } from '../dev/sandbox/index.js';"),
    refused('src/http/routes/web.ts', "import { buildWebIfStale } from '../../dev/web-build.js';"),
    refused('src/worker.ts', "import { startEmbeddedPostgres } from './dev/embedded-postgres.js';"),
    refused('src/bin/api.ts', "import { seedDemoOrganization } from '../dev/demo-seed.js';"),
    refused('src/temporal/operations.ts', "import type { Sandbox } from '../dev/sandbox/index.js';"),
    refused('src/db/users.ts', "import { seedDemoOrganization } from '../dev/demo-seed.js';"),
    refused('activities/discord.ts', "import { startSandbox } from '../src/dev/sandbox/index.js';"),
    refused('src/web/pages/x.tsx', "import { DEMO_ADMIN } from '../../dev/demo-seed.js';"),
    // import() too, and only with a literal source (one the rules can read).
    refused('src/http/routes/web.ts', "const { buildWebIfStale } = await import('../../dev/web-build.js');"),
    refused('src/http/app.ts', "const { startSandbox } = await import('../dev/sandbox/index.js');"),
    refused('src/worker.ts', "const pg = await import('./dev/embedded-postgres.js');"),
    refused('src/bin/api.ts', "const seed = await import('../dev/demo-seed.js');"),
    refused('activities/discord.ts', "const sandbox = await import('../src/dev/sandbox/index.js');"),
    refused('src/web/pages/x.tsx', "const seed = await import('../../dev/demo-seed.js');"),
    refused('src/http/app.ts', 'const dev = await import(`../dev/${name}.js`);'),
    refused('src/http/app.ts', "const where = '../dev/sandbox/index.js';\nconst dev = await import(where);"),
    allowed('src/http/app.ts', "const { createPool } = await import('../db/pool.js');"),
    allowed('src/dev/start.ts', "import { createApp } from '../http/app.js';"),
    allowed('src/dev/start.ts', "const { createApp } = await import('../http/app.js');"),
    allowed('src/dev/cluster/index.ts', "import { startSandbox } from '../sandbox/index.js';"),
    allowed('test/x.test.ts', "import { startSandbox } from '../src/dev/sandbox/index.js';"),
  ])('%s: %s is %s', async (file, code, verdict) => {
    const found = await complaints(file, code);
    if (verdict === 'refused') expect(found).not.toEqual([]);
    else expect(found).toEqual([]);
  });
});

describe('the product imports workflows/ as types only (the worker loads them by path)', () => {
  test.each([
    refused(
      'src/temporal/operations.ts',
      "import { applicationRoleWorkflow } from '../../workflows/role-assignment.js';",
    ),
    refused('src/temporal/schedules.ts', "import { housekeepingWorkflow } from '../../workflows/housekeeping.js';"),
    refused('src/temporal/x.ts', "export { applicationRoleWorkflow } from '../../workflows/role-assignment.js';"),
    refused('src/worker.ts', "import '../workflows/index.js';"),
    refused('src/worker.ts', "import * as workflows from '../workflows/index.js';"),
    refused(
      'activities/role-workflows.ts',
      "import { applicationRoleWorkflow } from '../workflows/role-assignment.js';",
    ),
    refused('src/http/routes/x.ts', "import { bulkReviewWorkflow } from '../../../workflows/bulk-review.js';"),
    refused('src/bin/cli.ts', "import { redriveAssignmentsWorkflow } from '../../workflows/redrive.js';"),
    refused('src/web/pages/x.tsx', "import { summarizeFailure } from '../../../workflows/errors.js';"),
    refused('src/db/x.ts', "import type { bulkReviewWorkflow } from '../../workflows/bulk-review.js';"),
    refused('src/temporal/operations.ts', "const wf = await import('../../workflows/role-assignment.js');"),
    refused('activities/x.ts', "const workflows = await import('../workflows/index.js');"),
    allowed(
      'src/temporal/operations.ts',
      "import type { applicationRoleWorkflow } from '../../workflows/role-assignment.js';",
    ),
    allowed('src/temporal/operations.ts', "import { type bulkReviewWorkflow } from '../../workflows/bulk-review.js';"),
    allowed('src/temporal/x.ts', "export type { applicationRoleWorkflow } from '../../workflows/role-assignment.js';"),
    allowed('src/temporal/x.ts', "type Workflows = typeof import('../../workflows/index.js');"),
    allowed(
      'src/temporal/workflow-bundle.ts',
      "export const workflowsPath = path.resolve(here, '../../workflows/index.ts');",
    ),
    allowed('src/dev/bench/main.ts', "import type { benchNoopWorkflow } from './workflows.js';"),
    allowed('test/x.test.ts', "import { applicationRoleWorkflow } from '../workflows/role-assignment.js';"),
  ])('%s: %s is %s', async (file, code, verdict) => {
    const found = await complaints(file, code);
    if (verdict === 'refused') expect(found).not.toEqual([]);
    else expect(found).toEqual([]);
  });
});

describe('src/db imports only itself, src/domain and packages; nothing below src/http imports it', () => {
  test.each([
    refused('src/db/x.ts', "import { hashPassword } from '../auth/password.js';"),
    refused('src/db/x.ts', "import { roleWorkflowId } from '../temporal/shared.js';"),
    refused('src/db/x.ts', "import type { ConnectionState } from '../temporal/shared.js';"),
    refused('src/db/x.ts', "import { HttpError } from '../http/errors.js';"),
    refused('src/db/x.ts', "import { createDiscordGuard } from '../discord/guard.js';"),
    refused('src/db/x.ts', "import { createActivities } from '../../activities/index.js';"),
    refused('src/db/x.ts', "import { loadConfig } from '../config.js';"),
    refused('src/db/x.ts', "import type { Config } from '../config.js';"),
    refused('src/db/x.ts', "import { metrics } from '../metrics.js';"),
    refused('src/db/x.ts', "import { createLogger } from '../logger.js';"),
    refused('src/db/x.ts', "import { api } from '../web/api.js';"),
    refused('src/db/x.ts', "import { loadConfig } from './../config.js';"),
    refused('src/db/x.ts', "import { loadConfig } from '../domain/../config.js';"),
    refused('src/db/x.ts', "import { loadConfig } from '/app/src/config.js';"),
    refused('src/db/x.ts', "const { loadConfig } = await import('../config.js');"),
    refused('src/db/x.ts', 'const mod = await import(name);'),
    allowed('src/db/x.ts', "import { isUuid } from '../domain/uuid.js';"),
    allowed('src/db/x.ts', "import type { Application } from '../domain/application.js';"),
    allowed('src/db/x.ts', "import { withTransaction } from './pool.js';"),
    allowed('src/db/x.ts', "import pg from 'pg';"),
    allowed('src/db/x.ts', "import type { PoolClient } from 'pg';"),
    allowed('src/db/x.ts', "import { runner } from 'node-pg-migrate';"),
    allowed('src/db/x.ts', "import { randomUUID } from 'node:crypto';"),
    allowed('src/db/x.ts', "const { withTransaction } = await import('./pool.js');"),
    allowed('src/db/x.ts', "const sql = 'SELECT 1';"),
    refused('src/temporal/operations.ts', "import { HttpError } from '../http/errors.js';"),
    refused('src/auth/sessions.ts', "import type { AppDeps } from '../http/deps.js';"),
    refused('src/worker.ts', "import { createApp } from './http/app.js';"),
    refused('activities/database.ts', "import { HttpError } from '../src/http/errors.js';"),
    refused('src/temporal/operations.ts', "const { HttpError } = await import('../http/errors.js');"),
    allowed('src/http/routes/x.ts', "import { startConnection } from '../../temporal/operations.js';"),
    allowed('src/http/routes/x.ts', "import { findUserById } from '../../db/users.js';"),
    allowed('src/http/routes/x.ts', "import { hashPassword } from '../../auth/password.js';"),
    allowed('src/bin/api.ts', "import { createApp } from '../http/app.js';"),
  ])('%s: %s is %s', async (file, code, verdict) => {
    const found = await complaints(file, code);
    if (verdict === 'refused') expect(found).not.toEqual([]);
    else expect(found).toEqual([]);
  });
});

describe('SQL only in src/db', () => {
  test.each([
    refused('src/auth/x.ts', "await db.query('SELECT 1');"),
    refused('src/http/routes/x.ts', 'await pool.query(`\n  UPDATE users SET name = $1`, []);'),
    refused('activities/x.ts', 'await tx.query(`INSERT INTO audit_log (id) VALUES ($1)`, [id]);'),
    refused('src/discord/x.ts', "await pool.query('DELETE FROM discord_authorization_failures');"),
    // In any case, and any statement.
    refused('src/auth/x.ts', "await db.query('select 1');"),
    refused('src/auth/x.ts', "const sql = '(SELECT';"),
    refused('src/auth/x.ts', "const sql = '  (select count(*) from users)';"),
    refused('src/http/routes/x.ts', "const sql = 'select id, email from users where id = $1';"),
    refused('src/http/routes/x.ts', "const sql = 'SELECT a.id AS id, EXISTS (SELECT 1) AS x FROM applications a';"),
    refused('src/http/routes/x.ts', "const sql = 'select * from users';"),
    refused('src/http/routes/x.ts', 'const sql = `SELECT ${COLUMNS} FROM applications WHERE id = $1`;'),
    refused('src/http/routes/x.ts', "const sql = 'Select distinct organization_id from users';"),
    refused('src/temporal/operations.ts', "const sql = 'WITH RECURSIVE chain(id) AS (SELECT 1)';"),
    refused(
      'src/temporal/operations.ts',
      "const sql = 'with pending as (select id from applications) select * from pending';",
    ),
    refused('activities/x.ts', "await tx.query('TRUNCATE sessions, audit_log');"),
    refused('activities/x.ts', "await tx.query('truncate table sessions restart identity');"),
    refused('activities/x.ts', "await tx.query('insert into audit_log (action) values ($1)', [a]);"),
    refused('activities/x.ts', "await tx.query('update users set email = $1 where id = $2', [e, id]);"),
    refused('activities/x.ts', "await tx.query('delete from sessions where user_id = $1', [id]);"),
    refused('activities/x.ts', "await tx.query('DELETE FROM sessions');"),
    refused('src/worker.ts', "await pool.query('create index concurrently x on users (email)');"),
    refused('src/worker.ts', "await pool.query('ALTER TABLE users ADD COLUMN x text');"),
    refused('src/bin/cli.ts', "await pool.query('drop table users');"),
    refused('src/domain/x.ts', "const sql = 'select 1';"),
    refused('src/temporal/shared.ts', "const sql = 'update users set x = 1';"),
    allowed('src/db/x.ts', "await db.query('SELECT 1');"),
    allowed('src/db/x.ts', "await db.query('truncate sessions');"),
    allowed('src/dev/x.ts', "await db.query('CREATE DATABASE bench');"),
    // English is not SQL.
    allowed('src/http/routes/x.ts', "const message = 'Select a role first';"),
    allowed('src/http/routes/x.ts', "const message = 'Select a server from the list';"),
    allowed('src/http/routes/x.ts', "const message = 'Select the bot as admin, then retry';"),
    allowed('src/http/routes/x.ts', "const message = 'Selected 3 applications';"),
    allowed('src/http/routes/x.ts', "const message = 'Update your settings';"),
    allowed('src/http/routes/x.ts', "const message = 'Update the role, then retry';"),
    allowed('src/http/routes/x.ts', "const message = 'Delete the application';"),
    allowed('src/http/routes/x.ts', "const message = 'Delete from the list';"),
    allowed('src/http/routes/x.ts', "const message = 'Truncated to 100 characters';"),
    allowed('src/http/routes/x.ts', "const message = 'Truncate the name';"),
    allowed('src/http/routes/x.ts', "const message = 'Insert the token';"),
    allowed('src/http/routes/x.ts', "const message = 'With this, the role is granted';"),
    allowed('src/http/routes/x.ts', "const message = 'Create a table of members';"),
    allowed('src/http/routes/x.ts', "logger.info('DELETE /api/sessions/:id');"),
    allowed('src/http/routes/x.ts', 'const message = `Select ${count} applications first`;'),
  ])('%s: %s is %s', async (file, code, verdict) => {
    const found = await complaints(file, code);
    if (verdict === 'refused') expect(found).not.toEqual([]);
    else expect(found).toEqual([]);
  });
});
