// Names shared by the API (client side) and the workflows: IDs, signals, queries, updates.
// Pure code only: the workflow bundle imports this file.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Application, ReviewDecision } from '../domain/application';

/** One business key, one workflow ID: the concurrency design of DESIGN.md. */
export const connectionWorkflowId = (organizationId: string) => `discord-connection:${organizationId}`;
export const roleWorkflowId = (applicationId: string) => `application-role:${applicationId}`;

// --- Discord connection -------------------------------------------------------------------------

export type ConnectionState = 'disconnected' | 'connecting' | 'connected' | 'error';

export type ConnectionErrorCode =
  'token_exchange_failed' | 'missing_permissions' | 'role_creation_failed' | 'save_config_failed' | 'unexpected_error';

export interface ConnectInput {
  organizationId: string;
  userId: string;
  code: string;
  redirectUri: string;
  /** The guild_id of the redirect: a hint only, the token answer's guild is authoritative. */
  guildIdHint?: string;
  approvedRoleName: string;
  /** Give up and report `error` after this long. (Default: 90 s) */
  attemptTimeoutMs?: number;
}

export type ConnectResult =
  | { outcome: 'connected'; guild: { id: string; name: string }; role: { id: string; name: string; created: boolean } }
  | { outcome: 'already_connected' }
  | { outcome: 'failed'; errorCode: ConnectionErrorCode; message: string };

export interface DisconnectInput {
  organizationId: string;
  userId: string;
}

export interface ConnectionProgress {
  state: ConnectionState;
  step: 'starting' | 'exchanging_code' | 'checking_permissions' | 'ensuring_role' | 'saving' | 'leaving_guild' | 'done';
  error: string | null;
}

export const connectionProgressQuery = defineQuery<ConnectionProgress>('connectionProgress');

// --- Role assignment ----------------------------------------------------------------------------

export interface RoleWorkflowInput {
  applicationId: string;
  organizationId: string;
  /** Delays between automatic re-checks of an applicant who has not joined the server yet. */
  memberRecheckDelaysMs?: number[];
}

export interface ReviewRequest {
  decision: ReviewDecision;
  reviewerId: string;
  note?: string | null;
}

export interface RoleAssignmentProgress {
  applicationId: string;
  status: Application['status'] | null;
  roleStatus: Application['roleAssignment']['status'] | null;
  step: 'idle' | 'granting' | 'revoking' | 'waiting_for_retry' | 'waiting_for_member' | 'done';
  error: string | null;
  errorType: string | null;
  manualRetries: number;
  automaticRechecks: number;
}

export const reviewUpdate = defineUpdate<Application, [ReviewRequest]>('review');
export const retrySignal = defineSignal<[{ requestedBy: string }]>('retry');
export const roleAssignmentQuery = defineQuery<RoleAssignmentProgress>('roleAssignment');
