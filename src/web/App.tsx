import { useEffect, type ReactNode } from 'react';
import { Layout, RequireSession } from './components/Layout.js';
import { Notice, PageHeading } from './components/ui.js';
import { ApplicationsPage } from './pages/ApplicationsPage.js';
import { ApplyPage, ApplySignInProblem } from './pages/ApplyPage.js';
import { LoginPage } from './pages/LoginPage.js';
import { OpsPage } from './pages/OpsPage.js';
import { SettingsPage } from './pages/SettingsPage.js';
import { Link, navigate, useLocation } from './router.js';
import { useSession } from './session.js';

const TITLES: Record<string, string> = {
  '/login': 'Sign in',
  '/applications': 'Applications',
  '/settings': 'Settings',
  '/ops': 'Operations',
};

function AdminOnly({ children }: { children: ReactNode }) {
  const session = useSession();
  if (session.status === 'signed-in' && session.me.user.role !== 'admin') {
    return (
      <>
        <PageHeading>Not available</PageHeading>
        <Notice kind="info">Only an organization admin can open this page.</Notice>
      </>
    );
  }
  return <>{children}</>;
}

function Redirect({ to }: { to: string }) {
  useEffect(() => navigate(to, { replace: true }), [to]);
  return null;
}

function signedIn(page: ReactNode) {
  return (
    <RequireSession>
      <Layout>{page}</Layout>
    </RequireSession>
  );
}

export function App() {
  const { pathname } = useLocation();
  const apply = /^\/apply\/([^/]+)\/?$/.exec(pathname);
  const isApply = apply !== null;
  useEffect(() => {
    document.title = `${isApply ? 'Apply' : (TITLES[pathname] ?? 'Not found')} – Role grants`;
  }, [pathname, isApply]);

  if (apply?.[1]) return <ApplyPage slug={decodeURIComponent(apply[1])} />;
  switch (pathname) {
    case '/':
      return <Redirect to="/applications" />;
    case '/login':
      return <LoginPage />;
    case '/apply':
      // Where a Discord sign-in lands when its state could not tell which form it came from.
      return <ApplySignInProblem />;
    case '/applications':
      return signedIn(<ApplicationsPage />);
    case '/settings':
      return signedIn(<SettingsPage />);
    case '/ops':
      return signedIn(
        <AdminOnly>
          <OpsPage />
        </AdminOnly>,
      );
    default:
      return (
        <main id="main" className="auth-page">
          <div className="card auth-card">
            <PageHeading>Page not found</PageHeading>
            <p>
              <Link href="/applications">Go to the applications</Link>
            </p>
          </div>
        </main>
      );
  }
}
