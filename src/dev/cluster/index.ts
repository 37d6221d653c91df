/**
 * `npm run cluster` as a library: a production-shaped stack on one machine, which
 * test/cluster/cluster.test.ts drives too.
 *
 * - Postgres: the embedded one (src/dev/embedded-postgres.ts), or DATABASE_URL's server; the app's database
 *   migrated, and `temporal` / `temporal_visibility` set up with the Temporal SQL tool;
 * - the Temporal server built from source (src/dev/cluster/build.ts), Postgres persistence and SQL
 *   visibility, the namespace with the app's search attributes, and the Temporal Web UI server;
 * - the Discord sandbox (in this process, as `npm start` runs it);
 * - `workers` worker processes and `apis` API processes, each started with the command of
 *   package.json's `start:worker` / `start:api`, on ports of their own;
 * - a round-robin reverse proxy in front of the APIs (src/dev/cluster/proxy.ts), whose URL is the
 *   app's PUBLIC_BASE_URL.
 *
 * Every port is on 127.0.0.1. `stopCluster` (the handle's `stop`) stops everything in reverse order.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Env } from '../../config.js';
import { ensureDatabase, startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../embedded-postgres.js';
import { migrate } from '../../db/migrate.js';
import { createPool } from '../../db/pool.js';
import { DEMO_ADMIN, forgetVanishedSandboxGuild, seedDemoOrganization } from '../demo-seed.js';
import { ensurePortFree, portProblem } from '../../ports.js';
import { startSandbox, type Sandbox } from '../sandbox/index.js';
import { StartError } from '../../start-error.js';
import { buildWorkflowBundleIfChanged } from '../workflow-bundle-cache.js';
import { buildWebIfStale } from '../web-build.js';
import { ensureTemporalServer, ensureUiServer, type TemporalServerBuild } from './build.js';
import { startProcess, type LineSink, type ManagedProcess } from './process.js';
import { startReverseProxy, type ReverseProxy } from './proxy.js';
import {
  ensureNamespace,
  setupTemporalDatabases,
  startTemporalServer,
  startUiServer,
  waitForHttp,
  writeServerConfig,
  type PostgresServer,
  type TemporalPorts,
  type TemporalServerProcess,
} from './temporal.js';

export { startReverseProxy } from './proxy.js';
export type { ManagedProcess } from './process.js';

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const APP_DATABASE = 'discord_role_grants';
const NAMESPACE = 'default';

export interface ClusterOptions {
  /** Where the cluster keeps its files: generated configs, and the embedded Postgres's data (`postgres/`). */
  dataDir: string;
  /** Keep the embedded Postgres's data across runs. (Default: true) */
  persistent?: boolean;
  /** A Postgres of your own (the app's database is its database); the embedded one when absent. */
  databaseUrl?: string;
  apis?: number;
  workers?: number;
  /** The proxy's port; 0 picks a free one. (Default: 0) */
  proxyPort?: number;
  /** The sandbox's port; 0 picks a free one. (Default: 0) */
  sandboxPort?: number;
  /** Seed the demo organization and admin (only ever with the embedded Postgres). (Default: false) */
  seedDemo?: boolean;
  /** LOG_LEVEL of the app's processes. (Default: info) */
  logLevel?: string;
  /** The Temporal server's log level. (Default: warn) */
  temporalLogLevel?: string;
  /**
   * Which proxy the APIs trust for X-Forwarded-For. `loopback` (default): TRUST_PROXY=loopback,
   * so anything on this machine that reaches an API directly may set X-Forwarded-For too.
   * `proxy-only`: the proxy connects from 127.0.0.2 and TRUST_PROXY names that address alone, so a
   * client calling an API directly (from 127.0.0.1) is its own address whatever it sends (needs a
   * system where all of 127.0.0.0/8 is the loopback, as Linux).
   */
  trust?: 'loopback' | 'proxy-only';
  /** Extra environment of the app's processes (DISCORD_MAX_REQUESTS_PER_SECOND, ...). */
  appEnv?: Env;
  /** Every line of every child process, with its name. */
  sink: LineSink;
  /** What a person should read while it starts. */
  say?: (line: string) => void;
}

export interface ClusterTimings {
  /** Seconds of the Go builds now (0: cached). */
  temporalBuildSeconds: number;
  uiBuildSeconds: number;
  /** From the call to startCluster until everything answered. */
  startSeconds: number;
}

export interface AppProcess {
  name: string;
  /** Its own URL (`http://127.0.0.1:port`), bypassing the proxy. */
  url: string;
  port: number;
  process: ManagedProcess;
}

