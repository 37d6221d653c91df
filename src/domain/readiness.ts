// Pure code: whether approving a pending application would give its roles now, from what the last
// health check and reconciliation saw (no call to Discord). The API computes it per application;
// the web UI shows it before reviewers approve, and counts it for a bulk approval.
import type { DiscordIdPresence } from './application-lifecycle.js';
import type { ConnectionState } from './discord-connection.js';

export type ReadinessVerdict = 'ready' | 'warning' | 'blocked';

export interface Readiness {
  verdict: ReadinessVerdict;
  /** One sentence for the reviewer. */
  reason: string;
}

export interface ReadinessInput {
  connection: { state: ConnectionState; error: string | null; findings: ReadonlyArray<{ message: string }> };
  discordId: DiscordIdPresence;
  /** The applicant signed in with Discord and the sign-in can still add them to the server. */
  canBeAdded: boolean;
  /** What the last look at the guild's members saw of the applicant. */
  member: { present: true; pending: boolean } | { present: false; listComplete: boolean };
}

export const READINESS_REASONS = {
  noDiscord: 'No Discord account: approving gives no role.',
  invalidId: 'The Discord ID is invalid: approving records a failed grant.',
  notConnected: 'Discord is not connected: an admin must connect the bot in Settings first.',
  inServer: 'In the server: the roles are given at once.',
  screening: 'In the server, but waiting for its rules screening: the roles are confirmed once they accept the rules.',
  canBeAdded: 'Not in the server yet: approving adds them (they signed in with Discord).',
  notInServer: 'Not in the server, and cannot be added (no Discord sign-in to use): the grant waits until they join.',
  notSeen:
    'Not seen in the server (the bot cannot list its members): if they have not joined, the grant waits until they do.',
} as const;

/** The one rule for "would this grant succeed now". */
export function grantReadiness(input: ReadinessInput): Readiness {
  if (input.discordId === 'none') return { verdict: 'ready', reason: READINESS_REASONS.noDiscord };
  if (input.discordId === 'invalid') return { verdict: 'blocked', reason: READINESS_REASONS.invalidId };
  const { connection } = input;
  if (connection.state === 'error') {
    return { verdict: 'blocked', reason: connection.error ?? READINESS_REASONS.notConnected };
  }
  if (connection.state !== 'connected') return { verdict: 'blocked', reason: READINESS_REASONS.notConnected };
  const finding = connection.findings[0];
  if (finding) return { verdict: 'blocked', reason: finding.message };
  if (input.member.present) {
    return input.member.pending
      ? { verdict: 'warning', reason: READINESS_REASONS.screening }
      : { verdict: 'ready', reason: READINESS_REASONS.inServer };
  }
  if (input.canBeAdded) return { verdict: 'ready', reason: READINESS_REASONS.canBeAdded };
  return input.member.listComplete
    ? { verdict: 'blocked', reason: READINESS_REASONS.notInServer }
    : { verdict: 'warning', reason: READINESS_REASONS.notSeen };
}
