import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import proto from '@temporalio/proto';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { childProcessEnv, loadConfig, loadConfigOrExit } from '../../config.js';
import { startEmbeddedPostgres } from '../embedded-postgres.js';
import { migrate } from '../../db/migrate.js';
import { createPool } from '../../db/pool.js';
import { hashPassword } from '../../auth/password.js';
import { createOrganizationWithAdmin } from '../../db/organizations.js';
import { createDiscordApi } from '../../discord/api.js';
import { createDiscordRest } from '../../discord/rest.js';
import { createApp } from '../../http/app.js';
import { createLogger } from '../../logger.js';
import { freePort } from '../../ports.js';
import { startSandbox, type SandboxGuild } from '../sandbox/index.js';
import { resolveTemporalCli } from '../temporal/cli.js';
import { connectTemporal } from '../../temporal/client.js';
import { startTemporalDevServer } from '../temporal/dev-server.js';
import { startConnection } from '../../temporal/operations.js';
import {
  reconciliationProgressQuery,
  reconciliationScheduleId,
  roleWorkflowId,
  type ReconcileInput,
} from '../../temporal/shared.js';
import { buildWorkflowBundle } from '../../temporal/workflow-bundle.js';
import { createWorkers, setDiscordQueueRateLimit } from '../../worker.js';
import {
  cpuSeconds,
  currentRss,
  childrenMatching,
  markdownTable,
  median,
  peakRss,
  peakInWindow,
  percentile,
  resetPeakRss,
  spread,
  startRecordingProxy,
  verdict,
  type ProxiedRequest,
  type Row,
} from './support.js';
import type { reconcileOrganizationWorkflow } from '../../../workflows/reconciliation.js';
import type { benchNoopWorkflow } from './workflows.js';

/**
 * `npm run bench`, in one run:
 *
 * 1. Bulk approvals at the Discord limit (sandbox: 50 requests per 1 s window; the worker's pacer at
 *    DISCORD_MAX_REQUESTS_PER_SECOND=45), for each size of `--sizes` (default 1,000 and 10,000),
 *    `--runs` times each (default 3, or one count per size: `--runs 3,1`). Intake and drain apart:
 *    the Discord grant queue is paused (rate 0 on the Temporal server), the bulk is POSTed and
 *    recorded, every role workflow schedules its grant into the paused queue, then the queue is
 *    released (rate 45) and the drain runs to the last role assigned. Requests, 429s, grants per
 *    user (exactly one each), and the worker's peak RSS (it runs as a process of its own). The
 *    worker reaches "Discord" through a recording proxy (src/dev/bench/support.ts), which gives
 *    every request's arrival time and status.
 * 2. The 403s of a bulk (`--forbidden`, default 1,000) whose Approved role sits above the bot's
 *    highest role: the circuit breaker must stop it after the first answers.
 * 3. Approve → role assigned latency, one approval after another (`--latency`, default 200), with
 *    no Discord limits, timed by a Postgres NOTIFY from a trigger of the bench's own database, and
 *    broken down with the proxy's timestamps and the Temporal history's (activity started and
 *    completed, next workflow task started).
 * 4. The Temporal server's own ceiling: no-op workflows (`--ceiling`, default 1,000; 0 skips it).
 * 5. Reconciliations (`--reconcile`, default 2,000 and 10,000 approved members; 0 skips them), each in
 *    an organization and guild of its own, `--drift` percent of them (default 10) missing their role
 *    (taken by hand): the organization's schedule (`reconcile:<organizationId>`) is triggered and the
 *    run timed to its `finished_at`: members checked per second, requests (the proxy's, and the
 *    batches' own count), requests per member, peak requests in any 1 s against the pacer's rate,
 *    429s, every drift repaired. Then one without the Server Members intent (`--one-by-one`, default
 *    500; 0 skips it): the listing is refused and every approved member is fetched one by one (the
 *    schedule's own arguments, started directly with `periodMs` 0 so that the pass is not spread
 *    over the hour: it is bound by the rate).
 * 6. Grant latency under load (`--contention`, approvals per condition, default 30; 0 skips it):
 *    approvals one every 500 ms in an organization of its own, review sent → role assigned (and its
 *    two parts: the POST itself, its answer → assigned) while idle, while the organization's
 *    reconciliation of `--contention-members` (default 10,000, `--drift` percent drifted) runs at
 *    background priority, and while a bulk of `--contention-bulk` approvals (default 500; 0 skips
 *    it) runs at normal priority; p50 and p95, and their ratios to idle.
 *
 * Every organization's reconciliation schedule is paused once connected (an hourly run at the top of
 * the hour would land in the middle of another scenario); the bench triggers them itself.
 *
 * Only some scenarios: 0 skips any of them (`--sizes 0` the bulk runs), e.g. the reconciliations
 * alone: `npm run bench -- --sizes 0 --latency 0 --forbidden 0 --ceiling 0`.
 *
 * Quick run: `npm run bench -- --sizes 200 --runs 1 --latency 30 --forbidden 100 --ceiling 200 --reconcile 300
 * --one-by-one 100 --contention 10 --contention-members 2000 --contention-bulk 200`.
 * Progress goes to stderr; the results (one markdown table) to stdout.
 */
const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000,10000' },
    /** Same as --sizes (the flag of the earlier benchmark). */
    bulk: { type: 'string' },
    /** Runs per size: one number for every size, or one per size (`3,1`). */
    runs: { type: 'string', default: '3' },
    latency: { type: 'string', default: '200' },
    forbidden: { type: 'string', default: '1000' },
    ceiling: { type: 'string', default: '1000' },
    /** The grant queue's rate when the drain starts (default 45, as the worker sets it): a diagnosis aid. */
    'release-rate': { type: 'string', default: '45' },
    /** Approved members of each reconciliation with the Server Members intent (List Guild Members). */
    reconcile: { type: 'string', default: '2000,10000' },
    /** Percent of a reconciliation's approved members whose role was taken by hand. */
    drift: { type: 'string', default: '10' },
    /** Approved members of the reconciliation without the intent (checked one by one). */
    'one-by-one': { type: 'string', default: '500' },
    /** Approvals per condition of the grant latency under load (idle, reconciliation, bulk). */
    contention: { type: 'string', default: '30' },
    /** Approved members of the reconciliation the grants run beside. */
    'contention-members': { type: 'string', default: '10000' },
    /** Approvals of the bulk the grants run beside. */
    'contention-bulk': { type: 'string', default: '500' },
  },
});
const numbers = (flag: string, text: string, min: number, max: number): number[] => {
  const list = text.split(',').map((s) => Number(s.trim()));
  if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n < min || n > max)) {
    process.stderr.write(`--${flag}: expected integers from ${min} to ${max}, comma-separated; got "${text}"\n`);
    process.exit(2);
  }
  return list;
};
// `--sizes 0`: no bulk runs.
const SIZES = numbers('sizes', args.bulk ?? args.sizes, 0, 10_000).filter((n) => n > 0);
const runsGiven = numbers('runs', args.runs, 1, 20);
const RUNS = SIZES.map((_, i) => runsGiven[Math.min(i, runsGiven.length - 1)]!);
const LATENCY_N = numbers('latency', args.latency, 0, 10_000)[0]!;
const FORBIDDEN_N = numbers('forbidden', args.forbidden, 0, 10_000)[0]!;
const CEILING_N = numbers('ceiling', args.ceiling, 0, 100_000)[0]!;
const RELEASE_RATE = numbers('release-rate', args['release-rate'], 1, 10_000)[0]!;
const RECONCILE_SIZES = numbers('reconcile', args.reconcile, 0, 50_000).filter((n) => n > 0);
const DRIFT_PERCENT = numbers('drift', args.drift, 0, 100)[0]!;
const ONE_BY_ONE_N = numbers('one-by-one', args['one-by-one'], 0, 10_000)[0]!;
const CONTENTION_N = numbers('contention', args.contention, 0, 1_000)[0]!;
const CONTENTION_MEMBERS = numbers('contention-members', args['contention-members'], 1, 50_000)[0]!;
const CONTENTION_BULK = numbers('contention-bulk', args['contention-bulk'], 0, 10_000)[0]!;

