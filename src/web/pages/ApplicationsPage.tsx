import { useCallback, useEffect, useRef, useState } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { errorMessage } from '../api.js';
import { DiscordIdentity } from '../components/DiscordIdentity.js';
import { ReadinessBadge, readinessProblems } from '../components/ReadinessBadge.js';
import { StatusBadge } from '../components/StatusBadge.js';
import { LoadFailed, Notice, PageHeading, Pager, Spinner } from '../components/ui.js';
import {
  listApplications,
  retryRole,
  reviewApplication,
  useAwaitedRetries,
  useBulkReview,
  useRefreshInFlight,
  useResource,
  type BulkReviewTracker,
} from '../hooks.js';
import { useShortcuts } from '../keyboard.js';
import { useSession } from '../session.js';
import { actionsFor, formatDate, isInFlight, MAX_MANUAL_RETRIES, STATUS_FILTERS } from '../status.js';
import type { Application, ListedApplication } from '../types.js';

export const PAGE_SIZE = 25;
/** Rows per page a reviewer can choose: larger pages make larger bulk approvals. */
export const PAGE_SIZES = [25, 50, 100, 200] as const;

/** Where the bulk review being followed is remembered, so that a reload shows it again. */
export const bulkStorageKey = (organizationId: string | null) =>
  organizationId ? `bulkReview:${organizationId}` : 'bulkReview';

type RowAction = 'approve' | 'reject' | 'revoke' | 'retry';

const retryLabel = (app: Application) => `Retry (${app.roleAssignment.retryCount}/${MAX_MANUAL_RETRIES})`;

function discordIdOf(app: Application): string | null {
  const id = app.custom_data.discord_user_id ?? app.custom_data.discordUserId;
  return typeof id === 'string' && id ? id : null;
}

