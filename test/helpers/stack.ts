import { randomBytes } from 'node:crypto';
import { NativeConnection } from '@temporalio/worker';
import { hashPassword } from '../../src/auth/password.js';
import { createOrganizationWithAdmin, updateOrganizationSettings } from '../../src/db/organizations.js';
import { createUser } from '../../src/db/users.js';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../src/dev/sandbox/index.js';
import { startSmtpSink, type SmtpSink } from '../../src/dev/smtp-sink.js';
import { createWorkers, type Workers } from '../../src/worker.js';
import { createLogger } from '../../src/logger.js';
import type { Env } from '../../src/config.js';
import { createTestDatabase, type TestDatabase } from './db.js';
import { startTestApp, TEST_STATE_SECRET, type TestApp } from './app.js';
import { installTestRuntime } from './runtime.js';
import type { RoleWorkflowOptions } from '../../src/temporal/shared.js';

installTestRuntime();

export const PASSWORD = 'correct horse battery staple';

/**
 * Every user a stack creates has PASSWORD: its scrypt hash (about 60 ms of CPU, twice per
 * organization) is computed once per test file and stored for each of them. Each sign-in still
 * verifies the password against the stored hash.
 */
let passwordHash: Promise<string> | undefined;
const hashOfPassword = () => (passwordHash ??= hashPassword(PASSWORD));

export interface Org {
  id: string;
  slug: string;
  adminEmail: string;
  reviewerEmail: string;
}

export interface Stack {
  db: TestDatabase;
  sandbox: Sandbox;
  /** The local SMTP sink, when the test asked for one (`smtpSink: true`): SMTP_URL points at it. */
  smtpSink: SmtpSink | undefined;
  app: TestApp;
  env: Env;
  /** Starts a worker on this stack's task queues (a test may kill it and start another). */
  startWorker: () => Promise<Workers & { stop: () => Promise<void> }>;
  worker: Workers & { stop: () => Promise<void> };
  /** A new organization with an admin and a reviewer; `requireDiscordSignIn` as given (default: as for any new one, on). */
  createOrg: (name?: string, settings?: { requireDiscordSignIn?: boolean }) => Promise<Org>;
  /** Signs in and returns the session cookie. */
  login: (email: string) => Promise<string>;
  /** fetch against the API with a cookie and a same-origin Origin header. */
  api: (
    path: string,
    init?: { method?: string; cookie?: string; body?: unknown; headers?: Record<string, string> },
  ) => Promise<Response>;
  close: () => Promise<void>;
}

/**
 * The whole system for one test file: its own database, a Discord sandbox, the API on a loopback
 * port, and a worker on task queues of its own, against the run's real Temporal server.
 */