const SANDBOX_LIMIT_PER_SECOND = 50;
const RATE = 45;
const TARGET_DRAIN_RATIO = 1.15;
const TARGET_429_PERCENT = 0.5;
const TARGET_RSS_MB = 300;
const TARGET_POST_MS = 1_000;
const TARGET_403 = 10;
const TARGET_P50_MS = 100;
const TARGET_P99_MS = 300;
/** Requests in any 1 s at most: the pacer's rate, plus one for a window's two ends. */
const TARGET_PEAK_PER_SECOND = RATE + 1;
/** The grants under load start one every this many ms (not one after another: a bulk delays each by seconds). */
const GRANT_INTERVAL_MS = 500;
/** The first approvals of the grant latency's organization, not counted (its roles list, the caches). */
const GRANT_WARM_UP = 3;
const PASSWORD = 'bench-password';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/** The workflows of the ceiling's workers (src/dev/bench/workflows.ts). */
const NOOP_WORKFLOWS_PATH = path.join(path.dirname(fileURLToPath(import.meta.url)), 'workflows.ts');
/** The arguments of `node` in package.json's `start:worker` script. */
async function startWorkerArgs(): Promise<string[]> {
  const pkg = JSON.parse(await fs.readFile(path.join(root, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const [command, ...args] = pkg.scripts['start:worker']!.split(/\s+/);
  if (command !== 'node') throw new Error('package.json start:worker must start with node');
  return args.map((a) => (a.endsWith('.ts') ? path.join(root, a) : a));
}

const log = (line: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.now();
const commandLine = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
const loadAtStart = os.loadavg();

Runtime.install({ logger: new DefaultLogger('ERROR') });
const work = await fs.mkdtemp(path.join(os.tmpdir(), 'role-grants-bench-'));
// The embedded Postgres runs as its own user when we are root: it must reach its data folder.
await fs.chmod(work, 0o755);

// Cleanups run once, in reverse order, whether the bench ends, fails, or is interrupted.
const cleanups: Array<{ name: string; fn: () => Promise<unknown> }> = [];
let cleaning: Promise<void> | undefined;
const cleanUp = () =>
  (cleaning ??= (async () => {
    for (const { name, fn } of cleanups.reverse()) {
      await Promise.race([fn(), sleep(20_000).then(() => Promise.reject(new Error('timed out')))]).catch((err) =>
        log(`cleanup of ${name} failed: ${(err as Error).message}`),
      );
    }
    await fs.rm(work, { recursive: true, force: true });
  })());
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: cleaning up`);
    void cleanUp().finally(() => process.exit(130));
  });
}

const rows: Row[] = [];
const notes: string[] = [];

try {
  log('starting Postgres, Temporal and the Discord sandbox...');
  const cliPath = await resolveTemporalCli({ cliPath: loadConfigOrExit().temporalCliPath });
  const [postgres, temporalServer, bundlePath, noopBundlePath] = await Promise.all([
    startEmbeddedPostgres({ dataDir: path.join(work, 'pg'), persistent: false }).then((pgHandle) => {
      cleanups.push({ name: 'Postgres', fn: () => pgHandle.stop() });
      return pgHandle;
    }),
    freePort()
      .then((port) => startTemporalDevServer({ cliPath, dbFile: path.join(work, 'temporal.sqlite'), port }))
      .then((server) => {
        cleanups.push({ name: 'Temporal dev server', fn: () => server.stop() });
        return server;
      }),
    buildWorkflowBundle(path.join(work, 'bundle.js')),
    // The ceiling's no-op workflow is the bench's own: never in the production bundle.
    CEILING_N > 0
      ? buildWorkflowBundle(path.join(work, 'noop-bundle.js'), { workflowsPath: NOOP_WORKFLOWS_PATH })
      : undefined,
  ]);
  const admin = new pg.Client({ connectionString: postgres.url() });
  await admin.connect();
  await admin.query('CREATE DATABASE bench');
  await admin.end();
  const databaseUrl = postgres.url('bench');
  await migrate(databaseUrl);
  const pool = createPool(databaseUrl, { max: 30, applicationName: 'bench' });
  cleanups.push({ name: 'pool', fn: () => pool.end() });

  // Every change of an application's status, timestamped when it reaches the bench (at commit).
  await pool.query(`
    CREATE FUNCTION bench_notify_status() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('bench_status', NEW.id::text || ':' || NEW.status::text);
      RETURN NULL;
    END $$;
    CREATE TRIGGER bench_status AFTER UPDATE OF status ON applications FOR EACH ROW
      WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION bench_notify_status();`);
  const statusTimes = new Map<string, Map<string, number>>();
  const waiters = new Map<string, { status: string; resolve: (at: number) => void }>();
  const listener = new pg.Client({ connectionString: databaseUrl });
  await listener.connect();
  cleanups.push({ name: 'listener', fn: () => listener.end() });
  listener.on('notification', (msg) => {
    const at = now();
    const [id, status] = (msg.payload ?? '').split(':') as [string, string];
    let times = statusTimes.get(id);
    if (!times) statusTimes.set(id, (times = new Map()));
    if (!times.has(status)) times.set(status, at);
    const waiter = waiters.get(id);
    if (waiter?.status === status) {
      waiters.delete(id);
      waiter.resolve(at);
    }
  });
  await listener.query('LISTEN bench_status');
  const countStatus = (ids: string[], status: string) => {
    let n = 0;
    let last = 0;
    for (const id of ids) {
      const at = statusTimes.get(id)?.get(status);
      if (at !== undefined) {
        n += 1;
        last = Math.max(last, at);
      }
    }
    return { n, last };
  };

  const sandbox = await startSandbox({ rateLimits: { global: null } });
  cleanups.push({ name: 'sandbox', fn: () => sandbox.close() });
  const proxy = await startRecordingProxy(sandbox.url);
  cleanups.push({ name: 'proxy', fn: () => proxy.close() });
  const env = {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporalServer.address,
    DISCORD_CLIENT_ID: sandbox.clientId,
    DISCORD_CLIENT_SECRET: sandbox.clientSecret,
    DISCORD_BOT_TOKEN: sandbox.botToken,
    // Through the recording proxy: arrival time and status of every request the worker makes.
    DISCORD_API_BASE_URL: proxy.apiBaseUrl,
    DISCORD_AUTHORIZE_URL: sandbox.authorizeUrl,
    DISCORD_MAX_REQUESTS_PER_SECOND: String(RATE),
    STATE_SIGNING_SECRET: 'bench-state-signing-secret-of-at-least-32-bytes',
    TOKEN_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    WORKFLOW_BUNDLE_PATH: bundlePath,
    PORT: '0',
  };
  const config = loadConfig(env);
  const temporal = await connectTemporal({ address: temporalServer.address, namespace: 'default' });
  cleanups.push({ name: 'Temporal client', fn: () => temporal.connection.close() });
  const server = createApp({ config, pool, temporal, logger: createLogger({ level: 'warn' }) }).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  cleanups.push({
    name: 'API',
    fn: () =>
      new Promise((r) => {
        server.close(r);
        server.closeAllConnections();
      }),
  });
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  config.publicBaseUrl = baseUrl;
  const grantQueue = [config.temporal.discordTaskQueue];
  const setGrantQueueRate = (rps: number) => setDiscordQueueRateLimit(temporal.connection, config, rps, grantQueue);
  /** The grant queue's backlog and dispatch rate, as the Temporal server reports them. */
  const grantQueueStats = async () => {
    const { stats } = await temporal.workflowService.describeTaskQueue({
      namespace: config.temporal.namespace,
      taskQueue: { name: config.temporal.discordTaskQueue },
      taskQueueType: proto.temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
      reportStats: true,
    });
    const backlog = Number(stats?.approximateBacklogCount ?? NaN);
    const text = `backlog ${backlog}, dispatch ${(stats?.tasksDispatchRate ?? NaN).toFixed(1)}/s, add ${(stats?.tasksAddRate ?? NaN).toFixed(1)}/s`;
    return { backlog, text };
  };

  // The worker runs as a process of its own, exactly as `npm run start:worker` starts it (its Node
  // flags included), so its peak RSS can be read.
  log('starting the worker process...');
  let workerExit: string | null = null;
  const worker: ChildProcess = spawn(process.execPath, await startWorkerArgs(), {
    cwd: root,
    env: childProcessEnv({ ...env, LOG_LEVEL: 'info' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const workerExited = new Promise<void>((resolve) =>
    worker.once('exit', (code, signal) => {
      workerExit = `exited with ${code ?? signal}`;
      resolve();
    }),
  );
  cleanups.push({
    name: 'worker',
    fn: async () => {
      if (workerExit) return;
      worker.kill('SIGTERM');
      await Promise.race([workerExited, sleep(10_000)]);
      if (!workerExit) {
        worker.kill('SIGKILL');
        await workerExited;
      }
    },
  });
  let workerOutput = '';
  // The worker's warnings (an activity failed, and retries) counted by message, errors shown.
  const workerWarnings = new Map<string, number>();
  const onWorkerOutput = (chunk: Buffer) => {
    const text = chunk.toString();
    workerOutput = (workerOutput + text).slice(-8000);
    for (const line of text.split('\n')) {
      const pino = /"level":(\d+).*?"msg":"([^"]*)"/.exec(line);
      const sdk = /^\S+ \[(WARN|ERROR)\] (.*?)\s*\{?$/.exec(line);
      const level = pino ? (Number(pino[1]) >= 50 ? 'ERROR' : Number(pino[1]) >= 40 ? 'WARN' : null) : sdk?.[1];
      const msg = (pino?.[2] ?? sdk?.[2] ?? '').slice(0, 300);
      if (!level) continue;
      const key = `${level} ${msg}`;
      const seen = (workerWarnings.get(key) ?? 0) + 1;
      workerWarnings.set(key, seen);
      if (level === 'ERROR' && seen <= 3) process.stderr.write(`[worker] ${key}\n`);
    }
  };
  const flushWorkerWarnings = () => {
    for (const [key, n] of workerWarnings) log(`  worker logged ${n} × ${key}`);
    workerWarnings.clear();
  };
  worker.stdout!.on('data', onWorkerOutput);
  worker.stderr!.on('data', onWorkerOutput);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start within 60 s: ${workerOutput}`)), 60_000);
    const check = () => {
      if (workerOutput.includes('worker running')) {
        clearTimeout(timer);
        resolve();
      }
    };
    worker.stdout!.on('data', check);
    void workerExited.then(() => {
      clearTimeout(timer);
      reject(new Error(`worker ${workerExit}: ${workerOutput}`));
    });
  });
  const workerPid = worker.pid!;
  flushWorkerWarnings();
  // CPU seconds of each process of the stack, to say which one a phase kept busy.
  const postgresPids = await childrenMatching(process.pid, 'bin/postgres');
  const temporalPid = temporalServer.process.pid;
  const cpuSnapshot = async () => ({
    worker: await cpuSeconds([workerPid]),
    temporal: temporalPid ? await cpuSeconds([temporalPid]) : NaN,
    postgres: postgresPids.length ? await cpuSeconds(postgresPids) : NaN,
    bench: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
  });
  type CpuSnapshot = Awaited<ReturnType<typeof cpuSnapshot>>;
  const cpuUse = (from: CpuSnapshot, to: CpuSnapshot, seconds: number) =>
    (Object.keys(from) as Array<keyof CpuSnapshot>)
      .map((k) => `${k} ${((to[k] - from[k]) / seconds).toFixed(2)}`)
      .join(', ');
  const ensureWorker = () => {
    if (workerExit) throw new Error(`the worker ${workerExit}: ${workerOutput.slice(-2000)}`);
  };

  const login = async (email: string) => {
    const res = await fetch(`${baseUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: baseUrl },
      body: JSON.stringify({ email, password: PASSWORD }),
    });
    if (!res.ok) throw new Error(`login failed: ${res.status} ${await res.text()}`);
    const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
    return { cookie, origin: baseUrl, 'content-type': 'application/json' };
  };

  /** An organization connected to a guild of its own through the real connection workflow. */
  const connectOrganization = async (name: string, email: string) => {
    const { organization, admin: adminUser } = await createOrganizationWithAdmin(pool, {
      name,
      adminEmail: email,
      adminPasswordHash: await hashPassword(PASSWORD),
    });
    const guild = sandbox.createGuild({ name: `${name} Guild` });
    const redirectUri = `${baseUrl}/api/discord/bot-callback`;
    const code = new URL(
      sandbox.authorize({ redirectUri, state: 'x', guildId: guild.id, permissions: '268435456' }),
    ).searchParams.get('code')!;
    const connected = await startConnection(
      { temporal, config },
      { organizationId: organization.id, userId: adminUser.id, code, redirectUri },
      60_000,
    );
    if (connected.outcome !== 'connected') throw new Error(`connection failed: ${JSON.stringify(connected)}`);
    // Its hourly reconciliation would fire at the top of the hour, in the middle of some scenario:
    // paused, and triggered by the reconciliation scenarios only.
    await temporal.schedule
      .getHandle(reconciliationScheduleId(organization.id))
      .pause('bench: reconciliations run only when the bench triggers them');
    return { organizationId: organization.id, guild, headers: await login(email) };
  };

  let nextUser = 700000000000000000n;
  /** `n` members of the guild, and an application of each, inserted in one statement. */
  const seed = async (organizationId: string, guild: SandboxGuild, n: number) => {
    const users = Array.from({ length: n }, () => String(nextUser++));
    for (const u of users) sandbox.addMember(guild.id, u);
    const { rows: inserted } = await pool.query<{ id: string }>(
      `INSERT INTO applications (organization_id, applicant_name, applicant_email, custom_data, discord_user_id)
       SELECT $1, 'Bench applicant', 'bench@example.com', jsonb_build_object('discord_user_id', u), u
       FROM unnest($2::text[]) WITH ORDINALITY AS t(u, i) ORDER BY i RETURNING id`,
      [organizationId, users],
    );
    return { ids: inserted.map((r) => r.id), users };
  };

  interface BulkProgress {
    bulkId: string;
    total: number;
    recorded: number;
    assigned: number;
    failed: number;
    refusedCount: number;
    done: boolean;
  }
  const postBulk = async (headers: Record<string, string>, ids: string[]) => {
    const t0 = now();
    const res = await fetch(`${baseUrl}/api/applications/bulk-review`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ ids, decision: 'approve' }),
    });
    const body = (await res.json()) as { bulkId?: string };
    const answerMs = now() - t0;
    if (res.status !== 202 || !body.bulkId)
      throw new Error(`bulk review answered ${res.status}: ${JSON.stringify(body)}`);
    return { bulkId: body.bulkId, t0, answerMs };
  };
  const bulkProgress = async (headers: Record<string, string>, bulkId: string): Promise<BulkProgress> => {
    const res = await fetch(`${baseUrl}/api/bulk-reviews/${bulkId}`, { headers });
    if (!res.ok) throw new Error(`GET bulk review answered ${res.status}`);
    return (await res.json()) as BulkProgress;
  };
  /** Waits until `progress()` reaches `target`, failing after `stallMs` without progress. */
  const waitUntil = async (
    what: string,
    progress: () => number | Promise<number>,
    target: number,
    stallMs: number,
    intervalMs = 100,
  ) => {
    let last = -1;
    let lastChange = now();
    let lastLog = now();
    for (;;) {
      ensureWorker();
      const p = await progress();
      if (p >= target) return;
      if (p !== last) {
        last = p;
        lastChange = now();
      } else if (now() - lastChange > stallMs) {
        throw new Error(`${what}: no progress for ${stallMs / 1000} s (at ${p} of ${target})`);
      }
      if (now() - lastLog > 15_000) {
        lastLog = now();
        log(`  ${what}: ${p} of ${target}`);
      }
      await sleep(intervalMs);
    }
  };
  const settledCount = (ids: string[]) =>
    countStatus(ids, 'approved_role_assigned').n + countStatus(ids, 'approved_role_failed').n;

  const orgA = await connectOrganization('Bench', 'bench@example.com');
  log(`connected organization Bench to guild ${orgA.guild.id}`);

  // 1. Bulk approvals at the Discord limit, intake and drain apart.
  interface BulkRun {
    size: number;
    postMs: number;
    intakeMs: number;
    handOffMs: number;
    queuedMs: number;
    backlogAtRelease: number;
    drainMs: number;
    requests: number;
    rateLimited: number;
    requestsWhilePaused: number;
    drainRequestsPerSecond: number;
    drainCpu: string;
    assigned: number;
    failed: number;
    lost: number;
    twice: number;
    rssMb: number;
    rssBeforeMb: number;
    rssReset: boolean;
    childrenRss: string;
    byRoute: string;
  }
  const bulkRuns: BulkRun[] = [];
  for (const [sizeIndex, size] of SIZES.entries()) {
    for (let run = 1; run <= RUNS[sizeIndex]!; run++) {
      log(`bulk ${size}, run ${run}/${RUNS[sizeIndex]}: seeding...`);
      const { ids, users } = await seed(orgA.organizationId, orgA.guild, size);
      await setGrantQueueRate(0);
      sandbox.setRateLimits({ global: { limit: SANDBOX_LIMIT_PER_SECOND, windowMs: 1000 } });
      sandbox.resetStats();
      proxy.reset();
      const rssReset = await resetPeakRss(workerPid);
      const rssBeforeMb = await currentRss(workerPid);

      const { bulkId, t0, answerMs } = await postBulk(orgA.headers, ids);
      log(`  POST answered in ${answerMs.toFixed(0)} ms; intake with the Discord queue paused...`);
      await waitUntil(
        'recorded',
        async () => {
          const progress = await bulkProgress(orgA.headers, bulkId);
          if (progress.refusedCount > 0) throw new Error(`${progress.refusedCount} approvals refused`);
          return progress.recorded;
        },
        size,
        120_000,
      );
      const recorded = countStatus(ids, 'approved_pending_role');
      // From the notifications of the decisions' commits; the API's poll is only 100 ms precise.
      const intakeMs = recorded.n === size ? recorded.last - t0 : now() - t0;
      const requestsWhilePaused = sandbox.stats().requests;

      log(`  recorded ${size} in ${(intakeMs / 1000).toFixed(1)} s; waiting for every grant to be queued...`);
      // Recorded is not queued: each application's role workflow must still take its hand-off and
      // schedule its grant. The drain starts once the paused queue holds them all (or stops growing).
      let backlog = 0;
      let grewAt = now();
      let queuedMs = NaN;
      let lastQueueLog = now();
      for (;;) {
        ensureWorker();
        const q = await grantQueueStats();
        if (q.backlog > backlog) {
          backlog = q.backlog;
          grewAt = now();
        }
        if (backlog >= size) {
          queuedMs = grewAt - t0;
          break;
        }
        if (now() - grewAt > 60_000) {
          log(`  warning: the grant queue stopped growing at ${backlog} of ${size}; releasing anyway`);
          queuedMs = grewAt - t0;
          break;
        }
        if (now() - lastQueueLog > 15_000) {
          lastQueueLog = now();
          log(`  grant queue: ${q.text}`);
        }
        await sleep(500);
      }
      log(
        `  ${backlog} grants queued after ${(queuedMs / 1000).toFixed(1)} s; releasing the queue (rate ${RELEASE_RATE})...`,
      );
      const released = now();
      const cpuAtRelease = await cpuSnapshot();
      await setGrantQueueRate(RELEASE_RATE);
      const queueLog = setInterval(() => {
        grantQueueStats().then(
          (q) => log(`  grant queue: ${q.text}; Discord requests so far ${proxy.records.length}`),
          () => undefined,
        );
      }, 15_000);
      try {
        await waitUntil('assigned or failed', () => settledCount(ids), size, 180_000);
      } finally {
        clearInterval(queueLog);
      }
      if (RELEASE_RATE !== RATE) await setGrantQueueRate(RATE);
      const assigned = countStatus(ids, 'approved_role_assigned');
      const drainMs = assigned.last - released;
      const drainCpu = cpuUse(cpuAtRelease, await cpuSnapshot(), (now() - released) / 1000);
      const drainRequests = proxy.records.filter((r) => r.arrivedAt >= released && r.arrivedAt <= assigned.last);
      const rss = await peakRss(workerPid);
      const final = await bulkProgress(orgA.headers, bulkId);
      const { rows: handOff } = await pool.query<{ ms: number }>(
        `SELECT extract(epoch FROM recorded_at - created_at) * 1000 AS ms FROM bulk_reviews WHERE id = $1`,
        [bulkId],
      );
      const stats = sandbox.stats();
      const wanted = new Set(users);
      const grants = new Map<string, number>();
      for (const add of stats.memberRoleAdds) {
        if (wanted.has(add.userId)) grants.set(add.userId, (grants.get(add.userId) ?? 0) + 1);
      }
      const result: BulkRun = {
        size,
        postMs: answerMs,
        intakeMs,
        handOffMs: Number(handOff[0]?.ms ?? NaN),
        queuedMs,
        backlogAtRelease: backlog,
        drainMs,
        requests: stats.requests,
        rateLimited: stats.rateLimited,
        requestsWhilePaused,
        drainRequestsPerSecond: drainRequests.length / (drainMs / 1000),
        drainCpu,
        assigned: final.assigned,
        failed: final.failed,
        lost: users.filter((u) => !grants.has(u)).length,
        twice: [...grants.values()].filter((n) => n > 1).length,
        rssMb: rss.mb,
        rssBeforeMb,
        rssReset,
        childrenRss: rss.children.map((c) => `${c.pid}: ${c.mb.toFixed(0)} MB`).join(', '),
        byRoute: Object.entries(stats.byRoute)
          .map(([route, r]) => `${route} ${r.requests}${r.rateLimited ? ` (${r.rateLimited} × 429)` : ''}`)
          .join('; '),
      };
      bulkRuns.push(result);
      log(
        `  drained in ${(drainMs / 1000).toFixed(1)} s (floor ${(size / RATE).toFixed(1)} s by approvals, ` +
          `${(stats.requests / RATE).toFixed(1)} s by requests); ${stats.requests} requests, ${stats.rateLimited} × 429; ` +
          `assigned ${final.assigned}, failed ${final.failed}, lost ${result.lost}, twice ${result.twice}; ` +
          `worker peak RSS ${rss.mb.toFixed(0)} MB (${rssBeforeMb.toFixed(0)} MB before); ` +
          `${result.drainRequestsPerSecond.toFixed(1)} requests/s during the drain; CPU cores used: ${drainCpu}`,
      );
      flushWorkerWarnings();
      if (!final.done) log(`  warning: the bulk does not say done: ${JSON.stringify(final)}`);
      if (final.failed > 0) {
        const { rows: why } = await pool.query<{ type: string; error: string; n: string }>(
          `SELECT discord_role_assignment_error_type AS type, min(discord_role_assignment_error) AS error, count(*) AS n
           FROM applications WHERE id = ANY($1) AND discord_role_assignment_status = 'failed' GROUP BY 1`,
          [ids],
        );
        for (const w of why) log(`  failed: ${w.n} × ${w.type}: ${w.error}`);
      }
    }
  }

  // 3. Latency, one approval after another, with no Discord limits. (Before the 403 phase, which
  // leaves its own organization paused; this one is not affected either way.)
  interface LatencySample {
    reviewMs: number;
    totalMs: number;
    /** The segments of `totalMs`, in order (NaN when a timestamp is missing). */
    segments: number[];
    serviceMs: number;
    memberToPutMs: number;
    requests: number;
    listedRoles: boolean;
  }
  /** The segments of approve → assigned, as seen from the bench, the Temporal history and the proxy. */
  const SEGMENTS = [
    {
      name: 'review answer → grant activity started',
      notes:
        'the workflow schedules the grant after its review step; the Discord task queue dispatches it to the worker (Temporal history: ActivityTaskStarted)',
    },
    {
      name: 'activity started → first Discord request',
      notes:
        'the activity reads the connection and the application (2 queries), then the guard (slot + breaker: 2 queries)',
    },
    { name: 'first Discord request → last Discord answer', notes: '' },
    {
      name: 'last Discord answer → activity completed',
      notes: 'the activity returns; the worker reports the completion (history: ActivityTaskCompleted)',
    },
    {
      name: 'activity completed → workflow task started',
      notes: 'the server schedules the next workflow task and the worker picks it up (history: WorkflowTaskStarted)',
    },
    {
      name: 'workflow task started → status notified',
      notes: 'replay of the cached workflow, local activity writes the result (transaction, audit), commit → NOTIFY',
    },
  ];
  const samples: LatencySample[] = [];
  let latencyCpu = '';
  if (LATENCY_N > 0) {
    log(`latency: ${LATENCY_N} approvals one after another, no Discord limits...`);
    sandbox.setRateLimits({ global: null, buckets: {} });
    await setGrantQueueRate(1000);
    const { ids } = await seed(orgA.organizationId, orgA.guild, LATENCY_N);
    proxy.reset();
    const latencyStart = now();
    const cpuAtStart = await cpuSnapshot();
    const raw: Array<{ id: string; t0: number; t1: number; tN: number; reqs: ProxiedRequest[] }> = [];
    for (const id of ids) {
      ensureWorker();
      const assigned = new Promise<number>((resolve) => waiters.set(id, { status: 'approved_role_assigned', resolve }));
      const t0 = now();
      const res = await fetch(`${baseUrl}/api/applications/${id}/review`, {
        method: 'POST',
        headers: orgA.headers,
        body: JSON.stringify({ decision: 'approve' }),
      });
      const answer = (await res.json()) as { status?: string };
      const t1 = now();
      if (!res.ok) throw new Error(`review answered ${res.status}: ${JSON.stringify(answer)}`);
      const tN = await Promise.race([
        assigned,
        sleep(60_000).then(() => Promise.reject(new Error(`application ${id} not assigned within 60 s`))),
      ]);
      raw.push({ id, t0, t1, tN, reqs: proxy.records.filter((r) => r.arrivedAt >= t0 && r.arrivedAt <= tN) });
    }
    await setGrantQueueRate(RATE);
    latencyCpu = cpuUse(cpuAtStart, await cpuSnapshot(), (now() - latencyStart) / 1000);
    flushWorkerWarnings();

    // The Temporal server's timestamps of each grant (read afterwards, so as not to disturb it),
    // in the bench's clock: epoch milliseconds minus this offset.
    log('  reading the workflow histories...');
    const epochOffset = Date.now() - now();
    const tsMs = (ts: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
      ts ? Number(ts.seconds ?? NaN) * 1000 + (ts.nanos ?? 0) / 1e6 - epochOffset : NaN;
    const EventType = proto.temporal.api.enums.v1.EventType;
    for (const r of raw) {
      let activityStarted = NaN;
      let activityCompleted = NaN;
      let taskStarted = NaN;
      try {
        const history = await temporal.workflow.getHandle(roleWorkflowId(r.id)).fetchHistory();
        const events = history.events ?? [];
        const scheduled = events.find(
          (e) =>
            e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED &&
            e.activityTaskScheduledEventAttributes?.activityType?.name === 'changeMemberRole',
        );
        const sid = Number(scheduled?.eventId ?? NaN);
        const started = events.find(
          (e) =>
            e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED &&
            Number(e.activityTaskStartedEventAttributes?.scheduledEventId) === sid,
        );
        const completed = events.find(
          (e) =>
            e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED &&
            Number(e.activityTaskCompletedEventAttributes?.scheduledEventId) === sid,
        );
        const next = events.find(
          (e) =>
            e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED &&
            Number(e.eventId) > Number(completed?.eventId ?? Infinity),
        );
        activityStarted = tsMs(started?.eventTime);
        activityCompleted = tsMs(completed?.eventTime);
        taskStarted = tsMs(next?.eventTime);
      } catch (err) {
        log(`  no history for ${r.id}: ${(err as Error).message}`);
      }
      const first = Math.min(...r.reqs.map((q) => q.arrivedAt));
      const lastAnswer = Math.max(...r.reqs.map((q) => q.answeredAt));
      const member = r.reqs.find((q) => q.method === 'GET' && q.userId);
      const put = r.reqs.find((q) => q.method === 'PUT');
      const points = [r.t1, activityStarted, first, lastAnswer, activityCompleted, taskStarted, r.tN];
      samples.push({
        reviewMs: r.t1 - r.t0,
        totalMs: r.tN - r.t1,
        segments: points.slice(1).map((t, i) => t - points[i]!),
        serviceMs: r.reqs.reduce((sum, q) => sum + (q.answeredAt - q.arrivedAt), 0),
        memberToPutMs: member && put ? put.arrivedAt - member.answeredAt : NaN,
        requests: r.reqs.length,
        listedRoles: r.reqs.some((q) => q.route.endsWith('/roles') && q.method === 'GET'),
      });
    }
    const totals = samples.map((x) => x.totalMs);
    log(`  p50 ${percentile(totals, 50).toFixed(0)} ms, p99 ${percentile(totals, 99).toFixed(0)} ms`);
  }

  // 2. The 403s of a bulk whose Approved role sits above the bot, in an organization of its own.
  let forbidden:
    | {
        size: number;
        forbidden: number;
        byRoute: string;
        proxy403: number;
        outcomes: Record<string, number>;
        pausedSilent: number;
        pausedAfterGet: number;
        pausedWithPut: number;
        paused: number;
        requests: number;
        seconds: number;
        state: string;
      }
    | undefined;
  if (FORBIDDEN_N > 0) {
    log(`403: a bulk of ${FORBIDDEN_N} whose Approved role sits above the bot...`);
    const orgB = await connectOrganization('Bench Forbidden', 'bench-403@example.com');
    sandbox.setBotRolePosition(orgB.guild.id, 0);
    sandbox.setRateLimits({ global: { limit: SANDBOX_LIMIT_PER_SECOND, windowMs: 1000 } });
    const { ids, users } = await seed(orgB.organizationId, orgB.guild, FORBIDDEN_N);
    proxy.reset();
    const { bulkId, t0 } = await postBulk(orgB.headers, ids);
    await waitUntil('assigned or failed', () => settledCount(ids), FORBIDDEN_N, 180_000);
    const seconds = (now() - t0) / 1000;
    const final = await bulkProgress(orgB.headers, bulkId);
    const { rows: failures } = await pool.query<{ route: string; status: number; n: string }>(
      `SELECT route, status, count(*) AS n FROM discord_authorization_failures WHERE guild_id = $1
       GROUP BY route, status ORDER BY route`,
      [orgB.guild.id],
    );
    const { rows: outcomeRows } = await pool.query<{ outcome: string; n: string }>(
      `SELECT status || coalesce(' ' || discord_role_assignment_error_type, '') AS outcome, count(*) AS n
       FROM applications WHERE id = ANY($1) GROUP BY 1 ORDER BY 1`,
      [ids],
    );
    const { rows: pausedRows } = await pool.query<{ user_id: string }>(
      `SELECT custom_data->>'discord_user_id' AS user_id FROM applications
       WHERE id = ANY($1) AND discord_role_assignment_error_type = 'grants_paused'`,
      [ids],
    );
    const { rows: stateRows } = await pool.query<{ connection_state: string }>(
      `SELECT connection_state FROM discord_configs WHERE organization_id = $1`,
      [orgB.organizationId],
    );
    const guildRequests = proxy.records.filter((r) => r.guildId === orgB.guild.id);
    const requestsOf = new Map<string, ProxiedRequest[]>();
    for (const r of guildRequests) {
      if (r.userId) requestsOf.set(r.userId, [...(requestsOf.get(r.userId) ?? []), r]);
    }
    const paused = pausedRows.map((r) => requestsOf.get(r.user_id) ?? []);
    forbidden = {
      size: FORBIDDEN_N,
      forbidden: failures.reduce((s, f) => s + Number(f.n), 0),
      byRoute: failures.map((f) => `${f.route} ${f.status} × ${f.n}`).join('; '),
      proxy403: guildRequests.filter((r) => r.status === 403).length,
      outcomes: Object.fromEntries(outcomeRows.map((r) => [r.outcome, Number(r.n)])),
      pausedSilent: paused.filter((reqs) => reqs.length === 0).length,
      pausedAfterGet: paused.filter((reqs) => reqs.length > 0 && !reqs.some((r) => r.method === 'PUT')).length,
      pausedWithPut: paused.filter((reqs) => reqs.some((r) => r.method === 'PUT')).length,
      paused: paused.length,
      requests: guildRequests.length,
      seconds,
      state: stateRows[0]?.connection_state ?? '?',
    };
    log(
      `  ${forbidden.forbidden} × 403 (${forbidden.byRoute}); outcomes ${JSON.stringify(forbidden.outcomes)}; ` +
        `${forbidden.requests} requests to the guild; bulk done: ${final.done}; users: ${users.length}`,
    );
    flushWorkerWarnings();
  }

  // 5. Reconciliations, each in an organization and guild of its own: the guild's members are the
  // approved members seeded here (with the bot and the owner), none of the other scenarios'.
  type Organization = Awaited<ReturnType<typeof connectOrganization>>;
  let nextMember = 800000000000000000n;
  /** `n` members approved and granted long ago, `percent` of whom have since lost the role by hand. */
  const seedApproved = async (org: Organization, n: number, percent: number) => {
    const { rows } = await pool.query<{ role_id: string | null }>(
      `SELECT approved_role_id AS role_id FROM discord_configs WHERE organization_id = $1`,
      [org.organizationId],
    );
    const roleId = rows[0]?.role_id;
    if (!roleId) throw new Error(`no Approved role for ${org.organizationId}`);
    const users = Array.from({ length: n }, () => String(nextMember++));
    sandbox.addMembers(org.guild.id, users, [roleId]);
    await pool.query(
      `INSERT INTO applications (organization_id, applicant_name, applicant_email, custom_data, status,
         discord_role_assignment_status, discord_user_id, discord_role_ids, discord_roles_held_before)
       SELECT $1, 'Member ' || u, 'member@example.com', '{}', 'approved_role_assigned', 'success', u, ARRAY[$2], '{}'
       FROM unnest($3::text[]) AS u`,
      [org.organizationId, roleId, users],
    );
    const d = Math.round((n * percent) / 100);
    const drifted = Array.from({ length: d }, (_, k) => users[Math.floor((k * n) / d)]!);
    for (const u of drifted) sandbox.removeRoleByHand(org.guild.id, u, roleId);
    return { roleId, users, drifted };
  };
  type Seeded = Awaited<ReturnType<typeof seedApproved>>;
  interface ReconcileResult {
    label: string;
    members: number;
    drifted: number;
    source: string | null;
    error: string | null;
    /** Trigger → the run's `finished_at`. */
    wallMs: number;
    /** The run's own `started_at` → `finished_at`. */
    runMs: number;
    checked: number;
    batches: number;
    batchRequests: number;
    /** What the proxy saw from the trigger to the end (the health check's requests too). */
    requests: number;
    byRoute: string;
    outcomes: string;
    repaired: number;
    restored: number;
    rateLimited: number;
    peak: number;
    cpu: string;
  }
  /**
   * Runs one reconciliation of `org` and measures it: `schedule` triggers its Temporal Schedule;
   * `direct` starts the schedule's own action with `periodMs` 0 (one by one, not spread over the
   * hour). `meanwhile` runs beside it, given whether the run is still going.
   */
  const measureReconciliation = async (
    org: Organization,
    seeded: Seeded,
    how: 'schedule' | 'direct',
    label: string,
    meanwhile?: (running: () => Promise<boolean>) => Promise<void>,
  ): Promise<ReconcileResult> => {
    interface RunRow {
      id: string;
      workflow_id: string;
      member_source: string | null;
      error: string | null;
      started: number;
      finished: number | null;
    }
    const runsOf = async () =>
      (
        await pool.query<RunRow>(
          `SELECT id, workflow_id, member_source, error, extract(epoch FROM started_at)::float8 * 1000 AS started,
             extract(epoch FROM finished_at)::float8 * 1000 AS finished
           FROM reconciliation_runs WHERE organization_id = $1 ORDER BY started_at DESC`,
          [org.organizationId],
        )
      ).rows;
    const known = new Set((await runsOf()).map((r) => r.id));
    let run: RunRow | undefined;
    const poll = async () => {
      run = (await runsOf()).find((r) => !known.has(r.id));
      return run;
    };
    sandbox.setRateLimits({ global: { limit: SANDBOX_LIMIT_PER_SECOND, windowMs: 1000 } });
    await setGrantQueueRate(RATE);
    sandbox.resetStats();
    proxy.reset();
    const cpuAtStart = await cpuSnapshot();
    const t0 = now();
    const schedule = temporal.schedule.getHandle(reconciliationScheduleId(org.organizationId));
    if (how === 'schedule') {
      await schedule.trigger();
    } else {
      const { action } = await schedule.describe();
      if (action.type !== 'startWorkflow') throw new Error(`schedule action ${action.type}`);
      const [input] = action.args as [ReconcileInput];
      await temporal.workflow.start<typeof reconcileOrganizationWorkflow>('reconcileOrganizationWorkflow', {
        workflowId: `${reconciliationScheduleId(org.organizationId)}-bench-${Date.now()}`,
        taskQueue: action.taskQueue,
        args: [{ ...input, periodMs: 0 }],
      });
    }
    /** Where a stuck run is: its workflow's step and pending activities (with their last failure). */
    const whereIsIt = async () => {
      if (!run) return 'no run recorded';
      try {
        const handle = temporal.workflow.getHandle(run.workflow_id);
        const [progress, description] = await Promise.all([
          handle.query(reconciliationProgressQuery),
          handle.describe(),
        ]);
        const pending = (description.raw.pendingActivities ?? []).map(
          (a) =>
            `${a.activityType?.name ?? '?'} attempt ${a.attempt ?? '?'}${
              a.lastFailure?.message ? ` (${a.lastFailure.message.slice(0, 200)})` : ''
            }`,
        );
        return `workflow ${description.status.name}, step ${progress.step}, batch ${progress.batch}; pending: ${
          pending.join('; ') || 'none'
        }`;
      } catch (err) {
        return `workflow ${run.workflow_id}: ${(err as Error).message}`;
      }
    };
    const beside = meanwhile?.(async () => (await poll())?.finished == null);
    // Waits for the run's end, failing after 2 minutes without a Discord request.
    let seen = 0;
    let lastChange = now();
    let lastLog = now();
    while ((await poll())?.finished == null) {
      ensureWorker();
      if (proxy.records.length !== seen) {
        seen = proxy.records.length;
        lastChange = now();
      } else if (now() - lastChange > 120_000) {
        flushWorkerWarnings();
        throw new Error(`${label}: no Discord request for 120 s: ${await whereIsIt()}`);
      }
      if (now() - lastLog > 15_000) {
        lastLog = now();
        log(`  ${label}: ${seen} requests so far`);
      }
      await sleep(100);
    }
    await beside;
    const finished = run!;
    const cpu = cpuUse(cpuAtStart, await cpuSnapshot(), (now() - t0) / 1000);
    // The database's clock in the bench's: the same machine's clock, as epoch milliseconds.
    const offset = Date.now() - now();
    const finishedAt = finished.finished! - offset;
    const within = proxy.records.filter((r) => r.arrivedAt >= t0 && r.arrivedAt <= finishedAt);
    const { rows: totals } = await pool.query<{ checked: number; requests: number; batches: number }>(
      `SELECT coalesce(sum(members_checked), 0)::int AS checked, coalesce(sum(requests), 0)::int AS requests,
         count(*)::int AS batches FROM reconciliation_batches WHERE run_id = $1`,
      [finished.id],
    );
    const { rows: outcomeRows } = await pool.query<{ outcome: string; kind: string; n: number }>(
      `SELECT outcome, kind, count(*)::int AS n FROM reconciliation_drift WHERE run_id = $1 GROUP BY 1, 2 ORDER BY 1, 2`,
      [finished.id],
    );
    const routes = new Map<string, number>();
    for (const r of within) {
      const key = `${r.route}${r.status >= 400 ? ` → ${r.status}` : ''}`;
      routes.set(key, (routes.get(key) ?? 0) + 1);
    }
    const result: ReconcileResult = {
      label,
      members: seeded.users.length,
      drifted: seeded.drifted.length,
      source: finished.member_source,
      error: finished.error,
      wallMs: finishedAt - t0,
      runMs: finished.finished! - finished.started,
      checked: totals[0]?.checked ?? 0,
      batches: totals[0]?.batches ?? 0,
      batchRequests: totals[0]?.requests ?? 0,
      requests: within.length,
      byRoute: [...routes].map(([route, n]) => `${route} ${n}`).join('; '),
      outcomes: outcomeRows.map((o) => `${o.kind} ${o.outcome} ${o.n}`).join(', ') || 'none',
      repaired: outcomeRows.filter((o) => o.outcome === 'repaired').reduce((sum, o) => sum + o.n, 0),
      restored: seeded.drifted.filter((u) => sandbox.memberRoles(org.guild.id, u).includes(seeded.roleId)).length,
      rateLimited: sandbox.stats().rateLimited,
      peak: peakInWindow(
        within.map((r) => r.arrivedAt),
        1000,
      ),
      cpu,
    };
    log(
      `  ${label}: ${(result.wallMs / 1000).toFixed(1)} s, ${result.checked} members checked ` +
        `(${(result.checked / (result.wallMs / 1000)).toFixed(0)}/s), ${result.requests} requests, peak ${result.peak} in 1 s, ` +
        `${result.rateLimited} × 429; drift: ${result.outcomes}; source ${result.source}${result.error ? `; error: ${result.error}` : ''}`,
    );
    flushWorkerWarnings();
    return result;
  };
  const formatCount = (n: number) => n.toLocaleString('en-US');
  const reconcileLabel = (seeded: Seeded, how: string) =>
    `reconcile ${formatCount(seeded.users.length)} approved (${formatCount(seeded.drifted.length)} drifted), ${how}`;
  const reconcileRuns: ReconcileResult[] = [];
  for (const [i, size] of RECONCILE_SIZES.entries()) {
    log(
      `reconcile: ${size} approved members, ${DRIFT_PERCENT} % missing their role, with the Server Members intent...`,
    );
    const org = await connectOrganization(`Bench Reconcile ${i + 1}`, `bench-reconcile-${i + 1}@example.com`);
    const seeded = await seedApproved(org, size, DRIFT_PERCENT);
    reconcileRuns.push(await measureReconciliation(org, seeded, 'schedule', reconcileLabel(seeded, 'listed')));
  }
  if (ONE_BY_ONE_N > 0) {
    log(`reconcile: ${ONE_BY_ONE_N} approved members one by one, without the Server Members intent...`);
    const org = await connectOrganization('Bench Reconcile One By One', 'bench-reconcile-one@example.com');
    const seeded = await seedApproved(org, ONE_BY_ONE_N, DRIFT_PERCENT);
    sandbox.setIntents({ guildMembers: false });
    try {
      reconcileRuns.push(await measureReconciliation(org, seeded, 'direct', reconcileLabel(seeded, 'one by one')));
    } finally {
      sandbox.setIntents({ guildMembers: true });
    }
  }

  // 6. Grant latency under load: approvals one every GRANT_INTERVAL_MS, idle, beside a
  // reconciliation (background priority), beside a bulk (normal priority).
  interface GrantSample {
    startedAt: number;
    /** The review POST itself (update-with-start of the role workflow, answered after its first step). */
    postMs: number;
    /** The review's answer → the NOTIFY of approved_role_assigned (as the latency scenario times it). */
    grantMs: number;
    /** The review sent → the NOTIFY of approved_role_assigned: what the admin waits. */
    totalMs: number;
  }
  const approveAndWait = async (headers: Record<string, string>, id: string): Promise<GrantSample> => {
    const assigned = new Promise<number>((resolve) => waiters.set(id, { status: 'approved_role_assigned', resolve }));
    const t0 = now();
    const res = await fetch(`${baseUrl}/api/applications/${id}/review`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ decision: 'approve' }),
    });
    const answer = (await res.json()) as unknown;
    const t1 = now();
    if (!res.ok) throw new Error(`review answered ${res.status}: ${JSON.stringify(answer)}`);
    const tN = await Promise.race([
      assigned,
      sleep(240_000).then(() => Promise.reject(new Error(`application ${id} not assigned within 240 s`))),
    ]);
    return { startedAt: t0, postMs: t1 - t0, grantMs: tN - t1, totalMs: tN - t0 };
  };
  /** Approvals of `ids`, one every GRANT_INTERVAL_MS while `going()`; each timed to its role assigned. */
  const grantsWhile = async (headers: Record<string, string>, ids: string[], going: () => Promise<boolean>) => {
    const started: Array<Promise<GrantSample>> = [];
    let next = now();
    for (const id of ids) {
      ensureWorker();
      if (!(await going())) break;
      const sample = approveAndWait(headers, id);
      sample.catch(() => undefined);
      started.push(sample);
      next += GRANT_INTERVAL_MS;
      await sleep(Math.max(0, next - now()));
    }
    return await Promise.all(started);
  };
  let contention:
    | {
        members: number;
        idle: GrantSample[];
        reconciling: GrantSample[];
        reconciliation: ReconcileResult;
        bulk?: {
          size: number;
          samples: GrantSample[];
          backlog: number;
          /** POST → last assigned. */
          seconds: number;
          /** First approval started → last started. */
          window: number;
          /** POST → the first approval beside it (the bulk's first grant). */
          firstGrant: number;
          /** POST → every decision recorded and handed off (the intake workflow's end). */
          handOff: number;
        };
      }
    | undefined;
  if (CONTENTION_N > 0) {
    log(
      `grant latency under load: ${CONTENTION_N} approvals per condition beside ${CONTENTION_MEMBERS} approved members` +
        `${CONTENTION_BULK > 0 ? ` and a bulk of ${CONTENTION_BULK}` : ''}...`,
    );
    const org = await connectOrganization('Bench Contention', 'bench-contention@example.com');
    const seeded = await seedApproved(org, CONTENTION_MEMBERS, DRIFT_PERCENT);
    const { ids: all } = await seed(
      org.organizationId,
      org.guild,
      GRANT_WARM_UP + CONTENTION_N * (CONTENTION_BULK > 0 ? 3 : 2),
    );
    const bulkIds = CONTENTION_BULK > 0 ? (await seed(org.organizationId, org.guild, CONTENTION_BULK)).ids : [];
    sandbox.setRateLimits({ global: { limit: SANDBOX_LIMIT_PER_SECOND, windowMs: 1000 } });
    await setGrantQueueRate(RATE);
    await grantsWhile(org.headers, all.slice(0, GRANT_WARM_UP), async () => true);
    const ids = all.slice(GRANT_WARM_UP);
    // Idle half before the reconciliation and half after: the machine's own drift (other
    // processes) weighs on both sides alike.
    const half = Math.ceil(CONTENTION_N / 2);
    log('  idle, first half...');
    const idle = await grantsWhile(org.headers, ids.slice(0, half), async () => true);
    log(
      `  idle: p50 ${percentile(
        idle.map((s) => s.totalMs),
        50,
      ).toFixed(0)} ms; beside the reconciliation...`,
    );
    let reconciling: GrantSample[] = [];
    const reconciliation = await measureReconciliation(
      org,
      seeded,
      'schedule',
      reconcileLabel(seeded, 'listed, beside the grants'),
      async (running) => {
        // From its first page of members: the comparison, not the health check, is what runs beside.
        const listed = () =>
          proxy.records.some((r) => r.guildId === org.guild.id && r.route === 'GET /guilds/:id/members');
        for (const t = now(); !listed() && now() - t < 60_000;) await sleep(10);
        reconciling = await grantsWhile(org.headers, ids.slice(CONTENTION_N, 2 * CONTENTION_N), running);
      },
    );
    log('  idle, second half...');
    idle.push(...(await grantsWhile(org.headers, ids.slice(half, CONTENTION_N), async () => true)));
    contention = { members: CONTENTION_MEMBERS, idle, reconciling, reconciliation };
    if (bulkIds.length > 0) {
      log(`  beside a bulk of ${bulkIds.length}...`);
      const { t0, bulkId } = await postBulk(org.headers, bulkIds);
      // From its first grant (its intake goes on meanwhile) to its last.
      await waitUntil('bulk: first grant', () => countStatus(bulkIds, 'approved_role_assigned').n, 1, 120_000, 20);
      const backlog = (await grantQueueStats()).backlog;
      const samples = await grantsWhile(
        org.headers,
        ids.slice(2 * CONTENTION_N),
        async () => settledCount(bulkIds) < bulkIds.length,
      );
      const starts = samples.map((x) => x.startedAt);
      const window = samples.length > 0 ? (Math.max(...starts) - Math.min(...starts)) / 1000 : 0;
      await waitUntil('bulk: assigned or failed', () => settledCount(bulkIds), bulkIds.length, 180_000);
      const seconds = (countStatus(bulkIds, 'approved_role_assigned').last - t0) / 1000;
      const { rows: handOff } = await pool.query<{ s: number }>(
        `SELECT extract(epoch FROM recorded_at - created_at)::float8 AS s FROM bulk_reviews WHERE id = $1`,
        [bulkId],
      );
      const firstGrant = (Math.min(...samples.map((x) => x.startedAt)) - t0) / 1000;
      contention.bulk = {
        size: bulkIds.length,
        samples,
        backlog,
        seconds,
        window,
        firstGrant,
        handOff: Number(handOff[0]?.s ?? NaN),
      };
      log(
        `  bulk: ${samples.length} approvals beside it, p50 ${percentile(
          samples.map((s) => s.totalMs),
          50,
        ).toFixed(0)} ms`,
      );
      flushWorkerWarnings();
    }
  }

  // 4. The Temporal server's own ceiling: no-op workflows, on workers in this process.
  let ceiling: { seconds: number; perSecond: number } | undefined;
  if (CEILING_N > 0) {
    log(`ceiling: ${CEILING_N} no-op workflows, 32 at a time...`);
    const connection = await NativeConnection.connect({ address: temporalServer.address });
    cleanups.push({ name: 'no-op connection', fn: () => connection.close() });
    const noopWorkers = await createWorkers({
      config: {
        ...config,
        temporal: {
          ...config.temporal,
          taskQueue: 'bench-noop',
          discordTaskQueue: 'bench-noop-discord',
          discordConnectionTaskQueue: 'bench-noop-discord-connections',
        },
      },
      pool,
      logger: createLogger({ level: 'warn' }),
      discord: createDiscordApi(createDiscordRest({ apiBaseUrl: sandbox.apiBaseUrl, botToken: sandbox.botToken })),
      connection,
      workflowBundlePath: noopBundlePath!,
    });
    const noopRunning = noopWorkers.run();
    cleanups.push({
      name: 'no-op workers',
      fn: async () => {
        noopWorkers.shutdown();
        await noopRunning;
      },
    });
    const n0 = now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < CEILING_N) {
          const i = next++;
          await temporal.workflow.execute<typeof benchNoopWorkflow>('benchNoopWorkflow', {
            workflowId: `bench-noop-${i}`,
            taskQueue: 'bench-noop',
          });
        }
      }),
    );
    const seconds = (now() - n0) / 1000;
    ceiling = { seconds, perSecond: CEILING_N / seconds };
    log(`  ${ceiling.perSecond.toFixed(0)} workflows/s`);
  }

  // The table.
  const pct = (part: number, whole: number) => (100 * part) / Math.max(1, whole);
  for (const size of SIZES) {
    const runs = bulkRuns.filter((r) => r.size === size);
    if (runs.length === 0) continue;
    const n = `${size.toLocaleString('en-US')} approvals (${runs.length} run${runs.length > 1 ? 's' : ''})`;
    const floor = size / RATE;
    const drains = runs.map((r) => r.drainMs / 1000);
    const ratio = runs.map((r) => r.drainMs / 1000 / floor);
    const realRatio = runs.map((r) => r.drainMs / 1000 / (r.requests / RATE));
    const rate429 = runs.map((r) => pct(r.rateLimited, r.requests));
    const posts = runs.map((r) => r.postMs);
    const rss = runs.map((r) => r.rssMb);
    rows.push(
      {
        measure: `${n}: POST /bulk-review answer (ms)`,
        result: spread(posts, 0),
        target: `< ${TARGET_POST_MS}`,
        verdict: verdict(Math.max(...posts) < TARGET_POST_MS),
        notes: '202 with bulkId; the Discord queue paused',
      },
      {
        measure: `${n}: intake, POST → recorded = total (s)`,
        result: spread(
          runs.map((r) => r.intakeMs / 1000),
          1,
        ),
        target: '–',
        verdict: '',
        notes: `${spread(
          runs.map((r) => size / (r.intakeMs / 1000)),
          0,
        )} decisions/s; Discord requests while paused: ${runs.map((r) => r.requestsWhilePaused).join(', ')}`,
      },
      {
        measure: `${n}: intake, POST → every grant queued (s)`,
        result: spread(
          runs.map((r) => r.queuedMs / 1000),
          1,
        ),
        target: '–',
        verdict: '',
        notes: `the paused Discord queue's backlog (Temporal's approximate count) at release: ${runs
          .map((r) => r.backlogAtRelease)
          .join(', ')}; the intake workflow ended (all handed off) after ${spread(
          runs.map((r) => r.handOffMs / 1000),
          1,
        )} s; each role workflow then schedules its grant`,
      },
      {
        measure: `${n}: drain, release → last assigned (s)`,
        result: spread(drains, 1),
        target: `≤ ${(TARGET_DRAIN_RATIO * floor).toFixed(1)} (${TARGET_DRAIN_RATIO} × ${size}/${RATE})`,
        verdict: verdict(median(ratio) <= TARGET_DRAIN_RATIO),
        notes: `${spread(
          runs.map((r) => size / (r.drainMs / 1000)),
          1,
        )} approvals/s, ${spread(
          runs.map((r) => r.drainRequestsPerSecond),
          1,
        )} Discord requests/s; CPU cores used in the last run's drain: ${runs.at(-1)!.drainCpu}`,
      },
      {
        measure: `${n}: drain / (approvals / ${RATE})`,
        result: spread(ratio, 2),
        target: `≤ ${TARGET_DRAIN_RATIO}`,
        verdict: verdict(median(ratio) <= TARGET_DRAIN_RATIO),
        notes: `floor ${floor.toFixed(1)} s: one request per approval, which no grant achieves (it makes 2)`,
      },
      {
        measure: `${n}: drain / (requests made / ${RATE})`,
        result: spread(realRatio, 2),
        target: '– (real floor)',
        verdict: '',
        notes: `floor ${spread(
          runs.map((r) => r.requests / RATE),
          1,
        )} s`,
      },
      {
        measure: `${n}: Discord requests`,
        result: spread(
          runs.map((r) => r.requests),
          0,
        ),
        target: '–',
        verdict: '',
        notes: `${spread(
          runs.map((r) => r.requests / size),
          3,
        )} per approval; last run: ${runs.at(-1)!.byRoute}`,
      },
      {
        measure: `${n}: answered 429`,
        result: spread(rate429, 2, ' %'),
        target: `< ${TARGET_429_PERCENT} %`,
        verdict: verdict(Math.max(...rate429) < TARGET_429_PERCENT),
        notes: `${runs.map((r) => `${r.rateLimited} of ${r.requests}`).join(', ')}; sandbox global limit ${SANDBOX_LIMIT_PER_SECOND} per 1 s window; pacer ${RATE}/s`,
      },
      {
        measure: `${n}: lost / granted twice`,
        result: `${runs.map((r) => r.lost).join(', ')} / ${runs.map((r) => r.twice).join(', ')}`,
        target: '0 / 0',
        verdict: verdict(runs.every((r) => r.lost === 0 && r.twice === 0)),
        notes: `sandbox role adds per approved user; bulk: assigned ${runs.map((r) => r.assigned).join(', ')}, failed ${runs
          .map((r) => r.failed)
          .join(', ')}`,
      },
      {
        measure: `${n}: worker peak RSS (MB)`,
        result: spread(rss, 0),
        target: `< ${TARGET_RSS_MB}`,
        verdict: verdict(Math.max(...rss) < TARGET_RSS_MB),
        notes: `RSS before each run ${spread(
          runs.map((r) => r.rssBeforeMb),
          0,
        )} MB; VmHWM of the worker process${
          runs.every((r) => r.rssReset) ? ', reset before each run (clear_refs)' : ' since its start'
        }; children: ${runs.at(-1)!.childrenRss || 'none'}`,
      },
    );
  }
  if (forbidden) {
    const f = forbidden;
    const others = f.size - f.forbidden;
    rows.push(
      {
        measure: `403: bulk of ${f.size}, Approved role above the bot: 403 answers`,
        result: String(f.forbidden),
        target: `≤ ${TARGET_403}`,
        verdict: verdict(f.forbidden <= TARGET_403),
        notes: `discord_authorization_failures: ${f.byRoute || 'none'}; the proxy saw ${f.proxy403} × 403; ${f.requests} requests to the guild in ${f.seconds.toFixed(1)} s; connection state after: ${f.state}`,
      },
      {
        measure: `403: other grants failed grants_paused`,
        result: `${f.paused} of ${others}`,
        target: `${others} of ${others}, no Discord call`,
        verdict: verdict(f.paused === others && f.pausedWithPut === 0),
        notes: `${f.pausedSilent} made no request at all, ${f.pausedAfterGet} a GET member before the pause (no PUT), ${f.pausedWithPut} a PUT; outcomes: ${Object.entries(
          f.outcomes,
        )
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`,
      },
    );
  }
  if (samples.length > 0) {
    const col = (pick: (s: LatencySample) => number) => samples.map(pick).filter((v) => Number.isFinite(v));
    const p = (pick: (s: LatencySample) => number) =>
      `p50 ${percentile(col(pick), 50).toFixed(1)} / p99 ${percentile(col(pick), 99).toFixed(1)}`;
    const totals = col((s) => s.totalMs);
    const p50 = percentile(totals, 50);
    const p99 = percentile(totals, 99);
    const mean = (list: LatencySample[], i: number) => {
      const values = list.map((s) => s.segments[i]!).filter((v) => Number.isFinite(v));
      return values.reduce((a, v) => a + v, 0) / Math.max(1, values.length);
    };
    // Where the typical approval and the slowest ones spend their time.
    const typical = samples.filter((s) => s.totalMs <= percentile(totals, 50));
    const slow = samples.filter((s) => s.totalMs >= percentile(totals, 95));
    const largest = (list: LatencySample[]) =>
      SEGMENTS.map((seg, i) => ({ name: seg.name, ms: mean(list, i) })).sort((a, b) => b.ms - a.ms);
    const describe = (list: LatencySample[]) =>
      largest(list)
        .slice(0, 2)
        .map((x) => `${x.name} ${x.ms.toFixed(0)} ms`)
        .join(', then ');
    rows.push(
      {
        measure: `latency: approve → assigned, p50 (ms)`,
        result: p50.toFixed(1),
        target: `≤ ${TARGET_P50_MS}`,
        verdict: verdict(p50 <= TARGET_P50_MS),
        notes: `${samples.length} approvals one after another, from the review's HTTP answer to the NOTIFY of approved_role_assigned; sandbox limit off, grant queue at 1000/s, pacer ${RATE}/s`,
      },
      {
        measure: `latency: approve → assigned, p99 (ms)`,
        result: p99.toFixed(1),
        target: `≤ ${TARGET_P99_MS}`,
        verdict: verdict(p99 <= TARGET_P99_MS),
        notes: `max ${Math.max(...totals).toFixed(1)} ms; CPU cores used meanwhile: ${latencyCpu}`,
      },
      {
        measure: `latency: review POST itself (ms)`,
        result: p((s) => s.reviewMs),
        target: '–',
        verdict: '',
        notes:
          'update-with-start of the role workflow, answered after its first database step (not part of the figures above)',
      },
      ...SEGMENTS.map((seg, i): Row => ({
        measure: `latency breakdown ${i + 1}: ${seg.name} (ms)`,
        result: p((s) => s.segments[i]!),
        target: '–',
        verdict: '',
        notes: `mean ${mean(samples, i).toFixed(1)}, slowest 5 % mean ${mean(slow, i).toFixed(1)}; ${
          i === 2
            ? `${p((s) => s.requests)} requests (GET roles in ${samples.filter((s) => s.listedRoles).length} of ${samples.length}); sandbox own time ${p(
                (s) => s.serviceMs,
              )}; GET member answer → PUT arrival ${p((s) => s.memberToPutMs)} (held-before write, guard, pacer slots ${(1000 / RATE).toFixed(0)} ms apart)`
            : seg.notes
        }`,
      })),
      {
        measure: 'latency: what limits it',
        result: largest(typical)[0]!.name,
        target: '–',
        verdict: '',
        notes: `at or below p50: ${describe(typical)}; slowest 5 %: ${describe(slow)}`,
      },
    );
  }
  for (const r of reconcileRuns) {
    const seconds = r.wallMs / 1000;
    const floor = r.requests / RATE;
    const oneByOne = r.source === 'one_by_one';
    rows.push(
      {
        measure: `${r.label}: trigger → finished (s)`,
        result: seconds.toFixed(1),
        target: '–',
        verdict: '',
        notes: `${
          oneByOne
            ? "the schedule's own arguments started with periodMs 0 (a scheduled pass spreads the same batches over 80 % of its hour)"
            : 'its Temporal Schedule triggered'
        }; the run itself (started_at → finished_at) ${(r.runMs / 1000).toFixed(1)} s; member source ${r.source ?? 'none'}${
          r.error ? `; error: ${r.error}` : ''
        }; CPU cores used: ${r.cpu}`,
      },
      {
        measure: `${r.label}: members checked per second`,
        result: (r.checked / seconds).toFixed(0),
        target: '–',
        verdict: '',
        notes: `${r.checked} members checked in ${r.batches} batches (${
          oneByOne
            ? 'the approved members, 25 a batch'
            : "the guild's members, 1,000 a page: the approved, the bot and the owner"
        })`,
      },
      {
        measure: `${r.label}: Discord requests`,
        result: String(r.requests),
        target: '–',
        verdict: '',
        notes: `${(r.requests / Math.max(1, r.checked)).toFixed(3)} per member checked; the batches counted ${r.batchRequests} (not the health check's); ${r.byRoute}`,
      },
      {
        measure: `${r.label}: requests per second, mean / peak in any 1 s`,
        result: `${(r.requests / seconds).toFixed(1)} / ${r.peak}`,
        target: `peak ≤ ${TARGET_PEAK_PER_SECOND}`,
        verdict: verdict(r.peak <= TARGET_PEAK_PER_SECOND),
        notes: `pacer ${RATE}/s: peak ${(r.peak / RATE).toFixed(2)} × the rate; trigger → finished / (requests / ${RATE}) = ${(
          seconds / floor
        ).toFixed(2)} (floor ${floor.toFixed(1)} s); sandbox global limit ${SANDBOX_LIMIT_PER_SECOND} per 1 s window`,
      },
      {
        measure: `${r.label}: repaired / holding the role again / 429s`,
        result: `${r.repaired} / ${r.restored} / ${r.rateLimited}`,
        target: `${r.drifted} / ${r.drifted} / 0`,
        verdict: verdict(r.repaired === r.drifted && r.restored === r.drifted && r.rateLimited === 0 && !r.error),
        notes: `drift recorded: ${r.outcomes}`,
      },
    );
  }
  if (contention) {
    const c = contention;
    type Key = 'totalMs' | 'postMs' | 'grantMs';
    const p = (list: GrantSample[], key: Key, at: number) =>
      percentile(
        list.map((s) => s[key]),
        at,
      );
    const figures = (list: GrantSample[], key: Key) =>
      `p50 ${p(list, key, 50).toFixed(0)} / p95 ${p(list, key, 95).toFixed(0)}`;
    const parts = (list: GrantSample[]) =>
      `the review POST itself ${figures(list, 'postMs')} ms, its answer → assigned ${figures(list, 'grantMs')} ms`;
    const times = (list: GrantSample[], key: Key, at: number) => (p(list, key, at) / p(c.idle, key, at)).toFixed(2);
    const ratio = (list: GrantSample[]) => `p50 ${times(list, 'totalMs', 50)} × / p95 ${times(list, 'totalMs', 95)} ×`;
    const signed = (ms: number) => `${ms >= 0 ? '+' : '−'}${Math.abs(ms).toFixed(0)} ms`;
    const ratioNotes = (list: GrantSample[]) =>
      `${signed(p(list, 'totalMs', 50) - p(c.idle, 'totalMs', 50))} at p50, ${signed(
        p(list, 'totalMs', 95) - p(c.idle, 'totalMs', 95),
      )} at p95; the POST p50 ${times(list, 'postMs', 50)} ×, answer → assigned p50 ${times(
        list,
        'grantMs',
        50,
      )} × / p95 ${times(list, 'grantMs', 95)} ×`;
    const rec = c.reconciliation;
    rows.push(
      {
        measure: `grant latency, idle: review sent → role assigned (ms)`,
        result: figures(c.idle, 'totalMs'),
        target: '–',
        verdict: '',
        notes: `${c.idle.length} approvals, one every ${GRANT_INTERVAL_MS} ms (half before the reconciliation, half after; ${GRANT_WARM_UP} before them not counted), to the NOTIFY of approved_role_assigned; ${parts(
          c.idle,
        )}; an organization with ${formatCount(c.members)} approved members; sandbox global limit ${SANDBOX_LIMIT_PER_SECOND} per 1 s, pacer ${RATE}/s`,
      },
      {
        measure: `grant latency, beside a reconciliation of ${formatCount(rec.members)} (${formatCount(
          rec.drifted,
        )} drifted): review sent → role assigned (ms)`,
        result: figures(c.reconciling, 'totalMs'),
        target: '–',
        verdict: '',
        notes: `${c.reconciling.length} of ${CONTENTION_N} approvals started while it ran (from its first page of members); ${parts(
          c.reconciling,
        )}; the run: ${(rec.wallMs / 1000).toFixed(1)} s, ${rec.checked} members checked, ${
          rec.requests
        } requests (the grants' too), peak ${rec.peak} in 1 s, ${rec.rateLimited} × 429, repaired ${rec.repaired} of ${rec.drifted}`,
      },
      {
        measure: `grant latency, beside the reconciliation / idle`,
        result: ratio(c.reconciling),
        target: '–',
        verdict: '',
        notes: `${ratioNotes(c.reconciling)}; its requests take a slot only when the schedule is idle (a grant's request waits at most one slot more, ${(
          1000 / RATE
        ).toFixed(0)} ms), on a queue of their own`,
      },
    );
    if (c.bulk) {
      const b = c.bulk;
      rows.push(
        {
          measure: `grant latency, beside a bulk of ${formatCount(b.size)} approvals: review sent → role assigned (ms)`,
          result: figures(b.samples, 'totalMs'),
          target: '–',
          verdict: '',
          notes: `${b.samples.length} of ${CONTENTION_N} approvals started from the bulk's first grant (${b.firstGrant.toFixed(
            1,
          )} s after its POST) to its last (over ${b.window.toFixed(1)} s); ${parts(
            b.samples,
          )}; the Discord queue's backlog at the first ${b.backlog}; the bulk: every decision recorded and handed off ${b.handOff.toFixed(
            1,
          )} s after its POST, last assigned ${b.seconds.toFixed(1)} s after it`,
        },
        {
          measure: `grant latency, beside the bulk / idle`,
          result: ratio(b.samples),
          target: '–',
          verdict: '',
          notes: `${ratioNotes(
            b.samples,
          )}; the bulk's role workflows share the workflow queue and the Temporal server with the review, and its grants the Discord queue at the same priority`,
        },
      );
    }
  }
  if (ceiling) {
    rows.push({
      measure: `ceiling: ${CEILING_N} no-op workflows, 32 at a time`,
      result: `${ceiling.perSecond.toFixed(0)} workflows/s`,
      target: '–',
      verdict: '',
      notes: `${ceiling.seconds.toFixed(1)} s; the Temporal dev server (SQLite) itself, for comparison with the intake rate`,
    });
  }
} catch (err) {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  notes.push(`The bench FAILED before the end: ${(err as Error).message.split('\n')[0]}`);
  process.exitCode = 1;
} finally {
  await cleanUp();
}

