import { useEffect, useState } from 'react';
import { useSearchParams } from 'react-router';
import { api, errorMessage } from '../api.js';
import { LoadFailed, Notice, PageHeading, Spinner } from '../components/ui.js';
import { useDiscordConnection, useResource, type Resource } from '../hooks.js';
import { callbackNotice } from '../messages.js';
import { useSession } from '../session.js';
import { formatDate } from '../status.js';
import type {
  ConnectionCheck,
  DiscordConnection,
  DriftRepairMode,
  GuildRoleItem,
  GuildRolesView,
  OrganizationSettings,
} from '../types.js';

/** Roles approval adds (1 to 5) and removes (up to 10): the API's limits (src/discord/guild-roles.ts). */
export const MAX_ADD_ROLES = 5;
export const MAX_REMOVE_ROLES = 10;

/** Settings: the organization's Discord connection, live. Admins act on it; reviewers only see it. */
export function SettingsPage() {
  const session = useSession();
  const isAdmin = session.status === 'signed-in' && session.me.user.role === 'admin';
  const [search, setSearch] = useSearchParams();
  // The callback's answer is read once, then dropped from the address so a reload does not repeat it.
  const [notice] = useState(() => callbackNotice(search));
  useEffect(() => {
    if (search.has('success') || search.has('status') || search.has('error')) setSearch({}, { replace: true });
  }, [search, setSearch]);

  const connection = useDiscordConnection();
  const [busy, setBusy] = useState<'connect' | 'disconnect' | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const state = connection.data?.state;

  const connect = () => {
    setBusy('connect');
    // A full navigation: the API answers with a redirect to Discord's authorize page.
    window.location.assign('/api/discord/connect');
  };
  /** Runs an admin's action on the connection, then shows the connection as it now is. */
  const run = async (action: 'disconnect', request: () => Promise<unknown>) => {
    setBusy(action);
    setActionError(null);
    try {
      await request();
      await connection.reload();
    } catch (err) {
      setActionError(errorMessage(err));
    } finally {
      setBusy(null);
    }
  };
  const disconnect = () => run('disconnect', () => api('/api/discord/connection', { method: 'DELETE' }));

  return (
    <>
      <PageHeading>Settings</PageHeading>
      {notice && !(notice.kind === 'info' && state && state !== 'connecting') ? (
        <Notice kind={notice.kind}>{notice.message}</Notice>
      ) : null}
      <section className="card" aria-labelledby="discord-heading">
        <h2 id="discord-heading">Discord connection</h2>
        <p className="muted">
          Approved applicants get the organization's roles (“Approved” unless an admin chose others) in the connected
          Discord server.
        </p>
        {connection.error && !connection.data ? (
          <LoadFailed what="The connection state" error={connection.error} retry={connection.reload} />
        ) : null}
        {!connection.data && !connection.error ? (
          <p>
            <Spinner label="Loading the connection" /> Loading…
          </p>
        ) : null}
        {actionError ? <Notice kind="error">{actionError}</Notice> : null}
        <div className="connection" data-testid="discord-connection" data-state={state ?? 'loading'}>
          {state === 'disconnected' ? (
            <>
              <p>No Discord server is connected.</p>
              {isAdmin ? (
                <button type="button" onClick={connect} disabled={busy !== null}>
                  {busy === 'connect' ? <Spinner /> : null}
                  Connect Discord Bot
                </button>
              ) : null}
            </>
          ) : null}
          {state === 'connecting' ? (
            <p role="status" className="connecting">
              <Spinner /> Connecting… The bot is being set up in your Discord server.
            </p>
          ) : null}
          {state === 'connected' && connection.data ? (
            <>
              <p className="connected">
                Connected to <strong>{connection.data.guild?.name ?? connection.data.guild?.id}</strong> —{' '}
                {grantedRoles(connection.data)}
              </p>
              {isAdmin ? (
                <button type="button" className="danger" onClick={() => void disconnect()} disabled={busy !== null}>
                  {busy === 'disconnect' ? <Spinner /> : null}
                  Disconnect
                </button>
              ) : null}
            </>
          ) : null}
          {state === 'error' && connection.data ? (
            <>
              <Notice kind="error">
                {connection.data.canCheckAgain
                  ? (connection.data.error ?? 'Grants are paused.')
                  : `The Discord connection failed: ${connection.data.error ?? 'no reason was recorded.'}`}
              </Notice>
              {isAdmin ? (
                <div className="actions">
                  {/* Paused: "Check now" is in the health panel below. */}
                  <button
                    type="button"
                    className={connection.data.canCheckAgain ? 'secondary' : undefined}
                    onClick={connect}
                    disabled={busy !== null}
                  >
                    {busy === 'connect' ? <Spinner /> : null}
                    {connection.data.canCheckAgain ? 'Connect again' : 'Retry connection'}
                  </button>
                </div>
              ) : null}
            </>
          ) : null}
          {!isAdmin && state ? <p className="muted">Only an organization admin can change the connection.</p> : null}
        </div>
      </section>
      {/* Connected, or paused (the findings say what to fix, perhaps the roles). */}
      {connection.data && (state === 'connected' || (state === 'error' && connection.data.canCheckAgain)) ? (
        <>
          {isAdmin ? (
            <RoleSettings key={state} connection={connection.data} onSaved={(saved) => connection.set(saved)} />
          ) : null}
          <BotHealthPanel connection={connection} isAdmin={isAdmin} />
        </>
      ) : null}
      {isAdmin ? <ApplicantSettings /> : null}
    </>
  );
}

