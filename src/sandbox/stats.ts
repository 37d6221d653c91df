/** What the sandbox saw: request counts, 429s, role grants, audit-log reasons. */

export interface SandboxStats {
  requests: number;
  rateLimited: number;
  /** Keyed by `'METHOD /route/:template'`, e.g. `'PUT /guilds/:guildId/members/:userId/roles/:roleId'`. */
  byRoute: Record<string, { requests: number; rateLimited: number }>;
  /** Every successful `PUT .../members/:userId/roles/:roleId`, including ones that changed nothing. */
  memberRoleAdds: Array<{ guildId: string; userId: string; roleId: string; at: number }>;
  rolesCreated: number;
  /** Decoded `X-Audit-Log-Reason` values, in arrival order. */
  auditLogReasons: string[];
}

export class StatsRecorder {
  private stats: SandboxStats = StatsRecorder.empty();

  static empty(): SandboxStats {
    return { requests: 0, rateLimited: 0, byRoute: {}, memberRoleAdds: [], rolesCreated: 0, auditLogReasons: [] };
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
