import { useCallback, useState } from 'react';
import { StatusBadge } from '../components/StatusBadge.js';
import { LoadFailed, Notice, PageHeading, Spinner } from '../components/ui.js';
import { api, errorMessage } from '../api.js';
import {
  listApplications,
  listReconciliationRuns,
  retryRole,
  useAwaitedRetries,
  useRefreshInFlight,
  useResource,
  useWebConfig,
  type Resource,
} from '../hooks.js';
import { canRetry, formatDate, isInFlight, MAX_MANUAL_RETRIES } from '../status.js';
import type { Application, ReconciliationRun } from '../types.js';

/** Pending this long counts as stuck. */
const STUCK_AFTER_SECONDS = 300;

export function workflowUrl(temporalUiUrl: string, applicationId: string): string {
  return `${temporalUiUrl}/namespaces/default/workflows/application-role:${encodeURIComponent(applicationId)}`;
}

/** A reconciliation run's history in the Temporal Web UI. */
export function reconciliationRunUrl(temporalUiUrl: string, run: Pick<ReconciliationRun, 'workflowId' | 'runId'>) {
  return `${temporalUiUrl}/namespaces/default/workflows/${encodeURIComponent(run.workflowId)}/${run.runId}/history`;
}

export function failedListUrl(temporalUiUrl: string): string {
  return `${temporalUiUrl}/namespaces/default/workflows?query=${encodeURIComponent('RoleAssignmentState="failed"')}`;
}

async function loadProblems(): Promise<Application[]> {
  const [stuck, failed] = await Promise.all([
    api<{ items: Application[] }>(`/api/ops/stuck-assignments?olderThanSeconds=${STUCK_AFTER_SECONDS}`),
    listApplications({ status: 'approved_role_failed', limit: 200 }),
  ]);
  const byId = new Map<string, Application>();
  for (const app of [...failed.items, ...stuck.items]) byId.set(app.id, app);
  return [...byId.values()].sort((a, b) => (b.updatedAt < a.updatedAt ? -1 : 1));
}

