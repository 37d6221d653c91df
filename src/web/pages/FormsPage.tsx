import { Link } from 'react-router';
import { LoadFailed, PageHeading, Spinner } from '../components/ui.js';
import { exportCsvHref, listForms } from '../endpoints.js';
import { useResource } from '../hooks.js';
import { useSession } from '../session.js';
import { formatDate } from '../status.js';

/** `/forms`: the organization's application forms, their public links, and (admins) the CSV export. */
export function FormsPage() {
  const session = useSession();
  const isAdmin = session.status === 'signed-in' && session.me.user.role === 'admin';
  const orgSlug = session.status === 'signed-in' ? (session.me.organization?.slug ?? null) : null;
  const forms = useResource(listForms, 'forms');

  return (
    <>
      <PageHeading>Forms</PageHeading>
      <div className="toolbar">
        {isAdmin ? (
          <Link className="button-link primary" to="/forms/new">
            New form
          </Link>
        ) : (
          <span className="muted">Only an admin can create or edit forms.</span>
        )}
      </div>
      {forms.error ? <LoadFailed what="The forms" error={forms.error} retry={forms.reload} /> : null}
      {forms.loading && !forms.data ? (
        <p>
          <Spinner label="Loading the forms" /> Loading…
        </p>
      ) : null}
      {forms.data ? (
        <div className="table-wrap">
          <table className="forms">
            <caption className="visually-hidden">Application forms</caption>
            <thead>
              <tr>
                <th scope="col">Form</th>
                <th scope="col">Public link</th>
                <th scope="col">Version</th>
                <th scope="col">Applications</th>
                <th scope="col">Updated</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {forms.data.items.map((f) => {
                const publicPath = orgSlug
                  ? f.isDefault
                    ? `/apply/${encodeURIComponent(orgSlug)}`
                    : `/apply/${encodeURIComponent(orgSlug)}/${encodeURIComponent(f.slug)}`
                  : null;
                return (
                  <tr key={f.id} data-testid="form-row" data-id={f.id}>
                    <td data-label="Form">
                      <Link to={`/forms/${encodeURIComponent(f.id)}`}>{f.title}</Link>{' '}
                      {f.isDefault ? <span className="tag">default</span> : null}
                      <div className="muted small">
                        {f.questions.length} question{f.questions.length === 1 ? '' : 's'}
                        {f.cooldownDays > 0 ? ` · re-apply after ${f.cooldownDays} days` : ''}
                      </div>
                    </td>
                    <td data-label="Public link">
                      {publicPath ? (
                        <a href={publicPath} className="mono small">
                          {publicPath}
                        </a>
                      ) : (
                        <span className="mono small">{f.slug}</span>
                      )}
                    </td>
                    <td data-label="Version">{f.version}</td>
                    <td data-label="Applications">
                      <Link to={`/applications?formId=${encodeURIComponent(f.id)}`}>
                        {f.applicationCount}
                        <span className="visually-hidden"> applications to {f.title}</span>
                      </Link>
                    </td>
                    <td data-label="Updated">
                      <time dateTime={f.updatedAt}>{formatDate(f.updatedAt)}</time>
                    </td>
                    <td data-label="Actions" className="actions">
                      <Link className="button-link" to={`/forms/${encodeURIComponent(f.id)}`}>
                        {isAdmin ? 'Edit' : 'View'}
                        <span className="visually-hidden"> {f.title}</span>
                      </Link>
                      {isAdmin ? (
                        <a className="button-link" href={exportCsvHref(f.id)} download>
                          Export CSV<span className="visually-hidden"> of {f.title}</span>
                        </a>
                      ) : null}
                    </td>
                  </tr>
                );
              })}
              {forms.data.items.length === 0 ? (
                <tr>
                  <td colSpan={6} className="empty">
                    No forms yet.
                  </td>
                </tr>
              ) : null}
            </tbody>
          </table>
        </div>
      ) : null}
    </>
  );
}