const cpus = os.cpus();
process.stdout.write(
  [
    '',
    `Command: \`${commandLine}\``,
    `Machine: ${cpus.length} cores (${cpus[0]?.model.trim() ?? 'unknown CPU'}), ${(os.totalmem() / 2 ** 30).toFixed(
      1,
    )} GiB RAM, Node ${process.version}, ${os.type()} ${os.release()}; load average ${loadAtStart
      .map((l) => l.toFixed(2))
      .join(' ')} at the start, ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} at the end`,
    `Sizes ${SIZES.join(', ') || 'none'} × runs ${RUNS.join(', ') || 'none'}; latency ${LATENCY_N}; 403 bulk ${FORBIDDEN_N}; ceiling ${CEILING_N}; reconcile ${
      RECONCILE_SIZES.join(', ') || 'none'
    } and ${ONE_BY_ONE_N} one by one, ${DRIFT_PERCENT} % drifted; grant latency under load ${CONTENTION_N} per condition (reconciliation ${CONTENTION_MEMBERS}, bulk ${CONTENTION_BULK}). Results of several runs: median (min–max).`,
    ...(SIZES.length > 0
      ? [
          `Bulk runs: the Discord grant queue is paused (rate 0) before the POST; the drain starts when every grant waits in it (Temporal's backlog = total), not already at recorded = total, when most role workflows have not yet scheduled their grant; it is released at ${RELEASE_RATE}/s${
            RELEASE_RATE === RATE ? '' : ` (not ${RATE}: --release-rate)`
          } with the worker's pacer at ${RATE} requests/s.`,
        ]
      : []),
    ...(RECONCILE_SIZES.length > 0 || ONE_BY_ONE_N > 0 || CONTENTION_N > 0
      ? [
          `Reconciliations: each organization's schedule is paused once connected and triggered by the bench alone; the sandbox's global limit is on (${SANDBOX_LIMIT_PER_SECOND} per 1 s window), the pacer at ${RATE} requests/s, the grant queue at ${RATE}/s.`,
        ]
      : []),
    ...notes,
    '',
    rows.length ? markdownTable(rows) : '(no results)',
    '',
  ].join('\n'),
);
process.exit(process.exitCode ?? 0);
