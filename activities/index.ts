import { createBulkReviewActivities, type BulkReviewActivityDeps } from './bulk-reviews';
import { createDatabaseActivities, type DatabaseActivityDeps } from './database';
import { createDiscordActivities, type DiscordActivityDeps } from './discord';
import { createRoleWorkflowActivities, type RoleWorkflowActivityDeps } from './role-workflows';

export type { BulkReviewActivities } from './bulk-reviews';
export type { DatabaseActivities, HousekeepingResult, RoleAction, StepResult } from './database';
export type { DiscordActivities, RoleChange } from './discord';
export type { RoleWorkflowActivities } from './role-workflows';

/**
 * All activities, closing over their dependencies (the activities-dependency-injection pattern):
 * `database`, `roleWorkflows` and `bulkReviews` for the workflows' task queue, `discord` for the rate-limited
 * Discord queue.
 */
export function createActivities(
  deps: DatabaseActivityDeps & DiscordActivityDeps & RoleWorkflowActivityDeps & BulkReviewActivityDeps,
) {
  return {
    bulkReviews: createBulkReviewActivities(deps),
    database: createDatabaseActivities(deps),
    discord: createDiscordActivities(deps),
    roleWorkflows: createRoleWorkflowActivities(deps),
  };
}
