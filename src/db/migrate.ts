import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';

export const migrationsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

export interface MigrateOptions {
  /** Apply only this many pending migrations. (Default: all) */
  count?: number;
  log?: (message: string) => void;
}

/** Applies the pending migrations of `migrations/` with node-pg-migrate; a no-op when none are pending. */
export async function migrate(databaseUrl: string, options: MigrateOptions = {}): Promise<string[]> {
  const log = options.log ?? (() => undefined);
  const applied = await runner({
    databaseUrl,
    dir: migrationsDir,
    migrationsTable: 'pgmigrations',
    direction: 'up',
    count: options.count ?? Infinity,
    checkOrder: true,
    // Several processes may start at once (API replicas, CLI calls): the later ones wait for the
    // first to finish, then find nothing left to apply.
    advisoryLockMode: 'wait',
    singleTransaction: true,
    log,
    logger: { debug: () => undefined, info: log, warn: log, error: log },
    verbose: false,
  });
  return applied.map((m) => m.name);
}
