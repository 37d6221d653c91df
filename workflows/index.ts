export { checkDiscordConnectionWorkflow, connectDiscordWorkflow, disconnectDiscordWorkflow } from './connection.js';
export { applicationRoleWorkflow } from './role-assignment.js';
export { redriveAssignmentsWorkflow } from './redrive.js';
export { housekeepingWorkflow } from './housekeeping.js';
export { bulkReviewWorkflow } from './bulk-review.js';
export { guildRolesWorkflow, reconcileOrganizationWorkflow } from './reconciliation.js';
