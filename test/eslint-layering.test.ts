import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';

// The layering rules of eslint.config.js, proved on snippets linted as if they were the named files:
// the product never imports src/dev; src/db imports downward only; nothing below src/http imports
// it; workflow code imports only what its allowlist names (types excepted); SQL only in src/db.

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
    refused('src/dev/bench/workflows.ts', "import fs from 'node:fs';"),
    allowed('workflows/x.ts', "import { proxyActivities } from '@temporalio/workflow';"),
    allowed('workflows/x.ts', "import { transition } from '../src/domain/application-lifecycle.js';"),
    allowed('workflows/x.ts', "import { roleWorkflowId } from '../src/temporal/shared.js';"),
    allowed('workflows/x.ts', "import { OrganizationIdKey } from '../src/temporal/search-attributes.js';"),
    allowed('workflows/x.ts', "import { summarizeFailure } from './errors.js';"),
    allowed('workflows/x.ts', "import type { DatabaseActivities } from '../activities/index.js';"),
    allowed('workflows/x.ts', "import { type DatabaseActivities } from '../activities/index.js';"),
    allowed('workflows/x.ts', "import type { Pool } from 'pg';"),
    allowed('src/dev/bench/workflows.ts', "import { sleep } from '@temporalio/workflow';"),
    // What the workflows import at run time must be pure too.
    refused('src/temporal/shared.ts', "import { createPool } from '../db/pool.js';"),
    refused('src/temporal/shared.ts', "import { Client } from '@temporalio/client';"),
    allowed('src/temporal/shared.ts', "import { defineQuery } from '@temporalio/workflow';"),
    allowed('src/temporal/shared.ts', "import type { Application } from '../domain/application.js';"),
    refused('src/domain/x.ts', "import { createPool } from '../db/pool.js';"),
    refused('src/domain/x.ts', "import fs from 'node:fs';"),
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
    allowed('src/dev/start.ts', "import { createApp } from '../http/app.js';"),
    allowed('src/dev/cluster/index.ts', "import { startSandbox } from '../sandbox/index.js';"),
    allowed('test/x.test.ts', "import { startSandbox } from '../src/dev/sandbox/index.js';"),
  ])('%s: %s is %s', async (file, code, verdict) => {
    const found = await complaints(file, code);
    if (verdict === 'refused') expect(found).not.toEqual([]);
    else expect(found).toEqual([]);
  });
});

describe('src/db imports downward only; nothing below src/http imports it', () => {
  test.each([
    refused('src/db/x.ts', "import { hashPassword } from '../auth/password.js';"),
    refused('src/db/x.ts', "import { roleWorkflowId } from '../temporal/shared.js';"),
    refused('src/db/x.ts', "import type { ConnectionState } from '../temporal/shared.js';"),
    refused('src/db/x.ts', "import { HttpError } from '../http/errors.js';"),
    refused('src/db/x.ts', "import { createDiscordGuard } from '../discord/guard.js';"),
    refused('src/db/x.ts', "import { createActivities } from '../../activities/index.js';"),
    allowed('src/db/x.ts', "import { isUuid } from '../domain/uuid.js';"),
    allowed('src/db/x.ts', "import { withTransaction } from './pool.js';"),
    allowed('src/db/x.ts', "const sql = 'SELECT 1';"),
    refused('src/temporal/operations.ts', "import { HttpError } from '../http/errors.js';"),
    refused('src/auth/sessions.ts', "import type { AppDeps } from '../http/deps.js';"),
    refused('src/worker.ts', "import { createApp } from './http/app.js';"),
    refused('activities/database.ts', "import { HttpError } from '../src/http/errors.js';"),
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
    allowed('src/db/x.ts', "await db.query('SELECT 1');"),
    allowed('src/dev/x.ts', "await db.query('CREATE DATABASE bench');"),
    allowed('src/http/routes/x.ts', "const message = 'Select a role first';"),
  ])('%s: %s is %s', async (file, code, verdict) => {
    const found = await complaints(file, code);
    if (verdict === 'refused') expect(found).not.toEqual([]);
    else expect(found).toEqual([]);
  });
});
