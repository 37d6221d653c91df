// The API's shapes (the README describes them). Kept here so the browser bundle never imports server code.
export type { Application } from '../domain/application.js';
export type { ApplicationStatus } from '../domain/application-lifecycle.js';
export type { DiscordUser } from '../domain/discord-user.js';
export type { Readiness, ReadinessVerdict } from '../domain/readiness.js';
export type { HealthFinding } from '../domain/bot-health.js';
export type { DriftRepairMode } from '../domain/drift.js';
import type { Application } from '../domain/application.js';
import type { Readiness } from '../domain/readiness.js';
import type { HealthFinding } from '../domain/bot-health.js';
import type { DriftRepairMode } from '../domain/drift.js';

/** An application as the lists show it: a pending one says whether approving would give its roles now. */
export type ListedApplication = Application & { readiness?: Readiness | null };

export type Role = 'admin' | 'reviewer';

export interface SessionUser {
  id: string;
  email: string;
  role: Role;
}

export interface SessionOrganization {
  id: string;
  slug: string;
  name: string;
}

export interface Me {
  user: SessionUser;
  organization: SessionOrganization | null;
}

export interface RoleRef {
  id: string;
  /** As last seen in Discord; null when not known. */
  name: string | null;
}

/** The last finished health check of the bot's access. */
export interface BotHealth {
  checkedAt: string;
  /** Empty: no problem found. */
  findings: HealthFinding[];
  repaired: number;
  runId: string;
}

export interface DiscordConnection {
  state: 'disconnected' | 'connecting' | 'connected' | 'error';
  guild: { id: string; name: string | null } | null;
  role: { id: string; name: string | null } | null;
  /** The roles approval adds and removes (connected or paused). */
  addRoles?: RoleRef[];
  removeRoles?: RoleRef[];
  error: string | null;
  /** Paused by the circuit breaker: "Check now" can resume it. */
  canCheckAgain?: boolean;
  health?: BotHealth | null;
  updatedAt: string | null;
}

/** `POST /api/discord/connection/check`. */
export interface ConnectionCheck {
  state: DiscordConnection['state'];
  error: string | null;
  outcome: 'connected' | 'already_connected' | 'failed' | 'in_progress' | 'still_running';
  message: string | null;
  health: BotHealth | null;
}

/** One of the server's roles in the picker: whether approval may add or remove it, and why not. */
export interface GuildRoleItem {
  id: string;
  name: string;
  position: number;
  manageable: boolean;
  reason: string | null;
  removable: boolean;
  removeReason: string | null;
}

/** `GET /api/discord/roles`. */
export interface GuildRolesView {
  items: GuildRoleItem[];
  addRoleIds: string[];
  removeRoleIds: string[];
}

export interface OrganizationSettings {
  requireDiscordSignIn: boolean;
  driftRepair: DriftRepairMode;
}

/** One reconciliation (`GET /api/reconciliation-runs`). */
export interface ReconciliationRun {
  id: string;
  trigger: 'schedule' | 'check' | 'reapply';
  workflowId: string;
  runId: string;
  startedAt: string;
  finishedAt: string | null;
  memberSource: 'list' | 'one_by_one' | null;
  membersChecked: number;
  requests: number;
  driftFound: number;
  repaired: number;
  reported: number;
  membersLeft: number;
  failed: number;
  findings: HealthFinding[];
  error: string | null;
}

export interface WebConfig {
  temporalUiUrl: string | null;
}