export function ApplicationsPage() {
  const session = useSession();
  const [search] = useSearchParams();
  const navigate = useNavigate();
  // The detail's "← Applications" comes back with the list's filter; the form filter comes from the Forms page.
  const [status, setStatus] = useState(() => search.get('status') ?? '');
  const formId = search.get('formId') ?? '';
  const [pageSize, setPageSize] = useState<number>(PAGE_SIZE);
  // Cursors of the pages before this one, and this page's own.
  const [cursors, setCursors] = useState<Array<string | undefined>>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const page = useResource(
    () => listApplications({ status: status || undefined, formId: formId || undefined, limit: pageSize, cursor }),
    `${status}|${formId}|${pageSize}|${cursor ?? ''}`,
  );
  const [rows, setRows] = useState<ListedApplication[]>([]);
  useEffect(() => {
    if (page.data) setRows(page.data.items);
  }, [page.data]);

  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [rowBusy, setRowBusy] = useState<Record<string, RowAction>>({});
  const [rowErrors, setRowErrors] = useState<Record<string, string>>({});
  /** Notes typed in the list, sent with the row's next approve or reject. */
  const [notes, setNotes] = useState<Record<string, string>>({});
  const [noteOpen, setNoteOpen] = useState<string | null>(null);
  /** The row the keyboard is on (`j`/`k`), by ID. */
  const [cursorId, setCursorId] = useState<string | null>(null);
  const tableRef = useRef<HTMLTableElement>(null);
  /** The application whose "Revoke approval" waits for a confirmation. */
  const [confirmingRevoke, setConfirmingRevoke] = useState<string | null>(null);
  /** "Approve selected" waits for a confirmation: some of the selected would fail or may wait. */
  const [confirmingBulk, setConfirmingBulk] = useState(false);
  const bulk = useBulkReview(
    session.status === 'signed-in' ? bulkStorageKey(session.me.organization?.id ?? null) : null,
    // The decisions are all in: show the rows as they now are, once.
    () => void page.reload(),
  );

  const replace = useCallback((updated: Application) => {
    setRows((current) => current.map((a) => (a.id === updated.id ? updated : a)));
  }, []);
  const { isAwaited, awaitRetry } = useAwaitedRetries();
  useRefreshInFlight(rows, (a) => isInFlight(a) || isAwaited(a), replace);

  const changeFilter = (value: string) => {
    setRows([]);
    setStatus(value);
    setCursors([undefined]);
    setSelected(new Set());
  };
  const changePageSize = (value: number) => {
    setPageSize(value);
    setCursors([undefined]);
    setSelected(new Set());
  };

  const act = async (app: Application, action: RowAction) => {
    setRowBusy((b) => ({ ...b, [app.id]: action }));
    setRowErrors(({ [app.id]: _, ...rest }) => rest);
    try {
      if (action === 'retry') {
        const accepted = await retryRole(app.id);
        awaitRetry(accepted);
        replace(accepted);
      } else {
        replace(await reviewApplication(app.id, action === 'approve' ? 'approve' : 'reject', notes[app.id]));
        setNotes(({ [app.id]: _, ...rest }) => rest);
        if (noteOpen === app.id) setNoteOpen(null);
      }
      if (action === 'revoke') setConfirmingRevoke(null);
      setSelected((s) => {
        const next = new Set(s);
        next.delete(app.id);
        return next;
      });
    } catch (err) {
      setRowErrors((e) => ({ ...e, [app.id]: errorMessage(err) }));
    } finally {
      setRowBusy(({ [app.id]: _, ...rest }) => rest);
    }
  };

  const pendingRows = rows.filter((a) => actionsFor(a).includes('approve'));
  const selectedIds = pendingRows.filter((a) => selected.has(a.id)).map((a) => a.id);
  const allSelected = pendingRows.length > 0 && selectedIds.length === pendingRows.length;

  /** One request with every selected ID; the API records the decisions in the background. */
  const approveSelected = async () => {
    setConfirmingBulk(false);
    if (await bulk.start(selectedIds, 'approve')) setSelected(new Set());
  };
  const problems = readinessProblems(pendingRows.filter((a) => selected.has(a.id)));
  /** Straight away when every selected one is ready; else first say what would fail or wait, and why. */
  const askApproveSelected = () => {
    if (problems.blocked.count + problems.warning.count === 0) void approveSelected();
    else setConfirmingBulk(true);
  };

  /** Where a row's detail opens: the list's filters go along and make the detail's queue. */
  const detailHref = (id: string) => {
    const params = new URLSearchParams();
    if (status) params.set('status', status);
    if (formId) params.set('formId', formId);
    const query = params.toString();
    return `/applications/${encodeURIComponent(id)}${query ? `?${query}` : ''}`;
  };

  const cursorIndex = rows.findIndex((a) => a.id === cursorId);
  const moveCursor = (by: number) => {
    if (rows.length === 0) return;
    const next = cursorIndex < 0 ? 0 : Math.min(rows.length - 1, Math.max(0, cursorIndex + by));
    const id = rows[next]!.id;
    setCursorId(id);
    tableRef.current?.querySelector<HTMLElement>(`tr[data-id="${id}"]`)?.scrollIntoView?.({ block: 'nearest' });
  };
  const onCursor = (action: 'approve' | 'reject') => {
    const app = cursorIndex >= 0 ? rows[cursorIndex] : undefined;
    if (!app || rowBusy[app.id] || !actionsFor(app).includes(action)) return;
    void act(app, action);
  };
  useShortcuts({
    j: () => moveCursor(1),
    k: () => moveCursor(-1),
    Enter: () => {
      if (cursorIndex >= 0) void navigate(detailHref(rows[cursorIndex]!.id));
    },
    a: () => onCursor('approve'),
    r: () => onCursor('reject'),
  });

  const toggle = (id: string, on: boolean) =>
    setSelected((s) => {
      const next = new Set(s);
      if (on) next.add(id);
      else next.delete(id);
      return next;
    });

  return (
    <>
      <PageHeading>Applications</PageHeading>
      <div className="toolbar">
        <label className="inline-field">
          <span>Status</span>
          <select value={status} onChange={(e) => changeFilter(e.target.value)}>
            {STATUS_FILTERS.map((f) => (
              <option key={f.value} value={f.value}>
                {f.label}
              </option>
            ))}
          </select>
        </label>
        <label className="inline-field">
          <span>Rows per page</span>
          <select value={pageSize} onChange={(e) => changePageSize(Number(e.target.value))}>
            {PAGE_SIZES.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
        {formId ? (
          <span className="filter-note">
            One form only · <Link to="/applications">Show every form</Link>
          </span>
        ) : null}
        <button type="button" className="secondary" onClick={() => void page.reload()} disabled={page.loading}>
          Refresh
        </button>
        <button
          type="button"
          onClick={askApproveSelected}
          disabled={selectedIds.length === 0 || bulk.running || confirmingBulk}
        >
          Approve selected ({selectedIds.length})
        </button>
      </div>
      {confirmingBulk && selectedIds.length > 0 ? (
        <div className="notice notice-info bulk-confirm" role="group" aria-label="Confirm the bulk approval">
          <div data-testid="bulk-confirm">
            <strong>
              Approve {selectedIds.length} application{selectedIds.length === 1 ? '' : 's'}?
            </strong>
            {problems.blocked.count > 0 ? (
              <>
                <div data-testid="bulk-confirm-blocked">
                  {problems.blocked.count} would fail or wait until something is fixed (blocked):
                </div>
                <ul aria-label="Blocked">
                  {problems.blocked.reasons.map((r) => (
                    <li key={r.reason}>
                      {r.count} × {r.reason}
                    </li>
                  ))}
                </ul>
              </>
            ) : null}
            {problems.warning.count > 0 ? (
              <>
                <div data-testid="bulk-confirm-warning">{problems.warning.count} may wait (warning):</div>
                <ul aria-label="Warnings">
                  {problems.warning.reasons.map((r) => (
                    <li key={r.reason}>
                      {r.count} × {r.reason}
                    </li>
                  ))}
                </ul>
              </>
            ) : null}
          </div>
          <div className="notice-action actions">
            <button type="button" onClick={() => void approveSelected()} disabled={bulk.running}>
              Approve {selectedIds.length} anyway
            </button>
            <button type="button" className="secondary" onClick={() => setConfirmingBulk(false)}>
              Cancel
            </button>
          </div>
        </div>
      ) : null}
      <BulkReviewNotice bulk={bulk} />
      {page.error ? <LoadFailed what="The applications" error={page.error} retry={page.reload} /> : null}
      <p className="shortcut-hint small muted" data-testid="shortcut-hint">
        Keys: <kbd>j</kbd>/<kbd>k</kbd> move down/up, <kbd>Enter</kbd> opens, <kbd>a</kbd> approves, <kbd>r</kbd>{' '}
        rejects the highlighted application.
      </p>
      <div className="table-wrap">
        <table className="applications" ref={tableRef}>
          <caption className="visually-hidden">Applications{status ? ` (${status})` : ''}</caption>
          <thead>
            <tr>
              <th scope="col" className="select-col">
                <input
                  type="checkbox"
                  aria-label="Select all pending applications on this page"
                  checked={allSelected}
                  disabled={pendingRows.length === 0}
                  onChange={(e) => setSelected(e.target.checked ? new Set(pendingRows.map((a) => a.id)) : new Set())}
                />
              </th>
              <th scope="col">Applicant</th>
              <th scope="col">Submitted</th>
              <th scope="col">Status</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((app) => {
              const busy = rowBusy[app.id];
              const discordId = discordIdOf(app);
              const actions = actionsFor(app);
              return (
                <tr
                  key={app.id}
                  data-testid="application-row"
                  data-id={app.id}
                  data-status={app.status}
                  data-current={cursorId === app.id ? 'true' : undefined}
                  className={cursorId === app.id ? 'row-current' : undefined}
                >
                  <td className="select-col">
                    {actionsFor(app).includes('approve') ? (
                      <input
                        type="checkbox"
                        aria-label={`Select ${app.applicant.name}`}
                        checked={selected.has(app.id)}
                        onChange={(e) => toggle(app.id, e.target.checked)}
                      />
                    ) : null}
                  </td>
                  <td data-label="Applicant">
                    <div className="applicant-name">
                      <Link to={detailHref(app.id)}>{app.applicant.name}</Link>
                      {cursorId === app.id ? <span className="visually-hidden"> (highlighted)</span> : null}
                    </div>
                    <div className="muted small">{app.applicant.email}</div>
                    {app.discordUser ? (
                      <DiscordIdentity user={app.discordUser} />
                    ) : discordId ? (
                      <div className="muted small mono">Discord {discordId} (not a valid ID)</div>
                    ) : null}
                  </td>
                  <td data-label="Submitted">
                    <time dateTime={app.createdAt}>{formatDate(app.createdAt)}</time>
                  </td>
                  <td data-label="Status">
                    <StatusBadge app={app} />
                    {app.status === 'Pending' && app.readiness ? <ReadinessBadge readiness={app.readiness} /> : null}
                    {rowErrors[app.id] ? (
                      <div className="field-error" role="alert">
                        {rowErrors[app.id]}
                      </div>
                    ) : null}
                  </td>
                  <td data-label="Actions" className="actions">
                    {actions.includes('approve') ? (
                      <button
                        type="button"
                        onClick={() => void act(app, 'approve')}
                        disabled={!!busy}
                        aria-label={`Approve ${app.applicant.name}`}
                      >
                        {busy === 'approve' ? <Spinner /> : null}Approve
                      </button>
                    ) : null}
                    {actions.includes('reject') ? (
                      <button
                        type="button"
                        className="secondary"
                        onClick={() => void act(app, 'reject')}
                        disabled={!!busy}
                        aria-label={`Reject ${app.applicant.name}`}
                      >
                        {busy === 'reject' ? <Spinner /> : null}Reject
                      </button>
                    ) : null}
                    {actions.includes('revoke_approval') && confirmingRevoke !== app.id ? (
                      <button
                        type="button"
                        className="secondary"
                        onClick={() => setConfirmingRevoke(app.id)}
                        disabled={!!busy}
                        aria-label={`Revoke the approval of ${app.applicant.name}`}
                      >
                        Revoke approval
                      </button>
                    ) : null}
                    {actions.includes('revoke_approval') && confirmingRevoke === app.id ? (
                      <div className="confirm" role="group" aria-label={`Confirm revoking ${app.applicant.name}`}>
                        <span>
                          {app.status === 'Approved'
                            ? 'The application becomes rejected.'
                            : 'The application becomes rejected and the role will be removed from the member in Discord.'}
                        </span>
                        <button
                          type="button"
                          className="danger"
                          onClick={() => void act(app, 'revoke')}
                          disabled={!!busy}
                        >
                          {busy === 'revoke' ? <Spinner /> : null}Revoke
                        </button>
                        <button type="button" className="secondary" onClick={() => setConfirmingRevoke(null)}>
                          Cancel
                        </button>
                      </div>
                    ) : null}
                    {actions.includes('approve') || actions.includes('reject') ? (
                      noteOpen === app.id || notes[app.id] ? (
                        <textarea
                          className="row-note"
                          rows={2}
                          maxLength={2000}
                          aria-label={`Note for ${app.applicant.name}`}
                          placeholder="Note (optional), sent with the decision"
                          autoFocus={noteOpen === app.id}
                          value={notes[app.id] ?? ''}
                          onChange={(e) => setNotes((n) => ({ ...n, [app.id]: e.target.value }))}
                        />
                      ) : (
                        <button
                          type="button"
                          className="secondary"
                          onClick={() => setNoteOpen(app.id)}
                          aria-label={`Add a note for ${app.applicant.name}`}
                        >
                          Note…
                        </button>
                      )
                    ) : null}
                    {actions.includes('retry') ? (
                      <button
                        type="button"
                        onClick={() => void act(app, 'retry')}
                        disabled={!!busy}
                        aria-label={`${retryLabel(app)}: ${app.status === 'Rejected' ? 'remove the role from' : 'assign the role to'} ${app.applicant.name} again`}
                      >
                        {busy === 'retry' ? <Spinner /> : null}
                        {retryLabel(app)}
                      </button>
                    ) : null}
                  </td>
                </tr>
              );
            })}
            {page.data && !page.loading && rows.length === 0 ? (
              <tr>
                <td colSpan={5} className="empty">
                  No applications{status ? ' with this status' : ''} yet.
                </td>
              </tr>
            ) : null}
          </tbody>
        </table>
      </div>
      {page.loading && rows.length === 0 ? (
        <p>
          <Spinner label="Loading applications" /> Loading…
        </p>
      ) : null}
      <Pager
        page={cursors.length}
        busy={page.loading}
        hasNext={Boolean(page.data?.nextCursor)}
        onBack={() => {
          setRows([]);
          setCursors((c) => c.slice(0, -1));
        }}
        onNext={() => {
          setRows([]);
          setCursors((c) => [...c, page.data?.nextCursor ?? undefined]);
        }}
        labels={{ back: 'Previous', next: 'Next' }}
      />
    </>
  );
}

