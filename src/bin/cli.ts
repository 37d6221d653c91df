import { parseArgs } from 'node:util';
import { z } from 'zod';
import { hashPassword } from '../auth/password.js';
import { loadConfigOrExit, type Config } from '../config.js';
import { appendAuditLog } from '../db/audit-log.js';
import { migrate } from '../db/migrate.js';
import {
  SlugTakenError,
  createOrganizationWithAdmin,
  findOrganizationByIdOrSlug,
  isValidSlug,
} from '../db/organizations.js';
import { createPool, type Pool } from '../db/pool.js';
import { deleteLoginFailures } from '../db/rate-limits.js';
import { EmailTakenError, createUser, findUserByEmail } from '../db/users.js';
import { connectTemporal, temporalSettingsOf } from '../temporal/client.js';
import { restartRoleWorkflows } from '../temporal/upgrades.js';
import { defaultBundlePath } from '../temporal/workflow-bundle.js';

/**
 * The admin CLI: `npm run cli -- <command> [flags]`. Each command prints one JSON line on stdout;
 * a mistake prints one line on stderr and exits 2.
 */

const USAGE = `usage:
  npm run cli -- create-organization --name <name> --admin-email <email> --admin-password <pw> [--slug <slug>]
  npm run cli -- add-user --organization <id|slug> --email <email> --password <pw> --role <admin|reviewer>
  npm run cli -- restart-role-workflows [--only-incompatible] [--organization <id>]
  npm run cli -- unlock-account --email <email>`;

/** A mistake of the person at the keyboard: one line, exit 2. */
class UsageError extends Error {}

const email = (flag: string) => z.email({ error: `--${flag} must be an email address` });
const password = (flag: string) =>
  z.string({ error: `--${flag} is required` }).min(8, { error: `--${flag} must be at least 8 characters long` });

const createOrganizationArgs = z.object({
  name: z.string({ error: '--name is required' }).trim().min(1, { error: '--name must not be empty' }),
  slug: z
    .string()
    .refine(isValidSlug, {
      error: '--slug must be lowercase letters, digits and single hyphens, at most 63 characters',
    })
    .optional(),
  'admin-email': z.string({ error: '--admin-email is required' }).trim().pipe(email('admin-email')),
  'admin-password': password('admin-password'),
});

const addUserArgs = z.object({
  organization: z
    .string({ error: '--organization is required' })
    .trim()
    .min(1, { error: '--organization is required' }),
  email: z.string({ error: '--email is required' }).trim().pipe(email('email')),
  password: password('password'),
  role: z.enum(['admin', 'reviewer'], { error: '--role must be admin or reviewer' }),
});

const unlockAccountArgs = z.object({
  email: z.string({ error: '--email is required' }).trim().toLowerCase().pipe(email('email')),
});

/**
 * Ends the lock of an account after repeated failed sign-ins (and the per-address counts for its
 * email), in the audit log. Prints how many counters it deleted.
 */
const unlockAccountCommand: Command = (values) => {
  const args = parse(unlockAccountArgs, values);
  return async (pool) => {
    const deleted = await deleteLoginFailures(pool, args.email);
    const user = await findUserByEmail(pool, args.email);
    await appendAuditLog(pool, {
      organizationId: user?.organizationId ?? null,
      actorUserId: null,
      action: 'user.unlocked',
      subjectType: 'user',
      subjectId: user?.id ?? null,
      details: { email: args.email, counters: deleted, by: 'cli' },
    });
    return { email: args.email, countersDeleted: deleted };
  };
};

function parse<T>(schema: z.ZodType<T>, values: unknown): T {
  const parsed = schema.safeParse(values);
  if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => i.message).join('; '));
  return parsed.data;
}

/** A command checks its flags first (before any database is needed), then returns what it will run. */
type Command = (values: unknown) => (pool: Pool, config: Config) => Promise<Record<string, unknown>>;

const createOrganizationCommand: Command = (values) => {
  const args = parse(createOrganizationArgs, values);
  return async (pool) => {
    const { organization, admin } = await createOrganizationWithAdmin(pool, {
      name: args.name,
      slug: args.slug,
      adminEmail: args['admin-email'],
      adminPasswordHash: await hashPassword(args['admin-password']),
    });
    return { organizationId: organization.id, slug: organization.slug, userId: admin.id };
  };
};