const roleLabel = (role: { id: string; name: string | null }) => role.name ?? role.id;

/** "role Approved", or "roles Approved, Member": what approval adds. */
function grantedRoles(connection: DiscordConnection) {
  const roles = connection.addRoles?.length ? connection.addRoles : connection.role ? [connection.role] : [];
  return (
    <>
      {roles.length === 1 ? 'role ' : 'roles '}
      {roles.map((role, i) => (
        <span key={role.id}>
          {i > 0 ? ', ' : null}
          <strong>{roleLabel(role)}</strong>
        </span>
      ))}
    </>
  );
}

/**
 * The roles approval adds and removes (admins): the server's roles as Discord shows them now, those
 * the bot cannot use greyed out with the reason, Save, and a re-apply to the members approved so far.
 */
function RoleSettings({
  connection,
  onSaved,
}: {
  connection: DiscordConnection;
  onSaved: (saved: DiscordConnection) => void;
}) {
  // Paused, Discord may not answer (the bot removed, say): the picker loads when asked.
  const [open, setOpen] = useState(connection.state === 'connected');
  const current = (refs: DiscordConnection['addRoles']) =>
    refs && refs.length > 0 ? refs.map(roleLabel).join(', ') : 'none';
  return (
    <section className="card" aria-labelledby="roles-heading" data-testid="role-settings">
      <h2 id="roles-heading">Roles</h2>
      <p className="muted">
        Approval adds {current(connection.addRoles)} and removes {current(connection.removeRoles)}. Choose 1 to{' '}
        {MAX_ADD_ROLES} roles to add and up to {MAX_REMOVE_ROLES} to remove (a “Pending” or “Unverified” role, say).
        Changing the roles applies to new grants; “Re-apply to approved members” brings the members approved so far in
        line.
      </p>
      {open ? (
        <RolePicker connection={connection} onSaved={onSaved} />
      ) : (
        <button type="button" className="secondary" onClick={() => setOpen(true)}>
          Choose the roles
        </button>
      )}
    </section>
  );
}

