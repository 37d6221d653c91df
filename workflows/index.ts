export { checkDiscordConnectionWorkflow, connectDiscordWorkflow, disconnectDiscordWorkflow } from './connection';
export { applicationRoleWorkflow } from './role-assignment';
export { redriveAssignmentsWorkflow } from './redrive';
export { benchNoopWorkflow } from './bench';
export { housekeepingWorkflow } from './housekeeping';
export { bulkReviewWorkflow } from './bulk-review';
