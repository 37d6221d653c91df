import { useEffect, useState } from 'react';
import { api, errorMessage } from '../api.js';
import { Notice, PageHeading, Spinner } from '../components/ui.js';
import { useDiscordConnection, useResource } from '../hooks.js';
import { callbackNotice } from '../messages.js';
import { navigate, useLocation } from '../router.js';
import { useSession } from '../session.js';

/** Settings: the organization's Discord connection, live. Admins act on it; reviewers only see it. */
export function SettingsPage() {
  const session = useSession();
  const isAdmin = session.status === 'signed-in' && session.me.user.role === 'admin';
  const { search, pathname } = useLocation();
  // The callback's answer is read once, then dropped from the address so a reload does not repeat it.
  const [notice] = useState(() => callbackNotice(search));
  useEffect(() => {
    if (search.has('success') || search.has('status') || search.has('error')) navigate(pathname, { replace: true });
  }, [search, pathname]);

  const connection = useDiscordConnection();
  const [busy, setBusy] = useState<'connect' | 'disconnect' | 'check' | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const state = connection.data?.state;

  const connect = () => {
    setBusy('connect');
    // A full navigation: the API answers with a redirect to Discord's authorize page.
    window.location.assign('/api/discord/connect');
  };
  /** Runs an admin's action on the connection, then shows the connection as it now is. */
  const run = async (action: 'disconnect' | 'check', request: () => Promise<unknown>) => {
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
  /** "Check again": the grants were paused; see whether the fix in Discord works, and resume them. */
  const checkAgain = () => run('check', () => api('/api/discord/connection/check', { method: 'POST' }));

  return (
    <>
      <PageHeading>Settings</PageHeading>
      {notice && !(notice.kind === 'info' && state && state !== 'connecting') ? (
        <Notice kind={notice.kind}>{notice.message}</Notice>
      ) : null}
      <section className="card" aria-labelledby="discord-heading">
        <h2 id="discord-heading">Discord connection</h2>
        <p className="muted">
          Approved applicants get the organization's “Approved” role in the connected Discord server.
        </p>
        {connection.error && !connection.data ? (
          <Notice
            kind="error"
            action={
              <button type="button" onClick={() => void connection.reload()}>
                Try again
              </button>
            }
          >
            The connection state could not be loaded: {connection.error}
          </Notice>
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
                Connected to <strong>{connection.data.guild?.name ?? connection.data.guild?.id}</strong> — role{' '}
                <strong>{connection.data.role?.name ?? connection.data.role?.id}</strong>
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
                  {connection.data.canCheckAgain ? (
                    <button type="button" onClick={() => void checkAgain()} disabled={busy !== null}>
                      {busy === 'check' ? <Spinner /> : null}
                      Check again
                    </button>
                  ) : null}
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
      {isAdmin ? <ApplicantSettings /> : null}
    </>
  );
}

/** Whether applicants must sign in with Discord (admins). */
function ApplicantSettings() {
  const settings = useResource(() => api<{ requireDiscordSignIn: boolean }>('/api/organization/settings'), 'settings');
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const change = async (requireDiscordSignIn: boolean) => {
    setSaving(true);
    setError(null);
    try {
      settings.set(
        await api<{ requireDiscordSignIn: boolean }>('/api/organization/settings', {
          method: 'PATCH',
          body: { requireDiscordSignIn },
        }),
      );
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setSaving(false);
    }
  };
  return (
    <section className="card" aria-labelledby="applicants-heading">
      <h2 id="applicants-heading">Applicants</h2>
      {error ? <Notice kind="error">{error}</Notice> : null}
      {settings.data ? (
        <label className="checkbox">
          <input
            type="checkbox"
            checked={settings.data.requireDiscordSignIn}
            disabled={saving}
            onChange={(e) => void change(e.target.checked)}
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
      ) : (
        <div>
          {settings.error ? <Notice kind="error">{settings.error}</Notice> : <Spinner label="Loading the settings" />}
        </div>
      )}
    </section>
  );
}