export interface Cluster {
  /** The app's URL (the proxy): PUBLIC_BASE_URL of every process. */
  url: string;
  proxy: ReverseProxy;
  apis: AppProcess[];
  workers: ManagedProcess[];
  temporal: { address: string; uiUrl: string; namespace: string; process: ManagedProcess };
  postgres: {
    /** The app's database. */
    databaseUrl: string;
    server: PostgresServer;
    /** The embedded cluster's data folder; undefined for DATABASE_URL's server. */
    dataDir: string | undefined;
    embedded: boolean;
  };
  sandbox: Sandbox;
  /** The environment every app process got (secrets included). */
  appEnv: Env;
  /** The demo organization and admin, when seeded. */
  demo: { slug: string; email: string; password: string } | undefined;
  timings: ClusterTimings;
  /** Kills worker `index` (0-based) with `signal` (default SIGKILL), as a crash would. */
  killWorker(index: number, signal?: NodeJS.Signals): Promise<void>;
  /** Starts worker `index` again (after a kill) and waits until it polls. */
  restartWorker(index: number): Promise<void>;
  /** Stops the Temporal server (SIGTERM) and starts it again on the same Postgres and ports. */
  restartTemporal(): Promise<{ downSeconds: number }>;
  /** Called when a process ends without being asked to (the CLI stops everything). */
  onUnexpectedExit(listener: (name: string, description: string) => void): void;
  stop(): Promise<void>;
}

/**
 * `count` free ports of 127.0.0.1 from `from` up. Not the kernel's ephemeral ones: the Temporal
 * server's Postgres schema keeps a service's port in a smallint (at most 32767).
 */
async function freePorts(count: number, from = 17233): Promise<number[]> {
  const ports: number[] = [];
  for (let port = from; ports.length < count; port++) {
    if (port > 32767) throw new StartError('No free ports below 32768 for the Temporal server.', 'Free some ports.');
    if (!(await portProblem(port, '127.0.0.1'))) ports.push(port);
  }
  return ports;
}

