import { useEffect, useState, type FormEvent } from 'react';
import { errorMessage } from '../api.js';
import { Field, Notice, PageHeading, Spinner } from '../components/ui.js';
import { useNavigate, useSearchParams } from 'react-router';
import { sessionStore, useSession } from '../session.js';

/** Only paths of this app: `next` must never send anyone to another site. */
function safeNext(next: string | null): string {
  return next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/login') ? next : '/applications';
}

export function LoginPage() {
  const session = useSession();
  const [search] = useSearchParams();
  const navigate = useNavigate();
  const next = safeNext(search.get('next'));
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const signedIn = session.status === 'signed-in';
  useEffect(() => {
    if (signedIn) void navigate(next, { replace: true });
  }, [signedIn, next, navigate]);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await sessionStore.signIn(email, password);
    } catch (err) {
      setError(errorMessage(err));
      setBusy(false);
    }
  };

  return (
    <main id="main" className="auth-page">
      <form className="card auth-card" onSubmit={(e) => void submit(e)} noValidate>
        <PageHeading>Sign in</PageHeading>
        <p className="muted">Review membership applications and grant Discord roles.</p>
        {error ? <Notice kind="error">{error}</Notice> : null}
        <Field label="Email">
          {(p) => (
            <input
              {...p}
              type="email"
              name="email"
              autoComplete="username"
              required
              value={email}
              onChange={(e) => setEmail(e.target.value)}
            />
          )}
        </Field>
        <Field label="Password">
          {(p) => (
            <input
              {...p}
              type="password"
              name="password"
              autoComplete="current-password"
              required
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          )}
        </Field>
        <button type="submit" disabled={busy || !email || !password}>
          {busy ? <Spinner /> : null}
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
