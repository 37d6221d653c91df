import { createDatabaseActivities, type DatabaseActivityDeps } from './database';
import { createDiscordActivities, type DiscordActivityDeps } from './discord';

export type { DatabaseActivities, RoleAction } from './database';
export type { DiscordActivities } from './discord';

/**
 * All activities, closing over their dependencies (the activities-dependency-injection pattern):
 * `database` for the workflows' task queue, `discord` for the rate-limited Discord queue.
 */
export function createActivities(deps: DatabaseActivityDeps & DiscordActivityDeps) {
  return { database: createDatabaseActivities(deps), discord: createDiscordActivities(deps) };
}
