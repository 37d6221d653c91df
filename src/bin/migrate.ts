import { loadConfigOrExit } from '../config.js';
import { migrate } from '../db/migrate.js';

/** `npm run migrate`: applies pending migrations to DATABASE_URL. */
const config = loadConfigOrExit({ require: ['DATABASE_URL'] });
const applied = await migrate(config.databaseUrl!);
process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'no pending migrations\n');