/** The command of a package.json script, runnable without npm: `node` is this Node, others from node_modules/.bin. */
async function scriptCommand(script: string): Promise<{ command: string; args: string[] }> {
  const pkg = JSON.parse(await fs.readFile(path.join(projectRoot, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const line = pkg.scripts[script];
  if (!line) throw new Error(`package.json has no script ${script}`);
  const [command, ...args] = line.trim().split(/\s+/);
  return {
    command: command === 'node' ? process.execPath : path.join(projectRoot, 'node_modules', '.bin', command!),
    args,
  };
}

const PROXY_ONLY_ADDRESS = '127.0.0.2';

/** Whether a socket can be bound to `address` (127.0.0.2 is a loopback address on Linux, not on macOS). */
export async function canBind(address: string): Promise<boolean> {
  return await new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(0, address, () => server.close(() => resolve(true)));
  });
}

function serverOf(url: string): PostgresServer {
  const parsed = new URL(url);
  return {
    host: parsed.hostname || '127.0.0.1',
    port: Number(parsed.port || 5432),
    user: decodeURIComponent(parsed.username || 'postgres'),
    password: decodeURIComponent(parsed.password),
  };
}

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const started = Date.now();
  const say = options.say ?? (() => undefined);
  const buildLog = (line: string) => {
    // `go: downloading` lines are hundreds on a cold cache.
    if (!line.trimStart().startsWith('go: downloading') && !line.trimStart().startsWith('go: added')) {
      say(`[build] ${line}`);
    }
  };
  const apiCount = options.apis ?? 2;
  const workerCount = options.workers ?? 2;
  const cleanups: Array<() => Promise<unknown>> = [];
  const exitListeners: Array<(name: string, description: string) => void> = [];
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  };
  const watch = (child: ManagedProcess) =>
    child.onUnexpectedExit((description) => {
      if (!stopping) for (const listener of exitListeners) listener(child.name, description);
    });

  try {
    if (options.proxyPort) {
      await ensurePortFree(options.proxyPort, {
        host: '127.0.0.1',
        service: 'the cluster proxy',
        fix: 'Stop whatever listens there, or pick another port (npm run cluster -- --port <port>).',
      });
    }
    if (options.sandboxPort) {
      await ensurePortFree(options.sandboxPort, {
        host: '127.0.0.1',
        service: 'the Discord sandbox',
        fix: 'Stop whatever listens there (an `npm start` still running?), or set SANDBOX_PORT to a free port.',
      });
    }
    await fs.mkdir(options.dataDir, { recursive: true });
    // The builds first: minutes on a fresh machine, before anything runs that would need stopping.
    const temporalBuild: TemporalServerBuild = await ensureTemporalServer({ log: buildLog });
    const uiBuild = await ensureUiServer({ log: buildLog });
    await buildWebIfStale({ log: say });
    const bundlePath = await buildWorkflowBundleIfChanged(
      path.join(projectRoot, '.cache', 'cluster-workflow-bundle.js'),
      {
        onBuild: () => say('Bundling the workflows...'),
      },
    );

    // Postgres.
    let postgresHandle: EmbeddedPostgresHandle | undefined;
    let appDatabaseUrl = options.databaseUrl;
    if (!appDatabaseUrl) {
      say('Starting the embedded Postgres...');
      postgresHandle = await startEmbeddedPostgres({
        dataDir: path.join(options.dataDir, 'postgres'),
        persistent: options.persistent ?? true,
        onLog: (line) => options.sink('postgres', line),
        say,
      });
      cleanups.push(() => postgresHandle!.stop());
      await ensureDatabase(postgresHandle, APP_DATABASE);
      appDatabaseUrl = postgresHandle.url(APP_DATABASE);
    }
    const pgServer = serverOf(appDatabaseUrl);
    say('Setting up the Temporal databases (temporal, temporal_visibility)...');
    await setupTemporalDatabases({ build: temporalBuild, server: pgServer, log: (l) => options.sink('sql-tool', l) });
    const applied = await migrate(appDatabaseUrl);
    if (applied.length) say(`Applied migrations: ${applied.join(', ')}`);

    // The Temporal server and its Web UI.
    const [frontend, frontendMembership, history, historyMembership, matching, matchingMembership, ...rest] =
      await freePorts(9 + apiCount + workerCount);
    const [worker, workerMembership, uiPort, ...appPorts] = rest as [number, number, number, ...number[]];
    const apiPorts = appPorts.slice(0, apiCount);
    // Each worker's Prometheus endpoint (WORKER_METRICS_PORT) on a port of its own.
    const workerMetricsPorts = appPorts.slice(apiCount);
    const ports: TemporalPorts = {
      frontend: frontend!,
      frontendMembership: frontendMembership!,
      history: history!,
      historyMembership: historyMembership!,
      matching: matching!,
      matchingMembership: matchingMembership!,
      worker,
      workerMembership,
    };
    const configFile = await writeServerConfig({
      dir: options.dataDir,
      server: pgServer,
      ports,
      logLevel: options.temporalLogLevel ?? 'warn',
    });
    const address = `127.0.0.1:${ports.frontend}`;
    say(`Starting the Temporal server (gRPC ${address})...`);
    const temporal: TemporalServerProcess = await startTemporalServer({
      build: temporalBuild,
      configFile,
      address,
      sink: options.sink,
    });
    cleanups.push(() => temporal.process.stop());
    watch(temporal.process);
    await ensureNamespace(address, NAMESPACE, say);
    const ui = await startUiServer({
      binary: uiBuild.binary,
      dir: options.dataDir,
      port: uiPort,
      temporalAddress: address,
      namespace: NAMESPACE,
      sink: options.sink,
    });
    cleanups.push(() => ui.process.stop());

    // The Discord sandbox, in this process.
    const sandbox = await startSandbox({ host: '127.0.0.1', port: options.sandboxPort ?? 0, seedDemoGuild: true });
    cleanups.push(() => sandbox.close());

    // The proxy listens before the APIs start: its URL is their PUBLIC_BASE_URL.
    const apiUrls = apiPorts.map((port) => `http://127.0.0.1:${port}`);
    const proxySource = options.trust === 'proxy-only' ? PROXY_ONLY_ADDRESS : undefined;
    if (proxySource && !(await canBind(proxySource))) {
      throw new StartError(
        `The proxy cannot connect from ${proxySource} on this system.`,
        'Use the default trust (loopback) instead of proxy-only.',
      );
    }
    const proxy = await startReverseProxy({
      upstreams: apiUrls,
      port: options.proxyPort ?? 0,
      localAddress: proxySource,
      onError: (message) => options.sink('proxy', message),
    });
    cleanups.push(() => proxy.close());

    const appEnv: Env = {
      LOG_LEVEL: options.logLevel ?? 'info',
      DATABASE_URL: appDatabaseUrl,
      TEMPORAL_ADDRESS: address,
      TEMPORAL_NAMESPACE: NAMESPACE,
      TEMPORAL_UI_URL: ui.url,
      // One secret and one key for every process: the API encrypts what the worker decrypts, and
      // an OAuth state signed by one API replica is checked by another.
      TOKEN_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      STATE_SIGNING_SECRET: randomBytes(32).toString('base64url'),
      DISCORD_CLIENT_ID: sandbox.clientId,
      DISCORD_CLIENT_SECRET: sandbox.clientSecret,
      DISCORD_BOT_TOKEN: sandbox.botToken,
      DISCORD_API_BASE_URL: sandbox.apiBaseUrl,
      DISCORD_AUTHORIZE_URL: sandbox.authorizeUrl,
      PUBLIC_BASE_URL: proxy.url,
      // The APIs (and the workers' metrics) listen on the loopback only, behind the proxy.
      HOST: '127.0.0.1',
      TRUST_PROXY: proxySource ?? 'loopback',
      WORKFLOW_BUNDLE_PATH: bundlePath,
      ...options.appEnv,
    };

    // Seeding only on the embedded Postgres: a Postgres of your own gets no demo accounts.
    let demo: Cluster['demo'];
    const pool = createPool(appDatabaseUrl, { max: 2, applicationName: 'cluster' });
    try {
      if (postgresHandle && options.seedDemo) {
        const seeded = await seedDemoOrganization(pool);
        demo = { slug: seeded.slug, email: DEMO_ADMIN.email, password: DEMO_ADMIN.password };
        if (await forgetVanishedSandboxGuild(pool, sandbox, seeded.organizationId)) {
          say('The Discord sandbox restarted, so the demo organization must connect Discord again.');
        }
      }
    } finally {
      await pool.end();
    }

    const workerCommand = await scriptCommand('start:worker');
    const apiCommand = await scriptCommand('start:api');
    say(`Starting ${workerCount} workers and ${apiCount} APIs...`);
    /** Starts them together; those that started are stopped with the cluster even when another failed. */
    const startAll = async <T>(starts: Array<Promise<T>>, stopOne: (started: T) => Promise<void>): Promise<T[]> => {
      const settled = await Promise.allSettled(starts);
      const started = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      cleanups.push(() => Promise.all(started.map(stopOne)));
      const failed = settled.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
      return started;
    };
    const workers = await startAll(
      Array.from({ length: workerCount }, (_, i) =>
        startProcess(
          {
            name: `worker-${i + 1}`,
            ...workerCommand,
            cwd: projectRoot,
            env: { ...appEnv, WORKER_METRICS_PORT: String(workerMetricsPorts[i]) },
            ready: (child) => child.waitForLine(/worker running/, 120_000).then(() => undefined),
          },
          options.sink,
        ),
      ),
      (w) => w.stop(),
    );
    workers.forEach(watch);
    const apis: AppProcess[] = await startAll(
      apiPorts.map(async (port, i) => {
        const url = apiUrls[i]!;
        const child = await startProcess(
          {
            name: `api-${i + 1}`,
            ...apiCommand,
            cwd: projectRoot,
            env: { ...appEnv, PORT: String(port) },
            ready: () => waitForHttp(`${url}/healthz`, 120_000),
          },
          options.sink,
        );
        return { name: `api-${i + 1}`, url, port, process: child };
      }),
      (api) => api.process.stop(),
    );
    for (const api of apis) watch(api.process);

    return {
      url: proxy.url,
      proxy,
      apis,
      workers,
      temporal: { address, uiUrl: ui.url, namespace: NAMESPACE, process: temporal.process },
      postgres: {
        databaseUrl: appDatabaseUrl,
        server: pgServer,
        dataDir: postgresHandle?.dataDir,
        embedded: postgresHandle !== undefined,
      },
      sandbox,
      appEnv,
      demo,
      timings: {
        temporalBuildSeconds: temporalBuild.buildSeconds,
        uiBuildSeconds: uiBuild.buildSeconds,
        startSeconds: (Date.now() - started) / 1000,
      },
      killWorker: async (index, signal = 'SIGKILL') => {
        const w = workers[index];
        if (!w) throw new Error(`no worker ${index}`);
        await w.kill(signal);
      },
      restartWorker: async (index) => {
        const w = workers[index];
        if (!w) throw new Error(`no worker ${index}`);
        await w.restart();
      },
      restartTemporal: async () => {
        const down = Date.now();
        await temporal.process.restart();
        return { downSeconds: (Date.now() - down) / 1000 };
      },
      onUnexpectedExit: (listener) => {
        exitListeners.push(listener);
      },
      stop,
    };
  } catch (err) {
    await stop();
    if (err instanceof StartError) throw err;
    throw new StartError(
      `npm run cluster could not start: ${(err as Error).message}`,
      'The lines above show the output of the process that failed; LOG_LEVEL=debug shows more.',
      { cause: err },
    );
  }
}