/** Operations (admins): stuck and failed role assignments, each with its error, a retry and a Temporal link. */
export function OpsPage() {
  const config = useWebConfig();
  const problems = useResource(loadProblems, 'ops');
  const [busy, setBusy] = useState<Record<string, boolean>>({});
  const [errors, setErrors] = useState<Record<string, string>>({});
  const rows = problems.data ?? [];

  const { set } = problems;
  const replace = useCallback(
    (updated: Application) => set((current) => current?.map((a) => (a.id === updated.id ? updated : a)) ?? current),
    [set],
  );
  const { isAwaited, awaitRetry } = useAwaitedRetries();
  useRefreshInFlight(rows, (a) => isInFlight(a) || isAwaited(a), replace);

  const retry = async (app: Application) => {
    setBusy((b) => ({ ...b, [app.id]: true }));
    setErrors(({ [app.id]: _, ...rest }) => rest);
    try {
      const accepted = await retryRole(app.id);
      awaitRetry(accepted);
      replace(accepted);
    } catch (err) {
      setErrors((e) => ({ ...e, [app.id]: errorMessage(err) }));
    } finally {
      setBusy(({ [app.id]: _, ...rest }) => rest);
    }
  };

  const ui = config?.temporalUiUrl ?? null;
  const runs = useResource(() => listReconciliationRuns(20), 'reconciliation-runs');
  const refresh = () => {
    void problems.reload();
    void runs.reload();
  };
  return (
    <>
      <PageHeading>Operations</PageHeading>
      <p className="muted">
        Role assignments that failed, or that have been assigning for more than {STUCK_AFTER_SECONDS / 60} minutes.
      </p>
      <div className="toolbar">
        <button type="button" className="secondary" onClick={refresh} disabled={problems.loading}>
          Refresh
        </button>
        {ui ? (
          <a className="button-link" href={failedListUrl(ui)} target="_blank" rel="noreferrer">
            All failed assignments in the Temporal Web UI
          </a>
        ) : (
          <span className="muted">Set TEMPORAL_UI_URL to link to the Temporal Web UI.</span>
        )}
      </div>
      {problems.error ? <LoadFailed what="The assignments" error={problems.error} retry={problems.reload} /> : null}
      {problems.loading && !problems.data ? (
        <p>
          <Spinner label="Loading assignments" /> Loading…
        </p>
      ) : null}
      {problems.data && rows.length === 0 ? <Notice kind="success">No stuck or failed assignments.</Notice> : null}
      {rows.length > 0 ? (
        <div className="table-wrap">
          <table>
            <caption className="visually-hidden">Stuck and failed role assignments</caption>
            <thead>
              <tr>
                <th scope="col">Applicant</th>
                <th scope="col">Status</th>
                <th scope="col">Error</th>
                <th scope="col">Last attempt</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((app) => (
                <tr key={app.id} data-testid="ops-row" data-id={app.id}>
                  <td data-label="Applicant">
                    <div className="applicant-name">{app.applicant.name}</div>
                    <div className="muted small">{app.applicant.email}</div>
                  </td>
                  <td data-label="Status">
                    <StatusBadge app={app} />
                  </td>
                  <td data-label="Error" className="error-text">
                    {app.roleAssignment.error ?? '—'}
                    {errors[app.id] ? (
                      <div className="field-error" role="alert">
                        {errors[app.id]}
                      </div>
                    ) : null}
                  </td>
                  <td data-label="Last attempt">
                    {app.roleAssignment.attemptedAt ? formatDate(app.roleAssignment.attemptedAt) : '—'}
                  </td>
                  <td data-label="Actions" className="actions">
                    {canRetry(app) ? (
                      <button type="button" onClick={() => void retry(app)} disabled={busy[app.id]}>
                        {busy[app.id] ? <Spinner /> : null}
                        {`Retry (${app.roleAssignment.retryCount}/${MAX_MANUAL_RETRIES})`}
                        <span className="visually-hidden">
                          {`: ${app.status === 'Rejected' ? 'remove the role from' : 'assign the role to'} ${app.applicant.name} again`}
                        </span>
                      </button>
                    ) : null}
                    {ui ? (
                      <a href={workflowUrl(ui, app.id)} target="_blank" rel="noreferrer">
                        Open in Temporal<span className="visually-hidden"> (workflow of {app.applicant.name})</span>
                      </a>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <ReconciliationRuns runs={runs} temporalUiUrl={ui} />
    </>
  );
}

const TRIGGERS: Record<ReconciliationRun['trigger'], string> = {
  schedule: 'Scheduled',
  check: 'Check now',
  reapply: 'Re-apply',
};

/** The latest reconciliations: what each compared, found and repaired, each with its Temporal link. */
function ReconciliationRuns({
  runs,
  temporalUiUrl,
}: {
  runs: Resource<{ items: ReconciliationRun[] }>;
  temporalUiUrl: string | null;
}) {
  const items = runs.data?.items ?? [];
  return (
    <section aria-labelledby="runs-heading" className="runs">
      <h2 id="runs-heading">Reconciliation runs</h2>
      <p className="muted">
        Each compares the members' roles in Discord with the decisions and checks the bot's access: scheduled, on “Check
        now”, or on “Re-apply to approved members”.
      </p>
      {runs.error ? <LoadFailed what="The reconciliation runs" error={runs.error} retry={runs.reload} /> : null}
      {runs.loading && !runs.data ? (
        <p>
          <Spinner label="Loading reconciliation runs" /> Loading…
        </p>
      ) : null}
      {runs.data && items.length === 0 ? <p className="muted">No reconciliation has run yet.</p> : null}
      {items.length > 0 ? (
        <div className="table-wrap">
          <table>
            <caption className="visually-hidden">Reconciliation runs, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Started</th>
                <th scope="col">Trigger</th>
                <th scope="col">Members checked</th>
                <th scope="col">Drift found</th>
                <th scope="col">Repaired</th>
                <th scope="col">Reported</th>
                <th scope="col">Left</th>
                <th scope="col">Findings</th>
                <th scope="col">Workflow</th>
              </tr>
            </thead>
            <tbody>
              {items.map((run) => (
                <tr key={run.id} data-testid="reconciliation-run" data-id={run.id}>
                  <td data-label="Started">
                    <time dateTime={run.startedAt}>{formatDate(run.startedAt)}</time>
                    {run.finishedAt ? null : (
                      <div className="muted small">
                        <Spinner /> running
                      </div>
                    )}
                  </td>
                  <td data-label="Trigger">{TRIGGERS[run.trigger] ?? run.trigger}</td>
                  <td data-label="Members checked">{run.membersChecked}</td>
                  <td data-label="Drift found">{run.driftFound}</td>
                  <td data-label="Repaired">
                    {run.repaired}
                    {run.failed > 0 ? <div className="error-text small">{run.failed} failed</div> : null}
                  </td>
                  <td data-label="Reported">{run.reported}</td>
                  <td data-label="Left">{run.membersLeft}</td>
                  <td data-label="Findings" className="error-text">
                    {run.error ? <div>{run.error}</div> : null}
                    {run.findings.length > 0 ? (
                      <ul className="findings">
                        {run.findings.map((f, i) => (
                          <li key={`${f.kind}-${i}`}>{f.message}</li>
                        ))}
                      </ul>
                    ) : run.error ? null : (
                      <span className="muted">{run.finishedAt ? 'None' : '—'}</span>
                    )}
                  </td>
                  <td data-label="Workflow">
                    {temporalUiUrl ? (
                      <a href={reconciliationRunUrl(temporalUiUrl, run)} target="_blank" rel="noreferrer">
                        Open in Temporal
                        <span className="visually-hidden"> (reconciliation of {formatDate(run.startedAt)})</span>
                      </a>
                    ) : (
                      <span className="mono small">{run.workflowId}</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}
