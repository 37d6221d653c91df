import { createDatabaseActivities, type DatabaseActivityDeps } from './database';
import { createDiscordActivities, type DiscordActivityDeps } from './discord';

export type { DatabaseActivities, RoleAction } from './database';
export type { DiscordActivities } from './discord';
export { createDatabaseActivities, createDiscordActivities };

/** All activities, closing over their dependencies (the activities-dependency-injection pattern). */
export function createActivities(deps: DatabaseActivityDeps & DiscordActivityDeps) {
  return { database: createDatabaseActivities(deps), discord: createDiscordActivities(deps) };
}
