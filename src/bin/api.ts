import { loadConfigOrExit } from '../config.js';
import { createPool } from '../db/pool.js';
import { createApp } from '../http/app.js';
import { createLogger } from '../logger.js';
import { connectTemporal, temporalSettingsOf } from '../temporal/client.js';

/** The API process alone (production): `npm run start:api`. Migrations run before, with `npm run migrate`. */
// The API encrypts applicants' tokens and the worker decrypts them: two processes need one key,
// so neither may make up its own.
const config = loadConfigOrExit({ require: ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'TOKEN_ENCRYPTION_KEY'] });
const logger = createLogger({ level: config.logLevel, name: 'api' });
const pool = createPool(config.databaseUrl!);
const temporal = await connectTemporal({ ...temporalSettingsOf(config), namespace: config.temporal.namespace });
if (config.stateSigningSecretGenerated) {
  logger.warn('STATE_SIGNING_SECRET is not set: using a random one for this process (OAuth states die with it)');
}
const server = createApp({ config, pool, temporal, logger }).listen({ port: config.port, host: config.host }, () => {
  logger.info({ url: config.publicBaseUrl, host: config.host, port: config.port }, 'API listening');
});

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'stopping the API');
  server.close(async () => {
    await Promise.allSettled([pool.end(), temporal.connection.close()]);
    process.exit(0);
  });
  setTimeout(() => process.exit(1), 15_000).unref();
};
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