export async function startStack(
  options: {
    sandbox?: SandboxOptions;
    env?: Env;
    roleWorkflowOptions?: RoleWorkflowOptions;
    startWorker?: boolean;
    /** Collects the API's log lines (at debug level) for tests about what is logged. */
    logLines?: string[];
    /** Runs the local SMTP sink (src/dev/smtp-sink.ts) and sets SMTP_URL to it: decisions are emailed. */
    smtpSink?: boolean;
  } = {},
): Promise<Stack> {
  const db = await createTestDatabase();
  const sandbox = await startSandbox(options.sandbox);
  const smtpSink = options.smtpSink ? await startSmtpSink() : undefined;
  if (smtpSink) sandbox.attachMailbox(smtpSink);
  const suffix = randomBytes(4).toString('hex');
  const env: Env = {
    DISCORD_CLIENT_ID: sandbox.clientId,
    DISCORD_CLIENT_SECRET: sandbox.clientSecret,
    DISCORD_BOT_TOKEN: sandbox.botToken,
    // One key for the API and every worker of the stack (a worker process too).
    TOKEN_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    DISCORD_API_BASE_URL: sandbox.apiBaseUrl,
    DISCORD_AUTHORIZE_URL: sandbox.authorizeUrl,
    TEMPORAL_TASK_QUEUE: `test-${suffix}`,
    TEMPORAL_DISCORD_TASK_QUEUE: `test-${suffix}-discord`,
    TEMPORAL_DISCORD_CONNECTION_TASK_QUEUE: `test-${suffix}-discord-connections`,
    TEMPORAL_DISCORD_BACKGROUND_TASK_QUEUE: `test-${suffix}-discord-background`,
    // Schedules fire only when a test triggers them (a week: never within a run).
    DISCORD_RECONCILE_INTERVAL_MINUTES: '10080',
    // Decision emails carry the status link: a worker process must sign it as the API does.
    ...(smtpSink ? { SMTP_URL: smtpSink.url, STATE_SIGNING_SECRET: TEST_STATE_SECRET } : {}),
    ...options.env,
  };
  const app = await startTestApp(db.pool, env, {
    roleWorkflowOptions: options.roleWorkflowOptions,
    logLines: options.logLines,
  });
  // A worker process (test/helpers/worker-process.ts) links to this API in the emails it sends.
  if (smtpSink && !env.PUBLIC_BASE_URL) env.PUBLIC_BASE_URL = app.baseUrl;

  const startWorker = async () => {
    const connection = await NativeConnection.connect({ address: process.env.TEST_TEMPORAL_ADDRESS! });
    const workers = await createWorkers({
      config: app.config,
      pool: db.pool,
      logger: createLogger({ level: 'silent' }),
      connection,
      workflowBundlePath: process.env.TEST_WORKFLOW_BUNDLE!,
      roleWorkflowOptions: options.roleWorkflowOptions,
    });
    const running = workers.run();
    let stopped: Promise<void> | undefined;
    return {
      ...workers,
      stop: () =>
        (stopped ??= (async () => {
          workers.shutdown();
          await running.catch(() => undefined);
          await connection.close();
        })()),
    };
  };
  let worker = options.startWorker === false ? undefined : await startWorker();

  const api: Stack['api'] = (path, init = {}) =>
    fetch(`${app.baseUrl}${path}`, {
      method: init.method ?? 'GET',
      redirect: 'manual',
      headers: {
        ...(init.cookie ? { cookie: init.cookie } : {}),
        ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
        origin: app.config.publicBaseUrl,
        ...init.headers,
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });

  const stack: Stack = {
    db,
    sandbox,
    smtpSink,
    app,
    env,
    startWorker,
    get worker() {
      if (!worker) throw new Error('no worker started');
      return worker;
    },
    set worker(w) {
      worker = w;
    },
    createOrg: async (name = `Org ${randomBytes(3).toString('hex')}`, settings = {}) => {
      const adminEmail = `admin-${randomBytes(4).toString('hex')}@example.com`;
      const reviewerEmail = `reviewer-${randomBytes(4).toString('hex')}@example.com`;
      const { organization } = await createOrganizationWithAdmin(db.pool, {
        name,
        adminEmail,
        adminPasswordHash: await hashOfPassword(),
      });
      await createUser(db.pool, {
        organizationId: organization.id,
        email: reviewerEmail,
        passwordHash: await hashOfPassword(),
        role: 'reviewer',
      });
      if (settings.requireDiscordSignIn !== undefined) {
        await updateOrganizationSettings(db.pool, organization.id, {
          requireDiscordSignIn: settings.requireDiscordSignIn,
        });
      }
      return { id: organization.id, slug: organization.slug, adminEmail, reviewerEmail };
    },
    login: async (email) => {
      const res = await api('/api/auth/login', { method: 'POST', body: { email, password: PASSWORD } });
      if (res.status !== 200) throw new Error(`login failed: ${res.status} ${await res.text()}`);
      const cookie = res.headers.get('set-cookie') ?? '';
      return cookie.split(';')[0]!;
    },
    api,
    close: async () => {
      await worker?.stop();
      await app.close();
      await sandbox.close();
      await smtpSink?.close();
      await db.drop();
    },
  };
  return stack;
}