/** The picker: the server's roles now, each with its two checkboxes (or the reason it cannot be used). */
function RolePicker({
  connection,
  onSaved,
}: {
  connection: DiscordConnection;
  onSaved: (saved: DiscordConnection) => void;
}) {
  const roles = useResource(() => api<GuildRolesView>('/api/discord/roles'), `roles:${connection.guild?.id ?? ''}`);
  const [add, setAdd] = useState<Set<string>>(new Set());
  const [remove, setRemove] = useState<Set<string>>(new Set());
  const [saving, setSaving] = useState(false);
  const [result, setResult] = useState<{ kind: 'error' | 'success'; message: string } | null>(null);
  const [reapplying, setReapplying] = useState(false);
  const [reapply, setReapply] = useState<{ kind: 'error' | 'success'; message: string } | null>(null);
  // The stored choice, whenever the roles are (re)loaded.
  useEffect(() => {
    if (!roles.data) return;
    setAdd(new Set(roles.data.addRoleIds));
    setRemove(new Set(roles.data.removeRoleIds));
  }, [roles.data]);

  const stored = roles.data;
  const changed = stored !== null && (!sameIds(add, stored.addRoleIds) || !sameIds(remove, stored.removeRoleIds));
  const addCount = add.size;

  const toggle = (role: GuildRoleItem, use: 'add' | 'remove', on: boolean) => {
    setResult(null);
    const [mine, setMine, other, setOther] =
      use === 'add' ? [add, setAdd, remove, setRemove] : [remove, setRemove, add, setAdd];
    const next = new Set(mine);
    if (on) next.add(role.id);
    else next.delete(role.id);
    setMine(next);
    // A role is added or removed, never both.
    if (on && other.has(role.id)) {
      const rest = new Set(other);
      rest.delete(role.id);
      setOther(rest);
    }
  };

  const save = async () => {
    if (!stored) return;
    setSaving(true);
    setResult(null);
    // In the server's order (highest first), as the picker shows them.
    const order = stored.items.map((r) => r.id);
    const inOrder = (ids: Set<string>) => [...ids].sort((a, b) => order.indexOf(a) - order.indexOf(b));
    try {
      const saved = await api<DiscordConnection>('/api/discord/role-settings', {
        method: 'PUT',
        body: { addRoleIds: inOrder(add), removeRoleIds: inOrder(remove) },
      });
      onSaved(saved);
      roles.set({ ...stored, addRoleIds: inOrder(add), removeRoleIds: inOrder(remove) });
      setResult({ kind: 'success', message: 'Saved. The new roles apply to new grants.' });
    } catch (err) {
      setResult({ kind: 'error', message: errorMessage(err) });
    } finally {
      setSaving(false);
    }
  };

  const reapplyToMembers = async () => {
    setReapplying(true);
    setReapply(null);
    try {
      await api<{ workflowId: string; runId: string }>('/api/discord/role-settings/reapply', { method: 'POST' });
      setReapply({
        kind: 'success',
        message:
          'Re-applying the roles to the approved members in the background. Operations → Reconciliation runs shows its progress.',
      });
    } catch (err) {
      setReapply({ kind: 'error', message: errorMessage(err) });
    } finally {
      setReapplying(false);
    }
  };

  return (
    <>
      {roles.error ? <LoadFailed what="The server's roles" error={roles.error} retry={roles.reload} /> : null}
      {!roles.data && !roles.error ? (
        <p>
          <Spinner label="Loading the server's roles" /> Loading the server's roles…
        </p>
      ) : null}
      {roles.data ? (
        <>
          <div className="table-wrap">
            <table className="roles">
              <caption className="visually-hidden">The Discord server's roles</caption>
              <thead>
                <tr>
                  <th scope="col">Role</th>
                  <th scope="col">Add on approval</th>
                  <th scope="col">Remove on approval</th>
                  <th scope="col">Notes</th>
                </tr>
              </thead>
              <tbody>
                {roles.data.items.map((role) => {
                  const adding = add.has(role.id);
                  const removing = remove.has(role.id);
                  // A role chosen before it became unusable can still be unticked.
                  const canAdd = (role.manageable && (adding || addCount < MAX_ADD_ROLES)) || adding;
                  const canRemove = (role.removable && (removing || remove.size < MAX_REMOVE_ROLES)) || removing;
                  const notes = [role.reason, role.removeReason].filter(
                    (n, i, all): n is string => n !== null && all.indexOf(n) === i,
                  );
                  return (
                    <tr
                      key={role.id}
                      data-testid="role-row"
                      data-role-id={role.id}
                      className={role.manageable || role.removable ? undefined : 'unusable'}
                    >
                      <td data-label="Role">
                        <span className="role-name">{role.name}</span>
                      </td>
                      <td data-label="Add on approval">
                        <input
                          type="checkbox"
                          aria-label={`Add ${role.name} on approval`}
                          checked={adding}
                          disabled={saving || !canAdd}
                          title={role.reason ?? undefined}
                          onChange={(e) => toggle(role, 'add', e.target.checked)}
                        />
                      </td>
                      <td data-label="Remove on approval">
                        <input
                          type="checkbox"
                          aria-label={`Remove ${role.name} on approval`}
                          checked={removing}
                          disabled={saving || !canRemove}
                          title={role.removeReason ?? undefined}
                          onChange={(e) => toggle(role, 'remove', e.target.checked)}
                        />
                      </td>
                      <td data-label="Notes" className="muted small" data-testid="role-reason">
                        {notes.length > 0 ? notes.join(' ') : null}
                        {!role.manageable && role.removable && notes.length > 0 ? ' It can still be removed.' : null}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          {result ? (
            <Notice kind={result.kind}>
              <span data-testid="role-settings-result">{result.message}</span>
            </Notice>
          ) : null}
          <div className="actions role-actions">
            <button type="button" onClick={() => void save()} disabled={saving || !changed || addCount < 1}>
              {saving ? <Spinner /> : null}
              Save roles
            </button>
            <button
              type="button"
              className="secondary"
              onClick={() => void roles.reload()}
              disabled={saving || roles.loading}
            >
              Reload roles
            </button>
            <button
              type="button"
              className="secondary"
              onClick={() => void reapplyToMembers()}
              disabled={reapplying || changed || connection.state !== 'connected'}
              title={changed ? 'Save the roles first.' : undefined}
            >
              {reapplying ? <Spinner /> : null}
              Re-apply to approved members
            </button>
            {addCount < 1 ? <span className="field-error">Choose at least one role to add.</span> : null}
          </div>
          {reapply ? (
            <Notice kind={reapply.kind}>
              <span data-testid="reapply-result">{reapply.message}</span>
            </Notice>
          ) : null}
        </>
      ) : null}
    </>
  );
}

const sameIds = (chosen: Set<string>, stored: string[]) =>
  chosen.size === stored.length && stored.every((id) => chosen.has(id));

/**
 * What "Check now" answered, for people, when the health panel does not say it already: grants
 * resumed, a problem found (when the check could not record one), or still running.
 */
function checkOutcome(
  check: ConnectionCheck,
  wasPaused: boolean,
): { kind: 'error' | 'success' | 'info'; message: string } | null {
  switch (check.outcome) {
    case 'connected':
      return wasPaused ? { kind: 'success', message: 'The bot can grant again: grants resumed.' } : null;
    case 'already_connected':
      return null;
    case 'failed':
      return { kind: 'error', message: check.message ?? 'The check found a problem.' };
    case 'still_running':
      return { kind: 'info', message: 'The check is still running: its result shows here in a moment.' };
    case 'in_progress':
      return { kind: 'info', message: 'Another check or connection attempt is running: try again in a moment.' };
  }
}

/** The bot's health as the last check saw it: findings (each with its fix) and drift repaired; "Check now" (admins). */
function BotHealthPanel({ connection, isAdmin }: { connection: Resource<DiscordConnection>; isAdmin: boolean }) {
  const [checking, setChecking] = useState(false);
  const [outcome, setOutcome] = useState<{ kind: 'error' | 'success' | 'info'; message: string } | null>(null);
  const health = connection.data?.health ?? null;

  const checkNow = async () => {
    setChecking(true);
    setOutcome(null);
    try {
      const wasPaused = connection.data?.state === 'error';
      const check = await api<ConnectionCheck>('/api/discord/connection/check', { method: 'POST' });
      setOutcome(checkOutcome(check, wasPaused));
      await connection.reload();
    } catch (err) {
      setOutcome({ kind: 'error', message: errorMessage(err) });
    } finally {
      setChecking(false);
    }
  };

  return (
    <section className="card" aria-labelledby="health-heading" data-testid="bot-health">
      <h2 id="health-heading">Health</h2>
      <p className="muted">
        The bot's access and the members' roles are checked on a schedule: a problem pauses grants until it is fixed,
        and roles that drifted from the decisions are put right (or reported).
      </p>
      {health ? (
        <>
          <p data-testid="health-checked-at">
            Last checked <time dateTime={health.checkedAt}>{formatDate(health.checkedAt)}</time>
          </p>
          {health.findings.length === 0 ? (
            <Notice kind="success">
              <span data-testid="health-findings">No problems found.</span>
            </Notice>
          ) : (
            <Notice kind="error">
              <ul data-testid="health-findings" aria-label="Problems found">
                {health.findings.map((f, i) => (
                  <li key={`${f.kind}-${i}`} data-kind={f.kind}>
                    {f.message}
                  </li>
                ))}
              </ul>
            </Notice>
          )}
          <p data-testid="health-repaired">
            {health.repaired === 0
              ? 'No drift repaired in that check.'
              : `Drift repaired in that check: ${health.repaired} role change${health.repaired === 1 ? '' : 's'}.`}
          </p>
        </>
      ) : (
        <p data-testid="health-checked-at">Not checked yet.</p>
      )}
      {outcome ? (
        <Notice kind={outcome.kind}>
          <span data-testid="check-outcome">{outcome.message}</span>
        </Notice>
      ) : null}
      {isAdmin ? (
        <button type="button" onClick={() => void checkNow()} disabled={checking}>
          {checking ? <Spinner /> : null}
          Check now
        </button>
      ) : null}
    </section>
  );
}

/** Whether applicants must sign in with Discord, and what drift repair does (admins). */
function ApplicantSettings() {
  const settings = useResource(() => api<OrganizationSettings>('/api/organization/settings'), 'settings');
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const change = async (patch: Partial<OrganizationSettings>) => {
    setSaving(true);
    setError(null);
    try {
      settings.set(await api<OrganizationSettings>('/api/organization/settings', { method: 'PATCH', body: patch }));
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setSaving(false);
    }
  };
  const driftRepairChoices: Array<{ value: DriftRepairMode; label: string; hint: string }> = [
    {
      value: 'restore',
      label: 'Restore it',
      hint: 'The scheduled check gives the role back (and takes back a role approval removes).',
    },
    {
      value: 'report',
      label: 'Report only',
      hint: 'The application shows the missing role as a failure; a retry gives it back.',
    },
  ];
  return (
    <section className="card" aria-labelledby="applicants-heading">
      <h2 id="applicants-heading">Applicants and members</h2>
      {error ? <Notice kind="error">{error}</Notice> : null}
      {settings.data ? (
        <>
          <label className="checkbox">
            <input
              type="checkbox"
              checked={settings.data.requireDiscordSignIn}
              disabled={saving}
              onChange={(e) => void change({ requireDiscordSignIn: e.target.checked })}
            />
            <span>
              Applicants must sign in with Discord
              <span className="muted small block">
                The role can then only reach the account that applied, and applicants who are not in the server yet are
                added on approval. Turned off, applicants may type a Discord user ID instead; reviewers see it marked
                “unverified”.
              </span>
            </span>
          </label>
          <fieldset className="choices" data-testid="drift-repair">
            <legend>When someone removes a granted role from an approved member in Discord</legend>
            {driftRepairChoices.map((choice) => (
              <label className="checkbox" key={choice.value}>
                <input
                  type="radio"
                  name="driftRepair"
                  value={choice.value}
                  checked={settings.data?.driftRepair === choice.value}
                  disabled={saving}
                  onChange={() => void change({ driftRepair: choice.value })}
                />
                <span>
                  {choice.label}
                  <span className="muted small block">{choice.hint}</span>
                </span>
              </label>
            ))}
          </fieldset>
        </>
      ) : (
        <div>
          {settings.error ? <Notice kind="error">{settings.error}</Notice> : <Spinner label="Loading the settings" />}
        </div>
      )}
    </section>
  );
}
