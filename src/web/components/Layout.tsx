import { useEffect, type ReactNode } from 'react';
import { NavLink, useLocation, useNavigate } from 'react-router';
import { sessionStore, useSession } from '../session.js';
import { Spinner, Notice } from './ui.js';

/** The navigation: what the signed-in user may open. */
export function MainNav() {
  const session = useSession();
  if (session.status !== 'signed-in') return null;
  const isAdmin = session.me.user.role === 'admin';
  const links = [
    { href: '/applications', label: 'Applications' },
    { href: '/forms', label: 'Forms' },
    { href: '/settings', label: 'Settings' },
    ...(isAdmin
      ? [
          { href: '/audit-log', label: 'Audit log' },
          { href: '/ops', label: 'Operations' },
        ]
      : []),
  ];
  return (
    <nav aria-label="Main">
      <ul>
        {links.map((l) => (
          <li key={l.href}>
            {/* Current on its own page and below it (an application's detail is under Applications). */}
            <NavLink to={l.href}>{l.label}</NavLink>
          </li>
        ))}
      </ul>
    </nav>
  );
}

/** Who is signed in, and the way out. */
export function UserMenu() {
  const session = useSession();
  const navigate = useNavigate();
  if (session.status !== 'signed-in') return null;
  const signOut = async () => {
    await sessionStore.signOut().catch(() => undefined);
    void navigate('/login', { replace: true });
  };
  return (
    <div className="user-menu">
      <span className="user-email" data-testid="user-email">
        {session.me.user.email} <span className="muted">({session.me.user.role})</span>
      </span>
      <button type="button" className="secondary" onClick={() => void signOut()}>
        Sign out
      </button>
    </div>
  );
}

/** Renders `children` once the session is known and someone is signed in; otherwise says why not. */
export function RequireSession({ children }: { children: ReactNode }) {
  const session = useSession();
  const { pathname, search } = useLocation();
  const navigate = useNavigate();
  const href = pathname + search;
  const signedOut = session.status === 'signed-out';
  useEffect(() => {
    if (signedOut) void navigate(`/login?next=${encodeURIComponent(href)}`, { replace: true });
  }, [signedOut, href, navigate]);
  if (session.status === 'idle' || session.status === 'loading') {
    return (
      <main className="centered">
        <Spinner label="Loading your session" /> Loading…
      </main>
    );
  }
  if (session.status === 'error') {
    return (
      <main className="centered">
        <Notice
          kind="error"
          action={
            <button type="button" onClick={() => void sessionStore.retry()}>
              Retry
            </button>
          }
        >
          Your session could not be loaded: {session.message}
        </Notice>
      </main>
    );
  }
  if (session.status === 'signed-out') return null;
  return <>{children}</>;
}

export function Layout({ children }: { children: ReactNode }) {
  const session = useSession();
  const org = session.status === 'signed-in' ? session.me.organization : null;
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="app-header">
        <div className="brand">
          <span className="brand-name">Role grants</span>
          {org ? <span className="org-name">{org.name}</span> : null}
        </div>
        <MainNav />
        <UserMenu />
      </header>
      <main id="main" className="page">
        {children}
      </main>
    </>
  );
}
