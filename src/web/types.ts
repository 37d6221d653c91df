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
import type { DiscordUser } from '../domain/discord-user.js';

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

/** The kinds of question a form may ask. */
export type QuestionType = 'short_text' | 'long_text' | 'single_choice' | 'multiple_choice' | 'checkbox' | 'url';

export interface Question {
  /** `^[a-z][a-z0-9_]{0,39}$`: the key of its answer. */
  id: string;
  label: string;
  type: QuestionType;
  required: boolean;
  /** The choices of a single or multiple choice question. */
  options?: string[];
  maxLength?: number;
  help?: string;
}

/** What a form's editor sends (`POST /api/forms`, `PUT /api/forms/:formId`). */
export interface FormInput {
  title: string;
  slug: string;
  description: string;
  cooldownDays: number;
  shareNotes: boolean;
  questions: Question[];
}

/** A form as admins and reviewers read it (one version of it). */
export interface Form extends FormInput {
  id: string;
  organizationId: string;
  isDefault: boolean;
  version: number;
  /** How many applications answered this form (any version): editing then makes a new version. */
  applicationCount: number;
  createdAt: string;
  updatedAt: string;
}

/** An answer as the API keeps it. */
export type Answer = string | string[] | boolean;

/** `GET /api/public/organizations/:slug/forms/:formSlug`. */
export interface PublicForm {
  organization: { slug: string; name: string; requireDiscordSignIn: boolean };
  form: {
    slug: string;
    title: string;
    description: string;
    version: number;
    cooldownDays: number;
    questions: Question[];
  };
}

/** One of the signed-in applicant's applications, with its private status link. */
export interface ApplicantApplication {
  id: string;
  formTitle: string | null;
  submittedAt: string;
  status: PublicStatus['status'];
  statusUrl: string;
}

/** `GET /api/public/organizations/:slug/applicant`. */
export interface ApplicantView {
  organization?: { name: string; requireDiscordSignIn: boolean };
  discordUser: DiscordUser | null;
  applications?: ApplicantApplication[];
}

/** `GET /api/public/applications/:id/status?token=`. */
export interface PublicStatus {
  status: 'received' | 'approved' | 'rejected';
  roleGranted: boolean;
  serverUrl: string | null;
  note: string | null;
  organization?: { name: string; slug: string };
  form?: { title: string } | null;
  submittedAt?: string;
  decidedAt?: string | null;
}

/** An application with the form it answered (older applications answered none). */
export type ReviewedApplication = ListedApplication & {
  formId?: string | null;
  formVersion?: number | null;
  answers?: Record<string, Answer> | null;
};

export interface Actor {
  id: string;
  email: string;
}

/** One step of an application's history (`GET /api/applications/:id/timeline`), oldest first. */
export interface TimelineItem {
  at: string;
  action: string;
  actor: Actor | null;
  /** A sentence for people. */
  detail: string;
}

/** One audit entry (`GET /api/audit-log`). */
export interface AuditEntry {
  id: string;
  at: string;
  action: string;
  actor: Actor | null;
  subjectType: string;
  subjectId: string | null;
  details: unknown;
}
