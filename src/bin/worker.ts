import fs from 'node:fs/promises';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { loadConfigOrExit } from '../config.js';
import { createPool } from '../db/pool.js';
import { createLogger } from '../logger.js';
import { startWorkerMetricsServer } from '../metrics-server.js';
import { StartError, startFailureLines } from '../start-error.js';
import { temporalConnectionOptions, temporalSettingsOf } from '../temporal/client.js';
import { ensureSearchAttributes } from '../temporal/search-attributes-admin.js';
import { ensureHousekeepingSchedule } from '../temporal/schedules.js';
import { installTemporalRuntime } from '../temporal/telemetry.js';
import { buildWorkflowBundle, defaultBundlePath } from '../temporal/workflow-bundle.js';
import { createWorkers } from '../worker.js';

/** The worker process alone (production): `npm run start:worker`. */
// The API encrypts applicants' tokens and the worker decrypts them: two processes need one key,
// so neither may make up its own.
const config = loadConfigOrExit({ require: ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'TOKEN_ENCRYPTION_KEY'] });
const logger = createLogger({ level: config.logLevel, name: 'worker' });

/**
 * The prebuilt bundle, which is the workflow code that was tested and replayed. Outside production
 * a missing one is built here (5 s of CPU); in production the worker refuses to start without it,
 * rather than run workflow code that nobody built on purpose.
 */
async function workflowBundle(): Promise<string> {
  const wanted = config.workflowBundlePath ?? defaultBundlePath;
  const exists = await fs.access(wanted).then(
    () => true,
    () => false,
  );
  if (exists) return wanted;
  if (config.isProduction) {
    throw new StartError(
      `there is no prebuilt workflow bundle at ${wanted}`,
      'Build it with `npm run build:workflows` (the image does) and point WORKFLOW_BUNDLE_PATH at it.',
    );
  }
  logger.info('no prebuilt workflow bundle (npm run build:workflows); bundling workflows/ now');
  return await buildWorkflowBundle();
}

try {
  // TEMPORAL_METRICS_ADDRESS: the SDK's own metrics (src/temporal/telemetry.ts).
  installTemporalRuntime(config);
  // Before the slow steps: a port in use stops the start at once, with the fix.
  const metricsServer = await startWorkerMetricsServer(config);
  if (metricsServer) logger.info({ port: metricsServer.port }, 'worker metrics served at /metrics');
  else logger.info('worker metrics not served (WORKER_METRICS_PORT=off, or production without METRICS_TOKEN)');
  const bundlePath = await workflowBundle();
  const connectionOptions = temporalConnectionOptions(temporalSettingsOf(config));
  const admin = await Connection.connect(connectionOptions);
  try {
    await ensureSearchAttributes(admin, config.temporal.namespace, logger);
    await ensureHousekeepingSchedule(new Client({ connection: admin, namespace: config.temporal.namespace }), config);
  } finally {
    await admin.close();
  }

  const pool = createPool(config.databaseUrl!);
  const connection = await NativeConnection.connect(connectionOptions);
  const workers = await createWorkers({ config, pool, logger, connection, workflowBundlePath: bundlePath });

  const stop = (signal: string) => {
    logger.info({ signal }, 'stopping the worker: running activities may finish');
    workers.shutdown();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  logger.info(
    { taskQueue: config.temporal.taskQueue, discordTaskQueue: config.temporal.discordTaskQueue },
    'worker running',
  );
  await workers.run();
  await Promise.allSettled([pool.end(), connection.close(), metricsServer?.close()]);
  logger.info('worker stopped');
} catch (err) {
  for (const line of startFailureLines(err, { what: 'The worker', debug: config.logLevel === 'debug' })) {
    process.stderr.write(`${line}\n`);
  }
  process.exit(1);
}