const addUserCommand: Command = (values) => {
  const args = parse(addUserArgs, values);
  return async (pool) => {
    const organization = await findOrganizationByIdOrSlug(pool, args.organization);
    if (!organization) throw new UsageError(`no organization has the id or slug "${args.organization}"`);
    const user = await createUser(pool, {
      organizationId: organization.id,
      email: args.email,
      passwordHash: await hashPassword(args.password),
      role: args.role,
    });
    return { userId: user.id };
  };
};

const restartRoleWorkflowsArgs = z.object({
  organization: z.uuid({ error: '--organization must be an organization id' }).optional(),
  'only-incompatible': z.boolean().optional(),
});

/**
 * After deploying a workflow change too large for patched(): replaces the running role-assignment
 * runs (only those whose history no longer replays on the deployed bundle, with --only-incompatible)
 * by runs that resume from the stored application. Prints how many it checked and restarted.
 */
const restartRoleWorkflowsCommand: Command = (values) => {
  const args = parse(restartRoleWorkflowsArgs, values);
  return async (_pool, config) => {
    if (!config.temporal.address) throw new UsageError('TEMPORAL_ADDRESS must be set');
    const temporal = await connectTemporal({ ...temporalSettingsOf(config), namespace: config.temporal.namespace });
    try {
      const { checked, restarted } = await restartRoleWorkflows(
        { temporal, config },
        {
          organizationId: args.organization,
          onlyIncompatible: args['only-incompatible']
            ? { workflowBundlePath: config.workflowBundlePath ?? defaultBundlePath }
            : undefined,
        },
      );
      return { checked, restarted: restarted.length, workflowIds: restarted };
    } finally {
      await temporal.connection.close();
    }
  };
};

const commands = {
  'create-organization': createOrganizationCommand,
  'add-user': addUserCommand,
  'restart-role-workflows': restartRoleWorkflowsCommand,
  'unlock-account': unlockAccountCommand,
} as const;

function parseCommandLine(argv: string[]): { command: keyof typeof commands; values: unknown } {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        name: { type: 'string' },
        slug: { type: 'string' },
        'admin-email': { type: 'string' },
        'admin-password': { type: 'string' },
        organization: { type: 'string' },
        email: { type: 'string' },
        password: { type: 'string' },
        role: { type: 'string' },
        'only-incompatible': { type: 'boolean' },
      },
    });
  } catch (err) {
    // parseArgs explains unknown flags and missing values in one sentence; keep it.
    throw new UsageError((err as Error).message.split(/\n|\. To specify/)[0] ?? 'invalid arguments');
  }
  const [command, ...rest] = parsed.positionals;
  if (command === undefined)
    throw new UsageError(
      'name a command: create-organization, add-user, restart-role-workflows or unlock-account (see --help)',
    );
  if (!(command in commands))
    throw new UsageError(
      `unknown command "${command}": use create-organization, add-user, restart-role-workflows or unlock-account (see --help)`,
    );
  if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
  return { command: command as keyof typeof commands, values: parsed.values };
}

async function main(argv: string[]): Promise<number> {
  let pool: Pool | undefined;
  if (argv.length === 0 || argv.includes('--help') || argv[0] === 'help') {
    (argv.length === 0 ? process.stderr : process.stdout).write(`${USAGE}\n`);
    return argv.length === 0 ? 2 : 0;
  }
  try {
    const { command, values } = parseCommandLine(argv);
    const run = commands[command](values);
    const config = loadConfigOrExit({ require: ['DATABASE_URL'] });
    await migrate(config.databaseUrl!);
    pool = createPool(config.databaseUrl!, { max: 2, applicationName: 'discord-role-grants-cli' });
    const result = await run(pool, config);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return 0;
  } catch (err) {
    if (err instanceof UsageError || err instanceof EmailTakenError || err instanceof SlugTakenError) {
      process.stderr.write(`error: ${err.message}\n`);
      return 2;
    }
    // Anything else (Postgres unreachable, ...): still one line, without a stack the operator cannot use.
    process.stderr.write(`error: ${(err as Error).message.split('\n')[0]}\n`);
    return 1;
  } finally {
    await pool?.end();
  }
}

process.exitCode = await main(process.argv.slice(2));
