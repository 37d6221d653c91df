import { useCallback, useId, useRef, useState, type FormEvent } from 'react';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router';
import { errorMessage } from '../api.js';
import { DiscordIdentity } from '../components/DiscordIdentity.js';
import { ReadinessBadge } from '../components/ReadinessBadge.js';
import { StatusBadge } from '../components/StatusBadge.js';
import { LoadFailed, Notice, PageHeading, Spinner } from '../components/ui.js';
import { getForm, getReviewedApplication, getTimeline } from '../endpoints.js';
import { formatAnswer } from '../forms/answers.js';
import {
  listApplications,
  retryRole,
  reviewApplication,
  ROW_POLL_MS,
  useAwaitedRetries,
  useInterval,
  useResource,
  type ReviewDecision,
} from '../hooks.js';
import { useShortcuts } from '../keyboard.js';
import { actionsFor, formatDate, isInFlight, MAX_MANUAL_RETRIES } from '../status.js';
import type { Question, ReviewedApplication } from '../types.js';

/** The list's filters travel with the detail: they make its queue (`j`/`k`). */
export function queueQuery(search: URLSearchParams): string {
  const params = new URLSearchParams();
  for (const key of ['status', 'formId']) {
    const value = search.get(key);
    if (value) params.set(key, value);
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** The application before and after `id` in the queue, if any. */
export function neighbours(ids: string[], id: string): { previous: string | null; next: string | null } {
  const i = ids.indexOf(id);
  if (i < 0) return { previous: null, next: ids[0] ?? null };
  return { previous: ids[i - 1] ?? null, next: ids[i + 1] ?? null };
}

/**
 * `/applications/:id`: everything a reviewer decides on (who, their verified Discord account, the
 * answers under the questions of the version they answered, the history) and the decision with a
 * note. Keys: `a`/`r` choose approve/reject and go to the note, Ctrl+Enter sends, `j`/`k` next and
 * previous application of the queue.
 */
export function ApplicationDetailPage() {
  const { id = '' } = useParams();
  const [search] = useSearchParams();
  const navigate = useNavigate();
  const queue = queueQuery(search);
  const app = useResource(() => getReviewedApplication(id), id);
  const list = useResource(() => {
    const params = new URLSearchParams(queue.slice(1));
    return listApplications({
      status: params.get('status') ?? undefined,
      formId: params.get('formId') ?? undefined,
      limit: 200,
    });
  }, queue);
  const ids = list.data?.items.map((a) => a.id) ?? [];
  const { previous, next } = neighbours(ids, id);
  const go = useCallback(
    (target: string | null) => {
      if (target) void navigate(`/applications/${encodeURIComponent(target)}${queue}`);
    },
    [navigate, queue],
  );

  return (
    <>
      <nav className="breadcrumbs detail-nav" aria-label="Queue">
        <Link to={`/applications${queue}`}>← Applications</Link>
        <span className="queue-links">
          {previous ? (
            <Link to={`/applications/${encodeURIComponent(previous)}${queue}`} rel="prev">
              ← Previous
            </Link>
          ) : null}
          {next ? (
            <Link to={`/applications/${encodeURIComponent(next)}${queue}`} rel="next">
              Next →
            </Link>
          ) : null}
        </span>
      </nav>
      {app.data && app.data.id === id ? (
        <ApplicationDetail
          key={app.data.id}
          app={app.data}
          replace={(a) => app.set(a)}
          reload={app.reload}
          onNext={() => go(next)}
          onPrevious={() => go(previous)}
        />
      ) : app.error ? (
        <>
          <PageHeading>Application</PageHeading>
          <LoadFailed what="The application" error={app.error} retry={app.reload} />
        </>
      ) : (
        <p>
          <Spinner label="Loading the application" /> Loading…
        </p>
      )}
    </>
  );
}

function Answers({ app }: { app: ReviewedApplication }) {
  const form = useResource(
    () => (app.formId ? getForm(app.formId, app.formVersion) : Promise.resolve(null)),
    `${app.formId ?? ''}@${app.formVersion ?? ''}`,
  );
  const answers = app.answers ?? {};
  if (!app.formId) {
    return <p className="muted">This application was made before forms had questions: there are no answers.</p>;
  }
  if (form.error) return <Notice kind="error">The form's questions could not be loaded: {form.error}</Notice>;
  if (!form.data) {
    return (
      <p>
        <Spinner label="Loading the questions" /> Loading…
      </p>
    );
  }
  const questions: Question[] = form.data.questions;
  const asked = new Set(questions.map((q) => q.id));
  const extra = Object.keys(answers).filter((k) => !asked.has(k));
  if (questions.length === 0 && extra.length === 0) {
    return (
      <p className="muted" data-testid="answered-form">
        {form.data.title}, version {app.formVersion ?? form.data.version}: it asked no questions beyond the name and
        email.
      </p>
    );
  }
  return (
    <>
      <p className="muted small" data-testid="answered-form">
        {form.data.title}, version {app.formVersion ?? form.data.version}
      </p>
      <dl className="answers" data-testid="answers">
        {questions.map((q) => (
          <div key={q.id} className="answer" data-question={q.id}>
            <dt>{q.label}</dt>
            <dd className="pre-line">
              {q.type === 'url' && typeof answers[q.id] === 'string' && /^https?:\/\//i.test(String(answers[q.id])) ? (
                <a href={String(answers[q.id])} rel="noopener noreferrer nofollow" target="_blank">
                  {String(answers[q.id])}
                </a>
              ) : (
                formatAnswer(q, answers[q.id])
              )}
            </dd>
          </div>
        ))}
        {extra.map((key) => (
          <div key={key} className="answer">
            <dt className="mono">{key}</dt>
            <dd className="pre-line">{formatAnswer(undefined, answers[key])}</dd>
          </div>
        ))}
      </dl>
    </>
  );
}

function Timeline({ app }: { app: ReviewedApplication }) {
  // Read again whenever the application changes (a decision, a grant's outcome, a retry).
  const timeline = useResource(
    () => getTimeline(app.id),
    `${app.id}|${app.status}|${app.roleAssignment.status}|${app.roleAssignment.retryCount}|${app.updatedAt}`,
  );
  if (timeline.error) return <Notice kind="error">The history could not be loaded: {timeline.error}</Notice>;
  if (!timeline.data) {
    return (
      <p>
        <Spinner label="Loading the history" /> Loading…
      </p>
    );
  }
  return (
    <ol className="timeline" data-testid="timeline">
      {timeline.data.items.map((item, i) => (
        <li key={`${item.at}:${i}`} data-action={item.action}>
          <time dateTime={item.at} className="muted small">
            {formatDate(item.at)}
          </time>
          <div>
            {item.detail}
            {item.actor ? <span className="muted small"> — {item.actor.email}</span> : null}
          </div>
        </li>
      ))}
      {timeline.data.items.length === 0 ? <li className="muted">Nothing recorded yet.</li> : null}
    </ol>
  );
}

function ApplicationDetail({
  app,
  replace,
  reload,
  onNext,
  onPrevious,
}: {
  app: ReviewedApplication;
  replace: (app: ReviewedApplication) => void;
  reload: () => Promise<void>;
  onNext: () => void;
  onPrevious: () => void;
}) {
  const actions = actionsFor(app);
  const canApprove = actions.includes('approve');
  const canReject = actions.includes('reject') || actions.includes('revoke_approval');
  const [decision, setDecision] = useState<ReviewDecision | null>(null);
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState<'review' | 'retry' | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [result, setResult] = useState<string | null>(null);
  const noteRef = useRef<HTMLTextAreaElement>(null);
  const id = useId();
  const { isAwaited, awaitRetry } = useAwaitedRetries();
  useInterval(() => void reload(), ROW_POLL_MS, isInFlight(app) || isAwaited(app));

  const choose = (d: ReviewDecision) => {
    if ((d === 'approve' && !canApprove) || (d === 'reject' && !canReject)) return;
    setDecision(d);
    noteRef.current?.focus();
  };

  const send = async (event?: FormEvent) => {
    event?.preventDefault();
    if (!decision || busy) return;
    setBusy('review');
    setError(null);
    setResult(null);
    try {
      const updated = await reviewApplication(app.id, decision, note);
      replace({ ...app, ...updated });
      setResult(decision === 'approve' ? 'Approved.' : 'Rejected.');
      setDecision(null);
      setNote('');
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(null);
    }
  };

  const retry = async () => {
    setBusy('retry');
    setError(null);
    try {
      const accepted = await retryRole(app.id);
      awaitRetry(accepted);
      replace({ ...app, ...accepted });
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(null);
    }
  };

  useShortcuts({
    a: () => choose('approve'),
    r: () => choose('reject'),
    j: onNext,
    k: onPrevious,
    'Mod+Enter': () => void send(),
  });

  const decidable = canApprove || canReject;
  return (
    <>
      <PageHeading>{app.applicant.name}</PageHeading>
      <div className="detail-grid">
        <section className="card" aria-labelledby={`${id}-who`}>
          <h2 id={`${id}-who`}>Applicant</h2>
          <dl className="facts">
            <dt>Email</dt>
            <dd>{app.applicant.email}</dd>
            <dt>Submitted</dt>
            <dd>
              <time dateTime={app.createdAt}>{formatDate(app.createdAt)}</time>
            </dd>
            <dt>Status</dt>
            <dd>
              <StatusBadge app={app} />
              {app.status === 'Pending' && app.readiness ? <ReadinessBadge readiness={app.readiness} /> : null}
            </dd>
            <dt>Discord</dt>
            <dd>
              {app.discordUser ? (
                <DiscordIdentity user={app.discordUser} />
              ) : (
                <span className="muted">No Discord account</span>
              )}
            </dd>
            {app.notes ? (
              <>
                <dt>Review note</dt>
                <dd className="pre-line" data-testid="review-note">
                  {app.notes}
                </dd>
              </>
            ) : null}
          </dl>
        </section>

        <section className="card" aria-labelledby={`${id}-decision`}>
          <h2 id={`${id}-decision`}>Decision</h2>
          {result ? <Notice kind="success">{result}</Notice> : null}
          {error ? <Notice kind="error">{error}</Notice> : null}
          {decidable ? (
            <form onSubmit={(e) => void send(e)} className="decision-form">
              <fieldset className="choices inline-choices">
                <legend className="visually-hidden">Decision</legend>
                {canApprove ? (
                  <label className="checkbox">
                    <input
                      type="radio"
                      name="decision"
                      value="approve"
                      checked={decision === 'approve'}
                      onChange={() => setDecision('approve')}
                    />
                    <span>Approve</span>
                  </label>
                ) : null}
                {canReject ? (
                  <label className="checkbox">
                    <input
                      type="radio"
                      name="decision"
                      value="reject"
                      checked={decision === 'reject'}
                      onChange={() => setDecision('reject')}
                    />
                    <span>{canApprove ? 'Reject' : 'Revoke the approval (reject)'}</span>
                  </label>
                ) : null}
              </fieldset>
              <div className="field">
                <label htmlFor={`${id}-note`}>Note (optional)</label>
                <textarea
                  id={`${id}-note`}
                  ref={noteRef}
                  rows={3}
                  maxLength={2000}
                  value={note}
                  onChange={(e) => setNote(e.target.value)}
                  aria-describedby={`${id}-note-hint`}
                />
                <div className="hint" id={`${id}-note-hint`}>
                  Kept with the decision. The applicant sees it only when the form shares notes.
                </div>
              </div>
              <button type="submit" disabled={!decision || busy !== null}>
                {busy === 'review' ? <Spinner /> : null}
                {decision === 'approve' ? 'Approve' : decision === 'reject' ? 'Reject' : 'Choose a decision'}
              </button>
            </form>
          ) : (
            <p className="muted">No decision to make: {app.status === 'Rejected' ? 'rejected' : 'approved'}.</p>
          )}
          {actions.includes('retry') ? (
            <p>
              <button type="button" onClick={() => void retry()} disabled={busy !== null}>
                {busy === 'retry' ? <Spinner /> : null}
                Retry the role ({app.roleAssignment.retryCount}/{MAX_MANUAL_RETRIES})
              </button>
            </p>
          ) : null}
          <p className="shortcut-hint small muted" data-testid="shortcut-hint">
            Keys: <kbd>a</kbd> approve, <kbd>r</kbd> reject (then type a note), <kbd>Ctrl</kbd>+<kbd>Enter</kbd> send,{' '}
            <kbd>j</kbd> next, <kbd>k</kbd> previous.
          </p>
        </section>

        <section className="card wide" aria-labelledby={`${id}-answers`}>
          <h2 id={`${id}-answers`}>Answers</h2>
          <Answers app={app} />
        </section>

        <section className="card wide" aria-labelledby={`${id}-history`}>
          <h2 id={`${id}-history`}>History</h2>
          <Timeline app={app} />
        </section>
      </div>
    </>
  );
}
