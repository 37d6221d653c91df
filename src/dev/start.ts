import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Server } from 'node:http';
import { NativeConnection } from '@temporalio/worker';
import { loadConfigOrExit, type Config } from '../config.js';
import { ensureDatabase, startEmbeddedPostgres, type EmbeddedPostgresHandle } from './embedded-postgres.js';
import { migrate } from '../db/migrate.js';
import { createPool } from '../db/pool.js';
import { forgetVanishedSandboxGuild, seedDemoOrganization, DEMO_ADMIN } from './demo-seed.js';
import { createApp } from '../http/app.js';
import { createLogger } from '../logger.js';
import { describePortProblem, ensurePortFree } from '../ports.js';
import { startSandbox, type Sandbox } from './sandbox/index.js';
import { startSmtpSink, type SmtpSink } from './smtp-sink.js';
import { resolveTemporalCli } from './temporal/cli.js';
import { connectTemporal, temporalConnectionOptions, temporalSettingsOf } from '../temporal/client.js';
import { startTemporalDevServer, type TemporalDevServer } from './temporal/dev-server.js';
import { installTemporalRuntime } from '../temporal/telemetry.js';
import { ensureHousekeepingSchedule } from '../temporal/schedules.js';
import { buildWorkflowBundleIfChanged } from './workflow-bundle-cache.js';
import { StartError, startFailureLines } from '../start-error.js';
import { buildWebIfStale } from './web-build.js';
import { createWorkers } from '../worker.js';

/**
 * `npm start`: the whole system on one machine. Whatever is not configured runs embedded: Postgres
 * (data in .data/postgres, or as root outside the clone: see src/dev/embedded-postgres.ts), a Temporal dev
 * server (SQLite in .data/temporal.sqlite, Web UI on 8233), and a Discord-compatible sandbox.
 * Ctrl-C stops everything it started. A failed start stops what it had started and ends with two
 * lines: what went wrong and what to do (the stack trace too with LOG_LEVEL=debug).
 */
/**
 * A random 32-byte key kept in `file` (mode 0600), created on first use. A file that holds no such
 * key is never overwritten (the tokens stored under it would become unreadable): the start stops.
 */
