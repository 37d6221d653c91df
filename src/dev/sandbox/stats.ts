/** What the sandbox saw: request counts, 429s, role grants, members added, audit-log reasons. */

/** How an Add Guild Member call ended: 201, 204, or a JSON error from the route itself. */
export type MemberAddOutcome = 'added' | 'already_member' | 'refused';

export interface MemberAddRecord {
  guildId: string;
  userId: string;
  outcome: MemberAddOutcome;
  /** The `roles` of the request (granted only when `added`). */
  roles: string[];
  status: number;
  /** Discord's JSON error code when refused. */
  code?: number;
  at: number;
}

export interface SandboxStats {
  requests: number;
  rateLimited: number;
  /** Keyed by `'METHOD /route/:template'`, e.g. `'PUT /guilds/:guildId/members/:userId/roles/:roleId'`. */
  byRoute: Record<string, { requests: number; rateLimited: number }>;
  /** Every successful `PUT .../members/:userId/roles/:roleId`, including ones that changed nothing. */
  memberRoleAdds: Array<{ guildId: string; userId: string; roleId: string; at: number }>;
  rolesCreated: number;
  /**
   * Every `PUT /guilds/:guildId/members/:userId` (Add Guild Member) that reached the route's own
   * checks, in arrival order. Not counted: answers the request never got that far for (the bot
   * token refused, 429s, injected faults); `byRoute` counts those.
   */
  memberAdds: MemberAddRecord[];
  /** `memberAdds` counted by outcome. */
  memberAddOutcomes: { added: number; alreadyMember: number; refused: number };
  /** Decoded `X-Audit-Log-Reason` values, in arrival order. */
  auditLogReasons: string[];
}

export class StatsRecorder {
  private stats: SandboxStats = StatsRecorder.empty();

  static empty(): SandboxStats {
    return {
      requests: 0,
      rateLimited: 0,
      byRoute: {},
      memberRoleAdds: [],
      rolesCreated: 0,
      memberAdds: [],
      memberAddOutcomes: { added: 0, alreadyMember: 0, refused: 0 },
      auditLogReasons: [],
    };
  }

  request(routeKey: string): void {
    this.stats.requests += 1;
    this.route(routeKey).requests += 1;
  }

  rateLimited(routeKey: string): void {
    this.stats.rateLimited += 1;
    this.route(routeKey).rateLimited += 1;
  }

  memberRoleAdded(guildId: string, userId: string, roleId: string): void {
    this.stats.memberRoleAdds.push({ guildId, userId, roleId, at: Date.now() });
  }

  memberAdd(record: Omit<MemberAddRecord, 'at'>): void {
    this.stats.memberAdds.push({ ...record, at: Date.now() });
    const key = record.outcome === 'already_member' ? 'alreadyMember' : record.outcome;
    this.stats.memberAddOutcomes[key] += 1;
  }

  roleCreated(): void {
    this.stats.rolesCreated += 1;
  }

  auditLogReason(reason: string): void {
    this.stats.auditLogReasons.push(reason);
  }

  snapshot(): SandboxStats {
    return structuredClone(this.stats);
  }

  reset(): void {
    this.stats = StatsRecorder.empty();
  }

  private route(routeKey: string): { requests: number; rateLimited: number } {
    this.stats.byRoute[routeKey] ??= { requests: 0, rateLimited: 0 };
    return this.stats.byRoute[routeKey];
  }
}
