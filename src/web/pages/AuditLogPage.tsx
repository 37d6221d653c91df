import { useEffect, useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { LoadFailed, PageHeading, Pager, Spinner } from '../components/ui.js';
import { listAuditLog, type AuditQuery } from '../endpoints.js';
import { useResource } from '../hooks.js';
import { formatDate } from '../status.js';

/** Suggestions for the action filter (any action, or a prefix, may be typed). */
const KNOWN_ACTIONS = [
  'application.',
  'application.submitted',
  'application.approved',
  'application.rejected',
  'application.role_retry',
  'form.',
  'form.created',
  'form.updated',
  'discord.',
  'organization.settings_changed',
  'user.',
];

const FILTERS = ['applicationId', 'userId', 'action', 'after', 'before'] as const;
type Filter = (typeof FILTERS)[number];
export const AUDIT_PAGE_SIZE = 50;

/** A `datetime-local` value (local time, no zone) as an ISO instant, or '' when empty or unreadable. */
export function localToIso(value: string): string {
  if (!value) return '';
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? '' : date.toISOString();
}

/** An ISO instant as a `datetime-local` value in local time. */
export function isoToLocal(iso: string | null): string {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** The filter form's values for an address's query (times in local time). */
function draftOf(search: URLSearchParams): Record<Filter, string> {
  const get = (f: Filter) => search.get(f) ?? '';
  return {
    applicationId: get('applicationId'),
    userId: get('userId'),
    action: get('action'),
    after: isoToLocal(get('after') || null),
    before: isoToLocal(get('before') || null),
  };
}

/** An entry's details as "key: value" pairs, for people. */
export function detailsText(details: unknown): string {
  if (details === null || details === undefined) return '';
  if (typeof details !== 'object' || Array.isArray(details)) return JSON.stringify(details);
  return Object.entries(details as Record<string, unknown>)
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(', ');
}

/**
 * `/audit-log` (admins): who did what, newest first, filtered by application, user, action and time.
 * The filters live in the address, so a filtered view can be shared or reloaded.
 */
export function AuditLogPage() {
  const [search, setSearch] = useSearchParams();
  const filters = Object.fromEntries(FILTERS.map((f) => [f, search.get(f) ?? ''])) as Record<Filter, string>;
  const searchKey = search.toString();
  const [draft, setDraft] = useState(() => draftOf(new URLSearchParams(searchKey)));
  // Cursors of the pages before this one, and this page's own.
  const [cursors, setCursors] = useState<Array<string | undefined>>([undefined]);
  // The address changed (a link to a user's entries, back and forward): the form and the paging follow.
  useEffect(() => {
    setDraft(draftOf(new URLSearchParams(searchKey)));
    setCursors([undefined]);
  }, [searchKey]);
  const cursor = cursors[cursors.length - 1];
  const query: AuditQuery = { ...filters, cursor, limit: AUDIT_PAGE_SIZE };
  const page = useResource(() => listAuditLog(query), JSON.stringify(query));

  const apply = (event: FormEvent) => {
    event.preventDefault();
    const next = new URLSearchParams();
    const values = { ...draft, after: localToIso(draft.after), before: localToIso(draft.before) };
    for (const f of FILTERS) if (values[f].trim()) next.set(f, values[f].trim());
    setSearch(next);
  };
  const clear = () => {
    setDraft(draftOf(new URLSearchParams()));
    setSearch(new URLSearchParams());
  };
  const input = (f: Filter) => ({
    value: draft[f],
    onChange: (e: { target: { value: string } }) => setDraft((d) => ({ ...d, [f]: e.target.value })),
  });

  return (
    <>
      <PageHeading>Audit log</PageHeading>
      <form className="card filters" onSubmit={apply} aria-label="Filter the audit log">
        <div className="filter-grid">
          <div className="field">
            <label htmlFor="audit-application">Application ID</label>
            <input id="audit-application" className="mono" spellCheck={false} {...input('applicationId')} />
          </div>
          <div className="field">
            <label htmlFor="audit-user">User ID</label>
            <input id="audit-user" className="mono" spellCheck={false} {...input('userId')} />
          </div>
          <div className="field">
            <label htmlFor="audit-action">Action</label>
            <input
              id="audit-action"
              className="mono"
              list="audit-actions"
              aria-describedby="audit-action-hint"
              {...input('action')}
            />
            <datalist id="audit-actions">
              {KNOWN_ACTIONS.map((a) => (
                <option key={a} value={a} />
              ))}
            </datalist>
            <div className="hint" id="audit-action-hint">
              An action, or a prefix ending with a dot (<span className="mono">application.</span>).
            </div>
          </div>
          <div className="field">
            <label htmlFor="audit-after">After</label>
            <input id="audit-after" type="datetime-local" {...input('after')} />
          </div>
          <div className="field">
            <label htmlFor="audit-before">Before</label>
            <input id="audit-before" type="datetime-local" {...input('before')} />
          </div>
        </div>
        <div className="actions">
          <button type="submit">Filter</button>
          <button type="button" className="secondary" onClick={clear}>
            Clear
          </button>
        </div>
      </form>
      {page.error ? <LoadFailed what="The audit log" error={page.error} retry={page.reload} /> : null}
      <div className="table-wrap">
        <table className="audit-log">
          <caption className="visually-hidden">Audit entries, newest first</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Action</th>
              <th scope="col">By</th>
              <th scope="col">Subject</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {(page.data?.items ?? []).map((e) => (
              <tr key={e.id} data-testid="audit-row">
                <td data-label="When">
                  <time dateTime={e.at}>{formatDate(e.at)}</time>
                </td>
                <td data-label="Action" className="mono small">
                  {e.action}
                </td>
                <td data-label="By">
                  {e.actor ? (
                    <Link to={`/audit-log?userId=${encodeURIComponent(e.actor.id)}`} title="Only what this user did">
                      {e.actor.email}
                    </Link>
                  ) : (
                    <span className="muted">the system</span>
                  )}
                </td>
                <td data-label="Subject" className="small">
                  {e.subjectType === 'application' && e.subjectId ? (
                    <Link to={`/applications/${encodeURIComponent(e.subjectId)}`}>
                      application {e.subjectId.slice(0, 8)}
                    </Link>
                  ) : (
                    <span>
                      {e.subjectType}
                      {e.subjectId ? <span className="mono"> {e.subjectId}</span> : null}
                    </span>
                  )}
                </td>
                <td data-label="Details" className="mono small details-cell">
                  {detailsText(e.details)}
                </td>
              </tr>
            ))}
            {page.data && page.data.items.length === 0 ? (
              <tr>
                <td colSpan={5} className="empty">
                  No entries match.
                </td>
              </tr>
            ) : null}
          </tbody>
        </table>
      </div>
      {page.loading && !page.data ? (
        <p>
          <Spinner label="Loading the audit log" /> Loading…
        </p>
      ) : null}
      <Pager
        page={cursors.length}
        busy={page.loading}
        hasNext={Boolean(page.data?.nextCursor)}
        onBack={() => setCursors((c) => c.slice(0, -1))}
        onNext={() => setCursors((c) => [...c, page.data?.nextCursor ?? undefined])}
        labels={{ back: 'Newer', next: 'Older' }}
      />
    </>
  );
}