/**
 * The followed bulk review. `data-testid="bulk-progress"` reads (for a rejection, "Rejecting…" /
 * "Rejected:" and "settled" instead of "assigned"):
 * - while the request is sent: `Approving… sending 50 applications`
 * - before the first progress read (after a reload): `Approving… reading the progress`
 * - running: `Approving… 12 of 50 assigned (50 recorded, 0 failed, 0 refused)`
 * - done: `Approved: 50 of 50 assigned, 0 failed, 0 refused`
 * So once the progress is known the text holds `<assigned> of <total> assigned`, and a done bulk
 * starts with `Approved:`. The refused IDs (the first 100) are listed under it.
 */
function BulkReviewNotice({ bulk }: { bulk: BulkReviewTracker }) {
  const { progress, sending, startError, pollError } = bulk;
  if (!sending && !startError && !bulk.bulkId) return null;
  const dismiss = (
    <button type="button" className="secondary" onClick={bulk.dismiss} disabled={sending !== null}>
      Dismiss
    </button>
  );
  if (startError) {
    return (
      <Notice kind="error" action={dismiss}>
        <span data-testid="bulk-progress">The bulk approval could not be started: {startError}</span>
      </Notice>
    );
  }
  const decision = progress?.decision ?? sending?.decision ?? 'approve';
  const [doing, did, unit] =
    decision === 'approve' ? ['Approving…', 'Approved:', 'assigned'] : ['Rejecting…', 'Rejected:', 'settled'];
  const done = progress?.done === true;
  const text = (() => {
    if (!progress) {
      if (!sending) return `${doing} reading the progress`;
      return `${doing} sending ${sending.count} application${sending.count === 1 ? '' : 's'}`;
    }
    const { assigned, total, recorded, failed, refusedCount } = progress;
    if (done) return `${did} ${assigned} of ${total} ${unit}, ${failed} failed, ${refusedCount} refused`;
    return `${doing} ${assigned} of ${total} ${unit} (${recorded} recorded, ${failed} failed, ${refusedCount} refused)`;
  })();
  const stalled = pollError !== null && !pollError.retrying;
  const troubled = progress !== null && (progress.failed > 0 || progress.refusedCount > 0);
  return (
    <Notice kind={done ? (troubled ? 'error' : 'success') : 'info'} action={dismiss}>
      <span data-testid="bulk-progress">
        {done || stalled ? null : <Spinner />}
        {text}
      </span>
      <progress
        className="bulk-progress-bar"
        data-testid="bulk-progress-bar"
        aria-label={decision === 'approve' ? 'Bulk approval progress' : 'Bulk rejection progress'}
        {...(progress
          ? { value: progress.assigned + progress.failed + progress.refusedCount, max: progress.total }
          : {})}
      />
      {pollError ? (
        <div className="field-error">
          The progress could not be read: {pollError.message}
          {pollError.retrying ? ' Trying again…' : ''}
        </div>
      ) : null}
      {progress && progress.refused.length > 0 ? (
        <>
          <div>Refused:</div>
          <ul aria-label="Refused applications">
            {progress.refused.map((r) => (
              <li key={r.id}>
                <span className="mono">{r.id}</span>: {r.error.message}
              </li>
            ))}
            {progress.refusedCount > progress.refused.length ? (
              <li>…and {progress.refusedCount - progress.refused.length} more</li>
            ) : null}
          </ul>
        </>
      ) : null}
    </Notice>
  );
}
