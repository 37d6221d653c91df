import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { childProcessEnv, loadConfig, loadConfigOrExit } from '../config';
import { startEmbeddedPostgres, freePort } from '../db/embedded';
import { migrate } from '../db/migrate';
import { createPool, type Pool } from '../db/pool';
import { createOrganizationWithAdmin } from '../db/organizations';
import { createDiscordApi } from '../discord/api';
import { createDiscordRest } from '../discord/rest';
import { createApp } from '../http/app';
import { createLogger } from '../logger';
import { startSandbox } from '../sandbox';
import { resolveTemporalCli } from '../temporal/cli';
import { connectTemporal } from '../temporal/client';
import { startTemporalDevServer } from '../temporal/dev-server';
import { startConnection } from '../temporal/operations';
import { buildWorkflowBundle } from '../temporal/workflow-bundle';
import { createWorkers } from '../worker';

/**
 * `npm run bench`: bulk approvals against the sandbox's Discord limits, approval latency, and the
 * Temporal server's own ceiling (no-op workflows), all measured side by side in one run.
 * `npm run bench -- --bulk 200 --latency 30` changes the sizes (default 1000 and 200).
 */
const { values: args } = parseArgs({
  options: { bulk: { type: 'string', default: '1000' }, latency: { type: 'string', default: '200' } },
});
const BULK = Number(args.bulk);
const LATENCY_N = Number(args.latency);
const SANDBOX_LIMIT_PER_SECOND = 50;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Runtime.install({ logger: new DefaultLogger('ERROR') });
const work = await fs.mkdtemp(path.join(os.tmpdir(), 'role-grants-bench-'));
// The embedded Postgres runs as its own user when we are root: it must reach its data folder.
await fs.chmod(work, 0o755);
const cleanups: Array<() => Promise<unknown>> = [];
try {
  log('starting Postgres, Temporal and the Discord sandbox...');
  const cliPath = await resolveTemporalCli({ cliPath: loadConfigOrExit().temporalCliPath });
  const [postgres, temporalServer, bundlePath] = await Promise.all([
    startEmbeddedPostgres({ dataDir: path.join(work, 'pg'), persistent: false }),
    freePort().then((port) => startTemporalDevServer({ cliPath, dbFile: path.join(work, 'temporal.sqlite'), port })),
    buildWorkflowBundle(path.join(work, 'bundle.js')),
  ]);
  cleanups.push(
    () => postgres.stop(),
    () => temporalServer.stop(),
  );
  const admin = new pg.Client({ connectionString: postgres.url() });
  await admin.connect();
  await admin.query('CREATE DATABASE bench');
  await admin.end();
  const databaseUrl = postgres.url('bench');
  await migrate(databaseUrl);
  const pool = createPool(databaseUrl, { max: 30 });
  cleanups.push(() => pool.end());

  const sandbox = await startSandbox({ rateLimits: { global: null } });
  cleanups.push(() => sandbox.close());
  const env = {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporalServer.address,
    DISCORD_CLIENT_ID: sandbox.clientId,
    DISCORD_CLIENT_SECRET: sandbox.clientSecret,
    DISCORD_BOT_TOKEN: sandbox.botToken,
    DISCORD_API_BASE_URL: sandbox.apiBaseUrl,
    DISCORD_AUTHORIZE_URL: sandbox.authorizeUrl,
    STATE_SIGNING_SECRET: 'bench-state-signing-secret-of-at-least-32-bytes',
    TOKEN_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    WORKFLOW_BUNDLE_PATH: bundlePath,
    PORT: '0',
  };
  const config = loadConfig(env);
  const temporal = await connectTemporal({ address: temporalServer.address, namespace: 'default' });
  cleanups.push(() => temporal.connection.close());
  const server = createApp({ config, pool, temporal, logger: createLogger({ level: 'warn' }) }).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  cleanups.push(() => new Promise((r) => server.close(r)));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  config.publicBaseUrl = baseUrl;

  // The worker runs as a process of its own, as in production, so its peak RSS can be read.
  const startWorkerProcess = async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src/bin/worker.ts')], {
      cwd: root,
      env: childProcessEnv({ ...env, LOG_LEVEL: 'info' }),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => {
        output = (output + c.toString()).slice(-4000);
        if (output.includes('worker running')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`worker exited with ${code}: ${output}`)));
    });
    return child;
  };
  const peakRssMb = async (pid: number) => {
    const status = await fs.readFile(`/proc/${pid}/status`, 'utf8');
    return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
  };
  const worker = await startWorkerProcess();
  cleanups.push(async () => {
    worker.kill('SIGTERM');
    await new Promise((r) => worker.once('exit', r));
  });

  // One organization, connected to one guild through the real connection workflow.
  const { organization, admin: adminUser } = await createOrganizationWithAdmin(pool, {
    name: 'Bench',
    adminEmail: 'bench@example.com',
    adminPassword: 'bench-password',
  });
  const guild = sandbox.createGuild({ name: 'Bench Guild' });
  const redirectUri = `${baseUrl}/api/discord/bot-callback`;
  const code = new URL(
    sandbox.authorize({ redirectUri, state: 'x', guildId: guild.id, permissions: '268435456' }),
  ).searchParams.get('code')!;
  const connected = await startConnection(
    { temporal, config },
    { organizationId: organization.id, userId: adminUser.id, code, redirectUri },
    30_000,
  );
  if (connected.outcome !== 'connected') throw new Error(`connection failed: ${JSON.stringify(connected)}`);
  const login = await fetch(`${baseUrl}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'bench@example.com', password: 'bench-password' }),
  });
  const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
  const headers = { cookie, origin: baseUrl, 'content-type': 'application/json' };

  let nextUser = 700000000000000000n;
  const seed = async (n: number): Promise<{ ids: string[]; users: string[] }> => {
    const users = Array.from({ length: n }, () => String(nextUser++));
    for (const u of users) sandbox.addMember(guild.id, u);
    const { rows } = await pool.query<{ id: string }>(
      `INSERT INTO applications (organization_id, applicant_name, applicant_email, custom_data)
       SELECT $1, 'Bench applicant', 'bench@example.com', jsonb_build_object('discord_user_id', u)
       FROM unnest($2::text[]) WITH ORDINALITY AS t(u, i) ORDER BY i RETURNING id`,
      [organization.id, users],
    );
    return { ids: rows.map((r) => r.id), users };
  };
  const countAssigned = async (db: Pool, ids: string[]) =>
    Number(
      (
        await db.query(
          `SELECT count(*) AS n FROM applications WHERE id = ANY($1) AND status = 'approved_role_assigned'`,
          [ids],
        )
      ).rows[0].n,
    );
  const bulkApprove = async (ids: string[]) => {
    const res = await fetch(`${baseUrl}/api/applications/bulk-review`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ ids, decision: 'approve' }),
    });
    const { results } = (await res.json()) as { results: Array<{ ok: boolean }> };
    const refused = results.filter((r) => !r.ok).length;
    if (refused) throw new Error(`${refused} approvals refused`);
  };
  const waitAll = async (ids: string[], timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while ((await countAssigned(pool, ids)) < ids.length) {
      if (Date.now() > deadline) throw new Error('timed out waiting for assignments');
      await sleep(50);
    }
  };

  // 1. Bulk: the sandbox limits member-role changes to 50/s per guild and 50/s globally.
  log(`bulk: ${BULK} approvals for one guild...`);
  sandbox.setRateLimits({
    global: { limit: SANDBOX_LIMIT_PER_SECOND, windowMs: 1000 },
    buckets: { memberRoles: { limit: SANDBOX_LIMIT_PER_SECOND, windowMs: 1000 } },
  });
  sandbox.resetStats();
  const bulk = await seed(BULK);
  const t0 = performance.now();
  await bulkApprove(bulk.ids);
  const requestMs = performance.now() - t0;
  await waitAll(bulk.ids, 10 * 60_000);
  const bulkMs = performance.now() - t0;
  const stats = sandbox.stats();
  const grants = new Map<string, number>();
  for (const add of stats.memberRoleAdds) grants.set(add.userId, (grants.get(add.userId) ?? 0) + 1);
  const exactlyOnce = bulk.users.every((u) => grants.get(u) === 1);
  const pendingLeft = Number(
    (
      await pool.query(
        `SELECT count(*) AS n FROM applications WHERE id = ANY($1) AND status <> 'approved_role_assigned'`,
        [bulk.ids],
      )
    ).rows[0].n,
  );
  const limitInForce = Math.min(SANDBOX_LIMIT_PER_SECOND, config.discord.maxRequestsPerSecond);
  const floorMs = (BULK / limitInForce) * 1000;
  const bulkRss = await peakRssMb(worker.pid!);

  // 2. Latency with no Discord limits: one approval after another.
  log(`latency: ${LATENCY_N} approvals one after another...`);
  sandbox.setRateLimits({ global: null, buckets: {} });
  const lat = await seed(LATENCY_N);
  const latencies: number[] = [];
  for (const id of lat.ids) {
    const s = performance.now();
    await fetch(`${baseUrl}/api/applications/${id}/review`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ decision: 'approve' }),
    });
    while ((await countAssigned(pool, [id])) < 1) await sleep(2);
    latencies.push(performance.now() - s);
  }
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!;

  // 3. Ceiling: as many no-op workflows on the same server, started the same way (32 at a time).
  log(`ceiling: ${BULK} no-op workflows...`);
  const connection = await NativeConnection.connect({ address: temporalServer.address });
  cleanups.push(() => connection.close());
  const noopWorkers = await createWorkers({
    config: {
      ...config,
      temporal: { ...config.temporal, taskQueue: 'bench-noop', discordTaskQueue: 'bench-noop-discord' },
    },
    pool,
    logger: createLogger({ level: 'warn' }),
    discord: createDiscordApi(createDiscordRest({ apiBaseUrl: sandbox.apiBaseUrl, botToken: sandbox.botToken })),
    connection,
    workflowBundlePath: bundlePath,
  });
  const noopRunning = noopWorkers.run();
  cleanups.push(async () => {
    noopWorkers.shutdown();
    await noopRunning;
  });
  const n0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < BULK) {
        const i = next++;
        await temporal.workflow.execute('benchNoopWorkflow', {
          workflowId: `bench-noop-${i}`,
          taskQueue: 'bench-noop',
        });
      }
    }),
  );
  const noopMs = performance.now() - n0;

  // 4. Ours without Discord limits, for the ratio to the ceiling (the queue limit stays in force).
  log(`unthrottled: ${BULK} approvals with no sandbox limits...`);
  const free = await seed(BULK);
  const u0 = performance.now();
  await bulkApprove(free.ids);
  await waitAll(free.ids, 10 * 60_000);
  const freeMs = performance.now() - u0;
  const freeRss = await peakRssMb(worker.pid!);

  const rows: Array<[string, string, string]> = [
    ['bulk: approvals', String(BULK), ''],
    [
      'bulk: limit in force (req/s)',
      `${limitInForce}`,
      `min(sandbox ${SANDBOX_LIMIT_PER_SECOND}, queue ${config.discord.maxRequestsPerSecond})`,
    ],
    [
      'bulk: request → last assigned (s)',
      (bulkMs / 1000).toFixed(1),
      `bulk-review request itself: ${(requestMs / 1000).toFixed(1)} s`,
    ],
    ['bulk: floor (s)', (floorMs / 1000).toFixed(1), `${BULK} / ${limitInForce}`],
    ['bulk: time / floor', (bulkMs / floorMs).toFixed(2), 'target ≤ 1.25'],
    [
      'bulk: Discord requests answered 429',
      `${stats.rateLimited} of ${stats.requests}`,
      `${((100 * stats.rateLimited) / Math.max(1, stats.requests)).toFixed(2)} % (target < 1 %)`,
    ],
    ['bulk: roles granted exactly once', exactlyOnce ? 'yes' : 'NO', `${grants.size} users granted`],
    ['bulk: left pending or lost', String(pendingLeft), 'target 0'],
    ['worker peak RSS (MB)', bulkRss.toFixed(0), `after all phases: ${freeRss.toFixed(0)} MB (target < 400)`],
    ['latency: approvals one by one', String(LATENCY_N), 'no Discord limits'],
    ['latency: p50 approve → assigned (ms)', pct(50).toFixed(0), ''],
    ['latency: p99 approve → assigned (ms)', pct(99).toFixed(0), ''],
    ['ceiling: no-op workflows (s)', (noopMs / 1000).toFixed(1), `${(BULK / (noopMs / 1000)).toFixed(0)} workflows/s`],
    ['unthrottled: approvals (s)', (freeMs / 1000).toFixed(1), `${(BULK / (freeMs / 1000)).toFixed(0)} approvals/s`],
    ['throughput / ceiling, unthrottled', (noopMs / freeMs).toFixed(2), 'target ≥ 0.5'],
    [
      'throughput / ceiling, bulk (Discord-limited)',
      (noopMs / bulkMs).toFixed(2),
      'capped by the Discord limit by design',
    ],
  ];
  const width = Math.max(...rows.map((r) => r[0].length));
  const vwidth = Math.max(...rows.map((r) => r[1].length));
  process.stdout.write(`\nnpm run bench  (--bulk ${BULK} --latency ${LATENCY_N}, ${os.cpus().length} cores)\n\n`);
  for (const [k, v, note] of rows) process.stdout.write(`${k.padEnd(width)}  ${v.padStart(vwidth)}  ${note}\n`);
} catch (err) {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await fs.rm(work, { recursive: true, force: true });
}
process.exit(process.exitCode ?? 0);
