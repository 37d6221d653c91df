import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Server } from 'node:http';
import pg from 'pg';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { loadConfigOrExit, type Config } from '../config';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../db/embedded';
import { migrate } from '../db/migrate';
import { createPool } from '../db/pool';
import { findDiscordConfig, setConnectionState } from '../db/discord-configs';
import { seedDemoOrganization, DEMO_ADMIN } from '../demo-seed';
import { createDiscordApi } from '../discord/api';
import { createDiscordRest } from '../discord/rest';
import { createApp } from '../http/app';
import { createLogger } from '../logger';
import { startSandbox, type Sandbox } from '../sandbox';
import { resolveTemporalCli } from '../temporal/cli';
import { connectTemporal } from '../temporal/client';
import { startTemporalDevServer, type TemporalDevServer } from '../temporal/dev-server';
import { ensureHousekeepingSchedule } from '../temporal/schedules';
import { buildWorkflowBundle } from '../temporal/workflow-bundle';
import { buildWebIfStale } from '../web-build';
import { createWorkers } from '../worker';

/**
 * `npm start`: the whole system on one machine. Whatever is not configured runs embedded: Postgres
 * (data in .data/postgres), a Temporal dev server (SQLite in .data/temporal.sqlite, Web UI on 8233),
 * and a Discord-compatible sandbox. Ctrl-C stops everything it started.
 */
function sandboxHasGuild(sandbox: Sandbox, guildId: string): boolean {
  try {
    sandbox.roles(guildId);
    return true;
  } catch {
    return false;
  }
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dataDir = path.join(root, '.data');
const say = (line: string) => process.stdout.write(`${line}\n`);
const started = Date.now();

const cleanups: Array<() => Promise<unknown>> = [];
let stopping = false;
async function stopAll(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    say('\nStopping...');
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    say('Stopped.');
  }
  process.exit(code);
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

try {
  const base = loadConfigOrExit();
  const logger = createLogger({ level: base.logLevel, name: 'dev' });
  Runtime.install({ logger: new DefaultLogger('WARN') });
  await fs.mkdir(dataDir, { recursive: true });
  // The admin web UI (dist/web), built when missing or older than src/web.
  await buildWebIfStale({ log: say });

  let databaseUrl = base.databaseUrl;
  let postgres: EmbeddedPostgresHandle | undefined;
  if (!databaseUrl) {
    say('Starting the embedded Postgres (data in .data/postgres)...');
    postgres = await startEmbeddedPostgres({ dataDir: path.join(dataDir, 'postgres'), port: 54329 });
    cleanups.push(() => postgres!.stop());
    const admin = new pg.Client({ connectionString: postgres.url() });
    await admin.connect();
    const exists = await admin.query(`SELECT 1 FROM pg_database WHERE datname = 'discord_role_grants'`);
    if (exists.rowCount === 0) await admin.query('CREATE DATABASE discord_role_grants');
    await admin.end();
    databaseUrl = postgres.url('discord_role_grants');
  }

  const temporalConfig = { ...base.temporal };
  if (!temporalConfig.address) {
    const cliPath = await resolveTemporalCli({ cliPath: base.temporalCliPath, log: (l) => say(`[temporal-cli] ${l}`) });
    say('Starting the Temporal dev server (data in .data/temporal.sqlite)...');
    const temporalServer: TemporalDevServer = await startTemporalDevServer({
      cliPath,
      dbFile: path.join(dataDir, 'temporal.sqlite'),
      port: 7233,
      uiPort: 8233,
    });
    cleanups.push(() => temporalServer.stop());
    temporalConfig.address = temporalServer.address;
    temporalConfig.uiUrl ??= temporalServer.uiUrl;
  }

  let discordConfig = base.discord;
  let sandbox: Sandbox | undefined;
  if (!discordConfig.clientId) {
    sandbox = await startSandbox({ host: base.sandbox.host, port: base.sandbox.port, seedDemoGuild: true });
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

  const config: Config = { ...base, databaseUrl, temporal: temporalConfig, discord: discordConfig };
  if (config.stateSigningSecretGenerated) say('STATE_SIGNING_SECRET is not set: generated one for this run.');

  const pool = createPool(config.databaseUrl!);
  cleanups.push(() => pool.end());
  const applied = await migrate(config.databaseUrl!);
  if (applied.length) say(`Applied migrations: ${applied.join(', ')}`);
  const demo = await seedDemoOrganization(pool);

  if (sandbox) {
    // The sandbox keeps its servers in memory: a connection to a server of an earlier run is gone.
    const current = await findDiscordConfig(pool, demo.organizationId);
    if (current?.connectionState === 'connected' && current.guildId && !sandboxHasGuild(sandbox, current.guildId)) {
      await setConnectionState(pool, {
        organizationId: demo.organizationId,
        state: 'disconnected',
        error: null,
      });
      say('The Discord sandbox restarted, so the demo organization must connect Discord again.');
    }
  }

  say('Bundling the workflows...');
  const bundlePath = await buildWorkflowBundle(path.join(root, '.cache', 'dev-workflow-bundle.js'));
  const connection = await NativeConnection.connect({ address: config.temporal.address! });
  cleanups.push(() => connection.close());
  const discord = createDiscordApi(
    createDiscordRest({ apiBaseUrl: config.discord.apiBaseUrl, botToken: config.discord.botToken ?? '' }),
  );
  const workers = await createWorkers({ config, pool, logger, discord, connection, workflowBundlePath: bundlePath });
  const running = workers.run();
  cleanups.push(async () => {
    workers.shutdown();
    await running;
  });

  const temporal = await connectTemporal({ address: config.temporal.address!, namespace: config.temporal.namespace });
  cleanups.push(() => temporal.connection.close());
  await ensureHousekeepingSchedule(temporal, config);
  const server: Server = await new Promise((resolve) => {
    const s = createApp({ config, pool, temporal, logger }).listen(config.port, () => resolve(s));
  });
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );

  say('');
  say(`Ready in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
  say(`  App and API:       ${config.publicBaseUrl}`);
  say(`  Temporal Web UI:   ${config.temporal.uiUrl ?? '(not embedded: see TEMPORAL_UI_URL)'}`);
  if (sandbox) say(`  Discord sandbox:   ${sandbox.url}  (no Discord credentials set)`);
  if (postgres) say(`  Postgres:          ${config.databaseUrl}`);
  say(`  Demo admin login:  ${DEMO_ADMIN.email} / ${DEMO_ADMIN.password}  (organization "${demo.slug}")`);
  say(`  Public form:       ${config.publicBaseUrl}/apply/${demo.slug}`);
  say('Press Ctrl-C to stop everything.');
  await running;
} catch (err) {
  process.stderr.write(`npm start failed: ${(err as Error).stack ?? String(err)}\n`);
  await stopAll(1);
}
