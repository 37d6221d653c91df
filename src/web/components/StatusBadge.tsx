import { useId } from 'react';
import { badgeOf } from '../status.js';
import type { Application } from '../types.js';
import { Spinner } from './ui.js';

/**
 * The application's status as the workflows keep it. A failed role change shows its stored error in a
 * tooltip on hover or keyboard focus (and to screen readers through aria-describedby).
 */
export function StatusBadge({ app }: { app: Application }) {
  const tipId = useId();
  const badge = badgeOf(app);
  const error = app.roleAssignment.status === 'failed' ? app.roleAssignment.error : null;
  return (
    <span className="badge-wrap">
      <span
        className={`badge badge-${badge.tone}`}
        data-testid="status-badge"
        tabIndex={error ? 0 : undefined}
        aria-describedby={error ? tipId : undefined}
      >
        {badge.inFlight ? <Spinner /> : null}
        {badge.label}
      </span>
      {error ? (
        <span className="tooltip" role="tooltip" id={tipId}>
          {error}
        </span>
      ) : null}
    </span>
  );
}
