export { connectDiscordWorkflow, disconnectDiscordWorkflow } from './connection';
export { applicationRoleWorkflow } from './role-assignment';
