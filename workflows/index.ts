export { connectDiscordWorkflow, disconnectDiscordWorkflow } from './connection';
export { applicationRoleWorkflow } from './role-assignment';
export { benchNoopWorkflow } from './bench';
export { housekeepingWorkflow } from './housekeeping';
