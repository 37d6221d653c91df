import fs from 'node:fs/promises';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { loadConfigOrExit } from '../config.js';
import { createPool } from '../db/pool.js';
import { createLogger } from '../logger.js';
import { ensureSearchAttributes } from '../temporal/search-attributes-admin.js';
import { ensureHousekeepingSchedule } from '../temporal/schedules.js';
import { buildWorkflowBundle, defaultBundlePath } from '../temporal/workflow-bundle.js';
import { createWorkers } from '../worker.js';

/** The worker process alone (production): `npm run start:worker`. */
// The API encrypts applicants' tokens and the worker decrypts them: two processes need one key,
// so neither may make up its own.
const config = loadConfigOrExit({ require: ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'TOKEN_ENCRYPTION_KEY'] });
const logger = createLogger({ level: config.logLevel, name: 'worker' });
Runtime.install({ logger: new DefaultLogger('WARN') });

const wantedBundle = config.workflowBundlePath ?? defaultBundlePath;
const bundlePath = await fs
  .access(wantedBundle)
  .then(() => wantedBundle)
  .catch(async () => {
    logger.info('no prebuilt workflow bundle (npm run build:workflows); bundling workflows/ now');
    return await buildWorkflowBundle();
  });

const admin = await Connection.connect({ address: config.temporal.address! });
await ensureSearchAttributes(admin, config.temporal.namespace, logger);
await ensureHousekeepingSchedule(new Client({ connection: admin, namespace: config.temporal.namespace }), config);
await admin.close();

const pool = createPool(config.databaseUrl!);
const connection = await NativeConnection.connect({ address: config.temporal.address! });
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
await Promise.allSettled([pool.end(), connection.close()]);
logger.info('worker stopped');
