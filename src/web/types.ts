// The API's shapes (the README describes them). Kept here so the browser bundle never imports server code.
export type { Application } from '../domain/application.js';
export type { ApplicationStatus } from '../domain/application-lifecycle.js';
export type { DiscordUser } from '../domain/discord-user.js';

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

export interface DiscordConnection {
  state: 'disconnected' | 'connecting' | 'connected' | 'error';
  guild: { id: string; name: string | null } | null;
  role: { id: string; name: string | null } | null;
  error: string | null;
  /** Paused by the circuit breaker: "Check again" can resume it. */
  canCheckAgain?: boolean;
  updatedAt: string | null;
}

export interface WebConfig {
  temporalUiUrl: string | null;
}