async function persistentKey(file: string): Promise<Buffer> {
  const existing = await fs.readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  if (existing === null) {
    const fresh = randomBytes(32);
    await fs.writeFile(file, `${fresh.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    return fresh;
  }
  await fs.chmod(file, 0o600);
  const key = Buffer.from(existing.trim(), 'base64');
  if (key.length !== 32 || !/^[A-Za-z0-9+/]+={0,2}$/.test(existing.trim())) {
    throw new StartError(
      `${file} does not hold a key of 32 bytes in base64.`,
      'Restore it, or delete it (applicants signed in before then sign in again), or set TOKEN_ENCRYPTION_KEY.',
    );
  }
  return key;
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dataDir = path.join(root, '.data');
const say = (line: string) => process.stdout.write(`${line}\n`);
const EMBEDDED_POSTGRES_PORT = 54329;
const EMBEDDED_TEMPORAL_PORT = 7233;
const EMBEDDED_TEMPORAL_UI_PORT = 8233;

const base = loadConfigOrExit();
const debug = base.logLevel === 'debug' || base.logLevel === 'trace';
const debugLog = (prefix: string) => (debug ? (line: string) => say(`[${prefix}] ${line}`) : undefined);

const cleanups: Array<() => Promise<unknown>> = [];
let stopping = false;
async function stopEverything(): Promise<void> {
  if (stopping) return;
  stopping = true;
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
}
async function stopAll(code: number): Promise<never> {
  if (!stopping) {
    say('\nStopping...');
    await stopEverything();
    say('Stopped.');
  }
  process.exit(code);
}
/** Stops what was started, then ends with the cause and the fix. */
async function fail(err: unknown): Promise<void> {
  // While Ctrl-C stops everything, what fails on the way (a worker's last poll) is no news.
  if (stopping) return;
  await stopEverything();
  for (const line of startFailureLines(err, { what: 'npm start', debug })) process.stderr.write(`${line}\n`);
  process.exit(1);
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));
// An error event nobody listens to (a child process, a socket) ends the same way, not with a trace.
process.on('uncaughtException', (err) => void fail(err));
process.on('unhandledRejection', (err) => void fail(err));

const portFix = (variable: string) =>
  `Stop whatever listens there (an \`npm start\` still running?), or set ${variable} to a free port.`;

/** What an unreachable DATABASE_URL or TEMPORAL_ADDRESS of the person's own says. */
async function reachable<T>(what: string, variable: string, attempt: () => Promise<T>): Promise<T> {
  const configured = variable === 'DATABASE_URL' ? base.databaseUrl : base.temporal.address;
  if (!configured) return await attempt();
  try {
    return await attempt();
  } catch (err) {
    if (err instanceof StartError) throw err;
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message.split('\n')[0];
    throw new StartError(
      `${what} (${variable}) cannot be reached: ${reason}.`,
      `Start it or correct ${variable}; unset ${variable} to have npm start run an embedded one.`,
      { cause: err },
    );
  }
}

try {
  const logger = createLogger({ level: base.logLevel, name: 'dev' });
  // The workers run in this process: the app's /metrics shows theirs; TEMPORAL_METRICS_ADDRESS the SDK's own.
  installTemporalRuntime(base);
  // The ports of this process, checked before the slow steps (the ones of Postgres and Temporal
  // are checked by the code that starts them).
  await ensurePortFree(base.port, { service: 'the app', fix: portFix('PORT') });
  if (!base.discord.clientId) {
    await ensurePortFree(base.sandbox.port, {
      host: base.sandbox.host,
      service: 'the Discord sandbox',
      fix: portFix('SANDBOX_PORT'),
    });
  }

  // The first start installs the Temporal CLI: before anything runs that would need stopping.
  const cliPath = base.temporal.address
    ? undefined
    : await resolveTemporalCli({ cliPath: base.temporalCliPath, log: (l) => say(`[temporal-cli] ${l}`) });

  await fs.mkdir(dataDir, { recursive: true });
  // The admin web UI (dist/web), built when missing or older than src/web.
  await buildWebIfStale({ log: say });

  let databaseUrl = base.databaseUrl;
  let postgres: EmbeddedPostgresHandle | undefined;
  if (!databaseUrl) {
    say('Starting the embedded Postgres...');
    postgres = await startEmbeddedPostgres({
      dataDir: path.join(dataDir, 'postgres'),
      port: EMBEDDED_POSTGRES_PORT,
      onLog: debugLog('postgres'),
      say,
    });
    cleanups.push(() => postgres!.stop());
    await ensureDatabase(postgres, 'discord_role_grants');
    databaseUrl = postgres.url('discord_role_grants');
  }

  const temporalConfig = { ...base.temporal };
  if (cliPath) {
    say('Starting the Temporal dev server (data in .data/temporal.sqlite)...');
    const temporalServer: TemporalDevServer = await startTemporalDevServer({
      cliPath,
      dbFile: path.join(dataDir, 'temporal.sqlite'),
      port: EMBEDDED_TEMPORAL_PORT,
      uiPort: EMBEDDED_TEMPORAL_UI_PORT,
      onLog: debugLog('temporal'),
    });
    cleanups.push(() => temporalServer.stop());
    temporalConfig.address = temporalServer.address;
    temporalConfig.uiUrl ??= temporalServer.uiUrl;
  }

  let discordConfig = base.discord;
  let sandbox: Sandbox | undefined;
  if (!discordConfig.clientId) {
    sandbox = await startSandbox({ host: base.sandbox.host, port: base.sandbox.port, seedDemoGuild: true }).catch(
      (err: NodeJS.ErrnoException) => {
        if (!err.code) throw err;
        throw new StartError(
          describePortProblem(base.sandbox.port, 'the Discord sandbox', err.code),
          portFix('SANDBOX_PORT'),
        );
      },
    );
    cleanups.push(() => sandbox!.close());
    discordConfig = {
      ...discordConfig,
      clientId: sandbox.clientId,
      clientSecret: sandbox.clientSecret,
      botToken: sandbox.botToken,
      apiBaseUrl: sandbox.apiBaseUrl,
      authorizeUrl: sandbox.authorizeUrl,
    };
  }

  // Decision emails go to a local SMTP sink (on a free port of 127.0.0.1) unless SMTP_URL names a
  // server: the sandbox's page shows what it received.
  let smtpSink: SmtpSink | undefined;
  let mail = base.mail;
  if (!mail.smtpUrl) {
    smtpSink = await startSmtpSink();
    cleanups.push(() => smtpSink!.close());
    sandbox?.attachMailbox(smtpSink);
    mail = { ...mail, smtpUrl: smtpSink.url };
  }

  // Applicants' tokens stored by an earlier run stay readable: the generated key is kept with the data.
  const tokenEncryptionKey = base.tokenEncryptionKeyGenerated
    ? await persistentKey(path.join(dataDir, 'token-encryption.key'))
    : base.tokenEncryptionKey;
  const config: Config = {
    ...base,
    databaseUrl,
    temporal: temporalConfig,
    discord: discordConfig,
    tokenEncryptionKey,
    mail,
  };
  if (config.stateSigningSecretGenerated) say('STATE_SIGNING_SECRET is not set: generated one for this run.');
  if (base.tokenEncryptionKeyGenerated)
    say('TOKEN_ENCRYPTION_KEY is not set: using the one kept in .data/token-encryption.key.');

  const pool = createPool(config.databaseUrl!);
  cleanups.push(() => pool.end());
  const applied = await reachable('The Postgres', 'DATABASE_URL', () => migrate(config.databaseUrl!));
  if (applied.length) say(`Applied migrations: ${applied.join(', ')}`);
  // The demo admin's password is public (printed below): it only goes into the embedded database,
  // never into one that DATABASE_URL names, which may well be a real one.
  const demo = postgres ? await seedDemoOrganization(pool) : undefined;

  if (sandbox && demo && (await forgetVanishedSandboxGuild(pool, sandbox, demo.organizationId))) {
    say('The Discord sandbox restarted, so the demo organization must connect Discord again.');
  }

  const bundlePath = await buildWorkflowBundleIfChanged(path.join(root, '.cache', 'dev-workflow-bundle.js'), {
    onBuild: () => say('Bundling the workflows...'),
  });
  const connection = await reachable('The Temporal server', 'TEMPORAL_ADDRESS', () =>
    NativeConnection.connect(temporalConnectionOptions(temporalSettingsOf(config))),
  );
  cleanups.push(() => connection.close());
  const workers = await createWorkers({ config, pool, logger, connection, workflowBundlePath: bundlePath });
  const running = workers.run();
  cleanups.push(async () => {
    workers.shutdown();
    await running;
  });

  const temporal = await connectTemporal({ ...temporalSettingsOf(config), namespace: config.temporal.namespace });
  cleanups.push(() => temporal.connection.close());
  await ensureHousekeepingSchedule(temporal, config);
  const server: Server = await new Promise((resolve, reject) => {
    const s = createApp({ config, pool, temporal, logger }).listen(config.port);
    s.once('listening', () => resolve(s));
    s.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code ? new StartError(describePortProblem(config.port, 'the app', err.code), portFix('PORT')) : err),
    );
  });
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );

  say('');
  // Since this process started, module loading included.
  say(`Ready in ${process.uptime().toFixed(1)} s.`);
  say(`  App and API:       ${config.publicBaseUrl}`);
  say(`  API reference:     ${config.publicBaseUrl}/api/docs  (OpenAPI: /api/openapi.json)`);
  say(`  Temporal Web UI:   ${config.temporal.uiUrl ?? '(not embedded: see TEMPORAL_UI_URL)'}`);
  if (sandbox) say(`  Discord sandbox:   ${sandbox.url}  (no Discord credentials set)`);
  if (smtpSink) {
    say(
      `  SMTP sink:         ${smtpSink.url}  (SMTP_URL not set: decision emails${sandbox ? ` shown at ${sandbox.url}` : ' kept in memory'})`,
    );
  }
  if (postgres) {
    say(`  Postgres:          ${config.databaseUrl}`);
    say(`  Postgres data:     ${postgres.dataDir}${postgres.runsAs ? `  (runs as user ${postgres.runsAs})` : ''}`);
  }
  if (demo) {
    say(`  Demo admin login:  ${DEMO_ADMIN.email} / ${DEMO_ADMIN.password}  (organization "${demo.slug}")`);
    say(`  Public form:       ${config.publicBaseUrl}/apply/${demo.slug}`);
  } else {
    say('  No demo organization: DATABASE_URL is your own database. Create one with');
    say('    npm run cli -- create-organization --name <name> --admin-email <email> --admin-password <password>');
  }
  say('Press Ctrl-C to stop everything.');
  await running;
} catch (err) {
  await fail(err);
}
