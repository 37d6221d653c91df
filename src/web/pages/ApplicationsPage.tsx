import { useCallback, useEffect, useState } from 'react';
import { errorMessage } from '../api';
import { DiscordIdentity } from '../components/DiscordIdentity';
import { StatusBadge } from '../components/StatusBadge';
import { Notice, PageHeading, Spinner } from '../components/ui';
import {
  bulkReview,
  listApplications,
  retryRole,
  reviewApplication,
  useAwaitedRetries,
  useRefreshInFlight,
  useResource,
} from '../hooks';
import { actionsFor, formatDate, isInFlight, MAX_MANUAL_RETRIES, STATUS_FILTERS } from '../status';
import type { Application } from '../types';

export const PAGE_SIZE = 25;
/** Reviews per bulk request: small enough to show progress as it goes. */
const BULK_CHUNK = 5;

type RowAction = 'approve' | 'reject' | 'revoke' | 'retry';

const retryLabel = (app: Application) => `Retry (${app.roleAssignment.retryCount}/${MAX_MANUAL_RETRIES})`;

function discordIdOf(app: Application): string | null {
  const id = app.custom_data.discord_user_id ?? app.custom_data.discordUserId;
  return typeof id === 'string' && id ? id : null;
}

export function ApplicationsPage() {
  const [status, setStatus] = useState('');
  // Cursors of the pages before this one, and this page's own.
  const [cursors, setCursors] = useState<Array<string | undefined>>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const page = useResource(
    () => listApplications({ status: status || undefined, limit: PAGE_SIZE, cursor }),
    `${status}|${cursor ?? ''}`,
  );
  const [rows, setRows] = useState<Application[]>([]);
  useEffect(() => {
    if (page.data) setRows(page.data.items);
  }, [page.data]);

  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [rowBusy, setRowBusy] = useState<Record<string, RowAction>>({});
  const [rowErrors, setRowErrors] = useState<Record<string, string>>({});
  /** The application whose "Revoke approval" waits for a confirmation. */
  const [confirmingRevoke, setConfirmingRevoke] = useState<string | null>(null);
  const [bulk, setBulk] = useState<{ done: number; total: number; failed: string[]; running: boolean } | null>(null);

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

  const act = async (app: Application, action: RowAction) => {
    setRowBusy((b) => ({ ...b, [app.id]: action }));
    setRowErrors(({ [app.id]: _, ...rest }) => rest);
    try {
      if (action === 'retry') {
        const accepted = await retryRole(app.id);
        awaitRetry(accepted);
        replace(accepted);
      } else {
        replace(await reviewApplication(app.id, action === 'approve' ? 'approve' : 'reject'));
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

  const approveSelected = async () => {
    const ids = selectedIds;
    const failed: string[] = [];
    setBulk({ done: 0, total: ids.length, failed, running: true });
    for (let i = 0; i < ids.length; i += BULK_CHUNK) {
      const chunk = ids.slice(i, i + BULK_CHUNK);
      try {
        const { results } = await bulkReview(chunk, 'approve');
        for (const r of results) if (!r.ok) failed.push(`${r.id}: ${r.error?.message ?? 'refused'}`);
        // The rows stay on screen with their new status; those in flight then refresh themselves.
        const reviewed = new Map(results.flatMap((r) => (r.ok && r.application ? [[r.id, r.application]] : [])));
        setRows((current) => current.map((a) => reviewed.get(a.id) ?? a));
      } catch (err) {
        for (const id of chunk) failed.push(`${id}: ${errorMessage(err)}`);
      }
      setBulk({ done: Math.min(i + chunk.length, ids.length), total: ids.length, failed: [...failed], running: true });
    }
    setBulk({ done: ids.length, total: ids.length, failed: [...failed], running: false });
    setSelected(new Set());
  };

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
        <button type="button" className="secondary" onClick={() => void page.reload()} disabled={page.loading}>
          Refresh
        </button>
        <button
          type="button"
          onClick={() => void approveSelected()}
          disabled={selectedIds.length === 0 || bulk?.running === true}
        >
          Approve selected ({selectedIds.length})
        </button>
      </div>
      {bulk ? (
        <Notice kind={bulk.failed.length ? 'error' : bulk.running ? 'info' : 'success'}>
          <span data-testid="bulk-progress">
            {bulk.running ? <Spinner /> : null}
            {bulk.running ? 'Approving… ' : 'Approved '}
            {bulk.done - (bulk.running ? 0 : bulk.failed.length)} of {bulk.total}
          </span>
          {bulk.failed.length ? (
            <ul>
              {bulk.failed.map((f) => (
                <li key={f}>{f}</li>
              ))}
            </ul>
          ) : null}
        </Notice>
      ) : null}
      {page.error ? (
        <Notice
          kind="error"
          action={
            <button type="button" onClick={() => void page.reload()}>
              Try again
            </button>
          }
        >
          The applications could not be loaded: {page.error}
        </Notice>
      ) : null}
      <div className="table-wrap">
        <table className="applications">
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
                <tr key={app.id} data-testid="application-row" data-id={app.id} data-status={app.status}>
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
                    <div className="applicant-name">{app.applicant.name}</div>
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
      <nav className="pager" aria-label="Pages">
        <button
          type="button"
          className="secondary"
          disabled={cursors.length <= 1 || page.loading}
          onClick={() => {
            setRows([]);
            setCursors((c) => c.slice(0, -1));
          }}
        >
          ← Previous
        </button>
        <span className="muted">Page {cursors.length}</span>
        <button
          type="button"
          className="secondary"
          disabled={!page.data?.nextCursor || page.loading}
          onClick={() => {
            setRows([]);
            setCursors((c) => [...c, page.data?.nextCursor ?? undefined]);
          }}
        >
          Next →
        </button>
      </nav>
    </>
  );
}
