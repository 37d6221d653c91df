import { useEffect, type ReactNode } from 'react';
import { Link, Navigate, Outlet, Route, Routes, useLocation } from 'react-router';
import { Layout, RequireSession } from './components/Layout.js';
import { Notice, PageHeading } from './components/ui.js';
import { ApplicationDetailPage } from './pages/ApplicationDetailPage.js';
import { ApplicationsPage } from './pages/ApplicationsPage.js';
import { ApplyPage, ApplySignInProblem } from './pages/ApplyPage.js';
import { AuditLogPage } from './pages/AuditLogPage.js';
import { FormEditorPage } from './pages/FormEditorPage.js';
import { FormsPage } from './pages/FormsPage.js';
import { LoginPage } from './pages/LoginPage.js';
import { OpsPage } from './pages/OpsPage.js';
import { SettingsPage } from './pages/SettingsPage.js';
import { StatusPage } from './pages/StatusPage.js';
import { useSession } from './session.js';

/** Only an admin sees `children`; a reviewer is told why not. */
export function AdminOnly({ children }: { children: ReactNode }) {
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

/** Sets the document's title while the page is shown. */
function Titled({ title, children }: { title: string; children: ReactNode }) {
  useEffect(() => {
    document.title = `${title} – Role grants`;
  }, [title]);
  return <>{children}</>;
}

/** A new page starts at the top (the browser restores the position itself on back and forward). */
function ScrollToTop() {
  const { pathname } = useLocation();
  useEffect(() => {
    window.scrollTo(0, 0);
  }, [pathname]);
  return null;
}

/** The signed-in pages: the session first, then the header and the page. */
function SignedIn() {
  return (
    <RequireSession>
      <Layout>
        <Outlet />
      </Layout>
    </RequireSession>
  );
}

function NotFound() {
  return (
    <main id="main" className="auth-page">
      <div className="card auth-card">
        <PageHeading>Page not found</PageHeading>
        <p>
          <Link to="/applications">Go to the applications</Link>
        </p>
      </div>
    </main>
  );
}

const page = (title: string, element: ReactNode) => <Titled title={title}>{element}</Titled>;

/**
 * The screens. Public: sign-in, the application form, the applicant's status page. Signed in:
 * applications (list and detail), forms (list and editor), settings; admins also the audit log and
 * operations.
 */
export function App() {
  return (
    <>
      <ScrollToTop />
      <Routes>
        <Route path="/" element={<Navigate to="/applications" replace />} />
        <Route path="/login" element={page('Sign in', <LoginPage />)} />
        {/* Where a Discord sign-in lands when its state could not tell which form it came from. */}
        <Route path="/apply" element={page('Apply', <ApplySignInProblem />)} />
        <Route path="/apply/:orgSlug" element={page('Apply', <ApplyPage />)} />
        <Route path="/apply/:orgSlug/:formSlug" element={page('Apply', <ApplyPage />)} />
        <Route path="/status/:applicationId" element={page('Application status', <StatusPage />)} />
        <Route element={<SignedIn />}>
          <Route path="/applications" element={page('Applications', <ApplicationsPage />)} />
          <Route path="/applications/:id" element={page('Application', <ApplicationDetailPage />)} />
          <Route path="/forms" element={page('Forms', <FormsPage />)} />
          <Route path="/forms/new" element={page('New form', <FormEditorPage />)} />
          <Route path="/forms/:formId" element={page('Form', <FormEditorPage />)} />
          <Route path="/settings" element={page('Settings', <SettingsPage />)} />
          <Route
            path="/audit-log"
            element={page(
              'Audit log',
              <AdminOnly>
                <AuditLogPage />
              </AdminOnly>,
            )}
          />
          <Route
            path="/ops"
            element={page(
              'Operations',
              <AdminOnly>
                <OpsPage />
              </AdminOnly>,
            )}
          />
        </Route>
        <Route path="*" element={page('Not found', <NotFound />)} />
      </Routes>
    </>
  );
}
