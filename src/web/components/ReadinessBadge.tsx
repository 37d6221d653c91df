import type { Readiness, ReadinessVerdict } from '../types.js';

const BADGES: Record<ReadinessVerdict, { label: string; tone: 'success' | 'progress' | 'danger' }> = {
  ready: { label: 'Ready', tone: 'success' },
  warning: { label: 'Warning', tone: 'progress' },
  blocked: { label: 'Blocked', tone: 'danger' },
};

/**
 * Whether approving a pending application would give its roles now (ready), may wait (warning) or
 * would fail or wait until something is fixed (blocked), with the reason: reviewers see a problem
 * before they approve.
 */
export function ReadinessBadge({ readiness }: { readiness: Readiness }) {
  const badge = BADGES[readiness.verdict] ?? { label: readiness.verdict, tone: 'neutral' };
  return (
    <div className="readiness" data-testid="readiness" data-verdict={readiness.verdict}>
      <span className={`badge badge-${badge.tone}`} title={readiness.reason}>
        {badge.label}
      </span>
      <span className="readiness-reason muted small" data-testid="readiness-reason">
        {readiness.reason}
      </span>
    </div>
  );
}

/** The selected applications' readiness problems, grouped by reason: how many would fail (blocked) or may wait (warning), and why. */
export function readinessProblems(apps: Array<{ readiness?: Readiness | null }>) {
  const group = (verdict: ReadinessVerdict) => {
    const byReason = new Map<string, number>();
    for (const app of apps) {
      if (app.readiness?.verdict === verdict) {
        byReason.set(app.readiness.reason, (byReason.get(app.readiness.reason) ?? 0) + 1);
      }
    }
    const reasons = [...byReason].map(([reason, count]) => ({ reason, count })).sort((a, b) => b.count - a.count);
    return { count: reasons.reduce((n, r) => n + r.count, 0), reasons };
  };
  return { blocked: group('blocked'), warning: group('warning') };
}
