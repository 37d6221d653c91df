import { createBulkReviewActivities, type BulkReviewActivityDeps } from './bulk-reviews.js';
import { createDatabaseActivities, type DatabaseActivityDeps } from './database.js';
import { createDiscordActivities, type DiscordActivityDeps } from './discord.js';
import { createEmailActivities, type EmailActivityDeps } from './email.js';
import { createReconciliationActivities, type ReconciliationActivityDeps } from './reconciliation.js';
import { createRoleWorkflowActivities, type RoleWorkflowActivityDeps } from './role-workflows.js';

export type { BulkReviewActivities } from './bulk-reviews.js';
export type {
  DatabaseActivities,
  HousekeepingResult,
  ReconciliationSummary,
  RoleAction,
  StepResult,
} from './database.js';
export type { BatchResult, ReconciliationActivities } from './reconciliation.js';
export type { DiscordActivities, RoleChange } from './discord.js';
export type { EmailActivities } from './email.js';
export type { RoleWorkflowActivities } from './role-workflows.js';

/**
 * All activities, closing over their dependencies (the activities-dependency-injection pattern):
 * `database`, `roleWorkflows` and `bulkReviews` for the workflows' task queue, `discord` for the rate-limited
 * Discord queues, `reconciliation` for the background Discord queue (and the connection queue's checks),
 * `email` (decision emails) for the workflows' task queue too: it never calls Discord.
 */
export function createActivities(
  deps: DatabaseActivityDeps &
    DiscordActivityDeps &
    RoleWorkflowActivityDeps &
    BulkReviewActivityDeps &
    ReconciliationActivityDeps &
    Partial<EmailActivityDeps>,
) {
  return {
    bulkReviews: createBulkReviewActivities(deps),
    database: createDatabaseActivities(deps),
    discord: createDiscordActivities(deps),
    email: deps.config ? createEmailActivities({ ...deps, config: deps.config }) : {},
    reconciliation: createReconciliationActivities(deps),
    roleWorkflows: createRoleWorkflowActivities(deps),
  };
}
