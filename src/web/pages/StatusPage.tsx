import { useParams, useSearchParams } from 'react-router';
import { ApiError } from '../api.js';
import { Notice, PageHeading, Spinner } from '../components/ui.js';
import { getPublicStatus } from '../endpoints.js';
import { useResource } from '../hooks.js';
import { formatDate } from '../status.js';
import type { PublicStatus } from '../types.js';

export const INVALID_LINK = 'This link is not valid.';

/** The words of each state an applicant may see. */
export function statusView(s: PublicStatus): { key: string; title: string; text: string } {
  if (s.status === 'rejected') {
    return {
      key: 'rejected',
      title: 'Not accepted',
      text: 'Your application was reviewed and not accepted.',
    };
  }
  if (s.status === 'approved' && s.roleGranted) {
    return {
      key: 'role_granted',
      title: 'Approved — role granted',
      text: 'Your application was approved and you have the role in the Discord server.',
    };
  }
  if (s.status === 'approved') {
    return {
      key: 'approved',
      title: 'Approved',
      text: 'Your application was approved. The role in the Discord server is on its way.',
    };
  }
  return { key: 'received', title: 'Received', text: 'Your application was received and is waiting for review.' };
}

/** `/status/<application id>?token=`: the applicant's private view of their application. */
export function StatusPage() {
  const { applicationId = '' } = useParams();
  const [search] = useSearchParams();
  const token = search.get('token') ?? '';
  const status = useResource(
    () =>
      (token ? getPublicStatus(applicationId, token) : Promise.reject(new ApiError(404, 'not_found', ''))).catch(
        (err: unknown) => {
          // A wrong or tampered token, no such application, a malformed link: all read the same.
          if (err instanceof ApiError && (err.status === 404 || err.status === 400)) throw new Error(INVALID_LINK);
          throw err;
        },
      ),
    `${applicationId}?${token}`,
  );
  const invalid = status.error !== null && !status.data;
  const view = status.data ? statusView(status.data) : null;

  return (
    <main id="main" className="auth-page">
      <div className="card auth-card" data-testid="application-status" data-status={view?.key}>
        {status.data && view ? (
          <>
            <PageHeading>
              Your application{status.data.organization ? ` to ${status.data.organization.name}` : ''}
            </PageHeading>
            {status.data.form?.title ? <p className="muted">{status.data.form.title}</p> : null}
            <p className="status-state">
              <span
                className={`badge badge-${view.key === 'rejected' ? 'neutral' : view.key === 'received' ? 'neutral' : 'success'}`}
                data-testid="status-title"
              >
                {view.title}
              </span>
            </p>
            <p>{view.text}</p>
            {view.key === 'role_granted' && status.data.serverUrl ? (
              <p>
                <a className="button-link" href={status.data.serverUrl} rel="noopener noreferrer">
                  Open the Discord server
                </a>
              </p>
            ) : null}
            {status.data.note ? (
              <div className="review-note" data-testid="status-note">
                <h2>Note from the reviewers</h2>
                <p className="pre-line">{status.data.note}</p>
              </div>
            ) : null}
            <dl className="facts small">
              {status.data.submittedAt ? (
                <>
                  <dt>Submitted</dt>
                  <dd>
                    <time dateTime={status.data.submittedAt}>{formatDate(status.data.submittedAt)}</time>
                  </dd>
                </>
              ) : null}
              {status.data.decidedAt ? (
                <>
                  <dt>Decided</dt>
                  <dd>
                    <time dateTime={status.data.decidedAt}>{formatDate(status.data.decidedAt)}</time>
                  </dd>
                </>
              ) : null}
            </dl>
            <button type="button" className="secondary" onClick={() => void status.reload()} disabled={status.loading}>
              Refresh
            </button>
          </>
        ) : invalid ? (
          <>
            <PageHeading>Application status</PageHeading>
            <Notice
              kind="error"
              action={
                status.error === INVALID_LINK ? null : (
                  <button type="button" onClick={() => void status.reload()}>
                    Try again
                  </button>
                )
              }
            >
              {status.error}
            </Notice>
          </>
        ) : (
          <p>
            <Spinner label="Loading the status" /> Loading…
          </p>
        )}
      </div>
    </main>
  );
}
