/** @jest-environment jsdom */
import './jsdom-globals.js';
import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import type { ReactElement } from 'react';
import { BrowserRouter } from 'react-router';
import { StatusBadge } from '../../src/web/components/StatusBadge.js';
import { CALLBACK_ERROR_MESSAGES, callbackNotice } from '../../src/web/messages.js';
import { validateApplication } from '../../src/web/pages/ApplyPage.js';
import type { BulkReviewProgress } from '../../src/web/hooks.js';
import { ApplicationsPage } from '../../src/web/pages/ApplicationsPage.js';
import { SettingsPage } from '../../src/web/pages/SettingsPage.js';
import { failedListUrl, workflowUrl } from '../../src/web/pages/OpsPage.js';
import { sessionStore } from '../../src/web/session.js';
import type { Application, ApplicationStatus, DiscordConnection, Me } from '../../src/web/types.js';
import {
  availableActions,
  MAX_MANUAL_RETRIES,
  reachablePairs,
  type RoleAssignmentStatus,
} from '../../src/domain/application-lifecycle.js';
import { mockFetch } from './fetch-mock.js';

const admin: Me = {
  user: { id: 'u1', email: 'admin@example.com', role: 'admin' },
  organization: { id: 'o1', slug: 'acme', name: 'Acme' },
};
const reviewer: Me = { ...admin, user: { id: 'u2', email: 'rev@example.com', role: 'reviewer' } };

/** The role status an application in `status` has, unless the test says otherwise (the first reachable one). */
const defaultRoleStatus = (status: ApplicationStatus): RoleAssignmentStatus =>
  reachablePairs.find(([s]) => s === status)![1];

function application(status: ApplicationStatus, overrides: Partial<Application['roleAssignment']> = {}): Application {
  return {
    id: `00000000-0000-4000-8000-${String(Math.floor(Math.random() * 1e12)).padStart(12, '0')}`,
    organizationId: 'o1',
    applicant: { name: 'Ada Lovelace', email: 'ada@example.com' },
    custom_data: { discord_user_id: '300000000000000001' },
    formId: '00000000-0000-4000-8000-0000000000f1',
    formVersion: 1,
    answers: {},
    discordUser: {
      id: '300000000000000001',
      username: 'ada',
      globalName: 'Ada Lovelace',
      avatarUrl: null,
      accountCreatedAt: '2023-05-01T10:00:00.000Z',
      verified: true,
    },
    status,
    notes: null,
    reviewedBy: null,
    reviewedAt: null,
    roleAssignment: {
      status: defaultRoleStatus(status),
      error: null,
      errorType: null,
      attemptedAt: null,
      retryCount: 0,
      ...overrides,
    },
    createdAt: '2025-01-02T10:00:00.000Z',
    updatedAt: '2025-01-02T10:00:00.000Z',
  };
}

/** Pages use the router (links, the address's query): rendered inside the app's BrowserRouter. */
const renderInRouter = (ui: ReactElement) => render(<BrowserRouter>{ui}</BrowserRouter>);

/** The app's session store is a module singleton: sign in through it before each page test. */
async function signInAs(me: Me) {
  mockFetch({ 'POST /api/auth/login': { body: me } });
  await sessionStore.signIn(me.user.email, 'pw');
}

describe('StatusBadge', () => {
  test.each([
    ['Pending', 'Pending'],
    ['Rejected', 'Rejected'],
    ['Approved', 'Approved'],
    ['approved_pending_role', 'Approved – assigning role…'],
    ['approved_role_assigned', 'Approved – role assigned'],
    ['approved_role_failed', 'Approved – role assignment failed'],
  ] as const)('%s reads "%s"', (status, label) => {
    render(<StatusBadge app={application(status)} />);
    expect(screen.getByTestId('status-badge').textContent).toBe(label);
  });

  test('a reversal says where taking the role back stands: removing (with a spinner), or failed', () => {
    const { container } = render(<StatusBadge app={application('Rejected', { status: 'pending' })} />);
    expect(screen.getByTestId('status-badge').textContent).toBe('Rejected – removing role…');
    expect(container.querySelector('.spinner')).not.toBeNull();
    render(<StatusBadge app={application('Rejected', { status: 'failed', error: 'The bot lacks permission.' })} />);
    expect(screen.getAllByTestId('status-badge')[1]!.textContent).toBe('Rejected – role removal failed');
    expect(screen.getByRole('tooltip', { hidden: true }).textContent).toBe('The bot lacks permission.');
  });

  test('a failed grant is focusable and describes itself with the stored error', () => {
    render(<StatusBadge app={application('approved_role_failed', { error: 'The applicant has not joined.' })} />);
    const badge = screen.getByTestId('status-badge');
    expect(badge.tabIndex).toBe(0);
    const tip = screen.getByRole('tooltip', { hidden: true });
    expect(badge.getAttribute('aria-describedby')).toBe(tip.id);
    expect(tip.textContent).toBe('The applicant has not joined.');
  });

  test('assigning shows a spinner', () => {
    const { container } = render(<StatusBadge app={application('approved_pending_role', { status: 'pending' })} />);
    expect(container.querySelector('.spinner')).not.toBeNull();
  });
});

describe('callback messages', () => {
  const codes = [
    'invalid_state',
    'unauthorized',
    'forbidden',
    'user_not_found',
    'access_denied',
    'connection_in_progress',
    'already_connected',
    'token_exchange_failed',
    'missing_permissions',
    'unsafe_role',
    'role_creation_failed',
    'save_config_failed',
    'unexpected_error',
  ];
  test.each(codes)('%s has its own plain-words message', (code) => {
    expect(CALLBACK_ERROR_MESSAGES[code]).toBeTruthy();
    expect(callbackNotice(new URLSearchParams({ error: code }))).toEqual({
      kind: 'error',
      message: CALLBACK_ERROR_MESSAGES[code],
    });
  });
  test('in progress, success, connecting, unknown', () => {
    expect(callbackNotice(new URLSearchParams('error=connection_in_progress'))?.message).toBe(
      'Another connection attempt is already in progress. Please wait.',
    );
    expect(callbackNotice(new URLSearchParams('success=bot_connected'))?.kind).toBe('success');
    expect(callbackNotice(new URLSearchParams('status=connecting'))?.kind).toBe('info');
    expect(callbackNotice(new URLSearchParams('error=something_new'))?.message).toMatch(/something_new/);
    expect(callbackNotice(new URLSearchParams(''))).toBeNull();
  });
});

test('application form validation: name, email, Discord ID', () => {
  expect(validateApplication({ name: 'Ada', email: 'ada@example.com', discordUserId: '' })).toEqual({});
  expect(validateApplication({ name: 'Ada', email: 'ada@example.com', discordUserId: '300000000000000001' })).toEqual(
    {},
  );
  const errors = validateApplication({ name: ' ', email: 'nope', discordUserId: 'ada#1234' });
  expect(Object.keys(errors).sort()).toEqual(['discordUserId', 'email', 'name']);
  expect(validateApplication({ name: 'A', email: 'a@b.co', discordUserId: '12345' }).discordUserId).toMatch(
    /17 to 20 digits/,
  );
  expect(
    validateApplication({ name: 'A', email: 'a@b.co', discordUserId: '99999999999999999999' }).discordUserId,
  ).toBeTruthy();
});

test('Temporal Web UI links', () => {
  expect(workflowUrl('http://localhost:8233', 'abc')).toBe(
    'http://localhost:8233/namespaces/default/workflows/application-role:abc',
  );
  expect(failedListUrl('http://t')).toBe(
    `http://t/namespaces/default/workflows?query=${encodeURIComponent('RoleAssignmentState="failed"')}`,
  );
});

describe('SettingsPage', () => {
  const connected: DiscordConnection = {
    state: 'connected',
    guild: { id: '1', name: 'Guild A' },
    role: { id: '2', name: 'Approved' },
    error: null,
    updatedAt: '2025-01-01T00:00:00Z',
  };
  const disconnected: DiscordConnection = {
    state: 'disconnected',
    guild: null,
    role: null,
    error: null,
    updatedAt: null,
  };

  test('admin: disconnected offers "Connect Discord Bot"; an error offers "Retry connection" and says why', async () => {
    await signInAs(admin);
    mockFetch({ 'GET /api/discord/connection': { body: disconnected } });
    const { unmount } = renderInRouter(<SettingsPage />);
    expect(await screen.findByRole('button', { name: 'Connect Discord Bot' })).toBeTruthy();
    unmount();

    mockFetch({
      'GET /api/discord/connection': { body: { ...disconnected, state: 'error', error: 'Missing Manage Roles.' } },
      'GET /api/organization/settings': { body: { requireDiscordSignIn: true } },
    });
    renderInRouter(<SettingsPage />);
    expect(await screen.findByRole('button', { name: 'Retry connection' })).toBeTruthy();
    expect(screen.getByRole('alert').textContent).toMatch(/Missing Manage Roles\./);
  });

  test('admin: paused grants say why and offer "Check now", which posts the check and shows the result', async () => {
    await signInAs(admin);
    let checked = false;
    const paused = {
      ...connected,
      state: 'error' as const,
      guild: null,
      role: null,
      error: 'Grants are paused: the bot lacks a permission it needs.',
      canCheckAgain: true,
    };
    const calls = mockFetch({
      'GET /api/discord/connection': () => ({ body: checked ? connected : paused }),
      'POST /api/discord/connection/check': () => {
        checked = true;
        return { body: { state: 'connected', error: null, outcome: 'connected', message: null } };
      },
      'GET /api/organization/settings': { body: { requireDiscordSignIn: true } },
    });
    renderInRouter(<SettingsPage />);
    const button = await screen.findByRole('button', { name: 'Check now' });
    expect(screen.getByRole('alert').textContent).toBe('Grants are paused: the bot lacks a permission it needs.');
    expect(screen.getByRole('button', { name: 'Connect again' })).toBeTruthy();
    fireEvent.click(button);
    expect((await screen.findByText(/Connected to/)).textContent).toBe('Connected to Guild A — role Approved');
    expect(calls.filter((c) => c.method === 'POST').map((c) => c.path)).toEqual(['/api/discord/connection/check']);
  });

  test('reviewer: sees the state, not the buttons', async () => {
    await signInAs(reviewer);
    mockFetch({ 'GET /api/discord/connection': { body: connected } });
    renderInRouter(<SettingsPage />);
    expect((await screen.findByText(/Connected to/)).textContent).toBe('Connected to Guild A — role Approved');
    expect(screen.queryByRole('button')).toBeNull();
  });

  test('reads the callback parameters and says what they mean', async () => {
    await signInAs(admin);
    window.history.replaceState(null, '', '/settings?error=connection_in_progress');
    mockFetch({ 'GET /api/discord/connection': { body: { ...disconnected, state: 'connecting' } } });
    renderInRouter(<SettingsPage />);
    expect((await screen.findByRole('alert')).textContent).toBe(
      'Another connection attempt is already in progress. Please wait.',
    );
    // The parameters leave the address bar so a reload does not repeat the message.
    await waitFor(() => expect(window.location.search).toBe(''));
  });

  test('connecting: spinner, polls every 2 s, stops once connected', async () => {
    await signInAs(admin);
    let answers = 0;
    const calls = mockFetch({
      'GET /api/discord/connection': () => ({
        body: answers++ === 0 ? { ...disconnected, state: 'connecting' } : connected,
      }),
    });
    const { container } = renderInRouter(<SettingsPage />);
    expect(await screen.findByText(/Connecting…/)).toBeTruthy();
    expect(container.querySelector('.connecting .spinner')).not.toBeNull();
    expect((await screen.findByText(/Connected to/, {}, { timeout: 3_000 })).textContent).toBe(
      'Connected to Guild A — role Approved',
    );
    expect(screen.getByRole('button', { name: 'Disconnect' })).toBeTruthy();
    await act(() => new Promise((r) => setTimeout(r, 2_300)));
    expect(calls.filter((c) => c.path === '/api/discord/connection')).toHaveLength(2);
  });
});

describe('ApplicationsPage', () => {
  test('a failed grant offers "Retry (n/5)"; at 5 retries the button is gone', async () => {
    await signInAs(admin);
    const retryable = application('approved_role_failed', { retryCount: 2, error: 'Not in the server.' });
    retryable.applicant.name = 'Retryable';
    const exhausted = application('approved_role_failed', { retryCount: 5, error: 'Not in the server.' });
    exhausted.applicant.name = 'Exhausted';
    const pending = application('Pending', { status: 'not_applicable' });
    pending.applicant.name = 'Waiting';
    mockFetch({ 'GET /api/applications': { body: { items: [retryable, exhausted, pending], nextCursor: null } } });
    renderInRouter(<ApplicationsPage />);
    const rows = await screen.findAllByTestId('application-row');
    expect(rows).toHaveLength(3);
    expect(within(rows[0]!).getByRole('button', { name: /^Retry \(2\/5\)/ }).textContent).toBe('Retry (2/5)');
    expect(within(rows[1]!).queryByRole('button', { name: /Retry/ })).toBeNull();
    expect(within(rows[2]!).getByRole('button', { name: 'Approve Waiting' })).toBeTruthy();
    expect(within(rows[2]!).getByRole('button', { name: 'Reject Waiting' })).toBeTruthy();
  });

  // Finding 3 of the durable-core review: the UI had its own copy of the rules and had drifted.
  test('finding 3: every reachable state offers exactly the actions the state machine allows', async () => {
    await signInAs(admin);
    const label: Record<string, RegExp> = {
      approve: /^Approve /,
      reject: /^Reject /,
      revoke_approval: /^Revoke the approval of /,
      retry: /^Retry \(/,
    };
    const cases = reachablePairs.flatMap(([status, roleStatus]) =>
      [0, MAX_MANUAL_RETRIES].map((retryCount) => {
        const app = application(status, { status: roleStatus, retryCount });
        app.applicant.name = `${status}/${roleStatus}/${retryCount}`;
        return app;
      }),
    );
    mockFetch({ 'GET /api/applications': { body: { items: cases, nextCursor: null } } });
    renderInRouter(<ApplicationsPage />);
    const rows = await screen.findAllByTestId('application-row');
    expect(rows).toHaveLength(cases.length);
    for (const [i, app] of cases.entries()) {
      const shown = within(rows[i]!)
        .queryAllByRole('button')
        .map((b) => Object.keys(label).find((k) => label[k]!.test(b.getAttribute('aria-label') ?? b.textContent ?? '')))
        .filter(Boolean);
      const allowed = availableActions({
        status: app.status,
        roleStatus: app.roleAssignment.status,
        retryCount: app.roleAssignment.retryCount,
        errorType: null,
      });
      expect({ app: app.applicant.name, actions: shown.sort() }).toEqual({
        app: app.applicant.name,
        actions: [...allowed].sort(),
      });
    }
  });

  test('finding 3: a failed revoke shows Retry, and retrying it posts retry-role', async () => {
    await signInAs(admin);
    const failedRevoke = application('Rejected', { status: 'failed', error: 'Missing permissions.', retryCount: 1 });
    failedRevoke.applicant.name = 'Reversed';
    const calls = mockFetch({
      'GET /api/applications': { body: { items: [failedRevoke], nextCursor: null } },
      [`POST /api/applications/${failedRevoke.id}/retry-role`]: {
        status: 202,
        body: { ...failedRevoke, roleAssignment: { ...failedRevoke.roleAssignment, status: 'pending', retryCount: 2 } },
      },
      [`GET /api/applications/${failedRevoke.id}`]: { body: failedRevoke },
    });
    renderInRouter(<ApplicationsPage />);
    const button = await screen.findByRole('button', { name: 'Retry (1/5): remove the role from Reversed again' });
    fireEvent.click(button);
    await waitFor(() => expect(calls.some((c) => c.method === 'POST' && c.path.endsWith('/retry-role'))).toBe(true));
  });

  test('finding 3: a pending revoke refreshes itself until the role is taken back', async () => {
    await signInAs(admin);
    const removing = application('Rejected', { status: 'pending' });
    const done = { ...removing, roleAssignment: { ...removing.roleAssignment, status: 'not_applicable' as const } };
    let reads = 0;
    mockFetch({
      'GET /api/applications': { body: { items: [removing], nextCursor: null } },
      [`GET /api/applications/${removing.id}`]: () => ({ body: reads++ === 0 ? removing : done }),
    });
    renderInRouter(<ApplicationsPage />);
    expect((await screen.findByTestId('status-badge')).textContent).toBe('Rejected – removing role…');
    await waitFor(() => expect(screen.getByTestId('status-badge').textContent).toBe('Rejected'), { timeout: 5_000 });
    expect(reads).toBeGreaterThanOrEqual(2);
  });

  test('"Revoke approval" asks for a confirmation that says the role will be removed, then rejects', async () => {
    await signInAs(admin);
    const assigned = application('approved_role_assigned');
    assigned.applicant.name = 'Member';
    const calls = mockFetch({
      'GET /api/applications': { body: { items: [assigned], nextCursor: null } },
      [`POST /api/applications/${assigned.id}/review`]: {
        body: { ...assigned, status: 'Rejected', roleAssignment: { ...assigned.roleAssignment, status: 'pending' } },
      },
      [`GET /api/applications/${assigned.id}`]: {
        body: {
          ...assigned,
          status: 'Rejected',
          roleAssignment: { ...assigned.roleAssignment, status: 'not_applicable' },
        },
      },
    });
    renderInRouter(<ApplicationsPage />);
    fireEvent.click(await screen.findByRole('button', { name: 'Revoke the approval of Member' }));
    const confirm = screen.getByRole('group', { name: 'Confirm revoking Member' });
    expect(confirm.textContent).toMatch(/the role will be removed from the member in Discord/);
    expect(calls.filter((c) => c.method === 'POST')).toHaveLength(0);
    fireEvent.click(within(confirm).getByRole('button', { name: 'Revoke' }));
    await waitFor(() => expect(screen.getByTestId('status-badge').textContent).toMatch(/^Rejected/));
    const post = calls.find((c) => c.method === 'POST');
    expect(post).toMatchObject({ path: `/api/applications/${assigned.id}/review`, body: { decision: 'reject' } });
  });

  describe('bulk approve', () => {
    const progressOf = (over: Partial<BulkReviewProgress>): BulkReviewProgress => ({
      bulkId: 'bulk-1',
      decision: 'approve',
      total: 7,
      recorded: 0,
      assigned: 0,
      failed: 0,
      refusedCount: 0,
      refused: [],
      done: false,
      createdAt: '2025-01-02T10:00:00.000Z',
      ...over,
    });
    const pendingApps = (n: number) =>
      Array.from({ length: n }, () => application('Pending', { status: 'not_applicable' }));
    const reads = (calls: Array<{ method: string; path: string }>, path: string) =>
      calls.filter((c) => c.method === 'GET' && c.path === path).length;
    const bar = () => screen.getByTestId('bulk-progress-bar') as HTMLProgressElement;

    beforeEach(() => window.localStorage.clear());

    test('sends one request with every selected id, then polls the progress until done', async () => {
      await signInAs(admin);
      const apps = pendingApps(7);
      const refusal = { id: apps[6]!.id, error: { code: 'already_decided', message: 'Already decided.' } };
      const answers = [
        progressOf({ recorded: 3 }),
        progressOf({ recorded: 6, assigned: 2, failed: 1, refusedCount: 1, refused: [refusal] }),
        progressOf({ recorded: 6, assigned: 5, failed: 1, refusedCount: 1, refused: [refusal], done: true }),
      ];
      let polls = 0;
      const calls = mockFetch({
        'GET /api/applications': { body: { items: apps, nextCursor: null } },
        'POST /api/applications/bulk-review': { status: 202, body: { bulkId: 'bulk-1' } },
        'GET /api/bulk-reviews/bulk-1': () => ({ body: answers[Math.min(polls++, answers.length - 1)] }),
      });
      renderInRouter(<ApplicationsPage />);
      await screen.findAllByTestId('application-row');
      fireEvent.click(screen.getByRole('checkbox', { name: 'Select all pending applications on this page' }));
      fireEvent.click(screen.getByRole('button', { name: 'Approve selected (7)' }));

      await waitFor(() =>
        expect(screen.getByTestId('bulk-progress').textContent).toBe(
          'Approving… 0 of 7 assigned (3 recorded, 0 failed, 0 refused)',
        ),
      );
      const posts = calls.filter((c) => c.method === 'POST');
      expect(posts).toEqual([
        {
          method: 'POST',
          path: '/api/applications/bulk-review',
          body: { ids: apps.map((a) => a.id), decision: 'approve' },
        },
      ]);
      expect(window.localStorage.getItem('bulkReview:o1')).toBe('bulk-1');
      expect(screen.getByRole('button', { name: /^Approve selected/ })).toHaveProperty('disabled', true);
      expect(bar().value).toBe(0);
      expect(bar().max).toBe(7);
      expect(screen.getByRole('progressbar', { name: 'Bulk approval progress' })).toBe(bar());

      await waitFor(
        () =>
          expect(screen.getByTestId('bulk-progress').textContent).toBe(
            'Approving… 2 of 7 assigned (6 recorded, 1 failed, 1 refused)',
          ),
        { timeout: 3_000 },
      );
      expect(bar().value).toBe(4);
      expect(screen.getByRole('list', { name: 'Refused applications' }).textContent).toBe(
        `${refusal.id}: Already decided.`,
      );

      await waitFor(
        () =>
          expect(screen.getByTestId('bulk-progress').textContent).toBe(
            'Approved: 5 of 7 assigned, 1 failed, 1 refused',
          ),
        { timeout: 3_000 },
      );
      expect(bar().value).toBe(7);
      // Done: the list is read again once, and polling stops.
      await waitFor(() => expect(reads(calls, '/api/applications?limit=25')).toBe(2));
      const pollsWhenDone = reads(calls, '/api/bulk-reviews/bulk-1');
      expect(pollsWhenDone).toBe(3);
      await act(() => new Promise((r) => setTimeout(r, 1_300)));
      expect(reads(calls, '/api/bulk-reviews/bulk-1')).toBe(pollsWhenDone);
      expect(reads(calls, '/api/applications?limit=25')).toBe(2);

      // Dismiss forgets it.
      fireEvent.click(screen.getByRole('button', { name: 'Dismiss' }));
      expect(screen.queryByTestId('bulk-progress')).toBeNull();
      expect(window.localStorage.getItem('bulkReview:o1')).toBeNull();
    });

    test('a stored bulk id resumes the progress after a reload; polling stops on unmount', async () => {
      await signInAs(admin);
      const apps = pendingApps(3);
      let done = false;
      const calls = mockFetch({
        'GET /api/applications': { body: { items: apps, nextCursor: null } },
        'POST /api/applications/bulk-review': { status: 202, body: { bulkId: 'bulk-2' } },
        'GET /api/bulk-reviews/bulk-2': () => ({
          body: done
            ? progressOf({ bulkId: 'bulk-2', total: 3, recorded: 3, assigned: 3, done: true })
            : progressOf({ bulkId: 'bulk-2', total: 3, recorded: 3, assigned: 1 }),
        }),
      });
      const first = renderInRouter(<ApplicationsPage />);
      await screen.findAllByTestId('application-row');
      fireEvent.click(screen.getByRole('checkbox', { name: 'Select all pending applications on this page' }));
      fireEvent.click(screen.getByRole('button', { name: 'Approve selected (3)' }));
      await waitFor(() => expect(screen.getByTestId('bulk-progress').textContent).toMatch(/1 of 3 assigned/));

      // The page goes away (a reload): no more polling, the id stays stored.
      first.unmount();
      const pollsAtUnmount = reads(calls, '/api/bulk-reviews/bulk-2');
      await act(() => new Promise((r) => setTimeout(r, 1_300)));
      expect(reads(calls, '/api/bulk-reviews/bulk-2')).toBe(pollsAtUnmount);
      expect(window.localStorage.getItem('bulkReview:o1')).toBe('bulk-2');

      renderInRouter(<ApplicationsPage />);
      await waitFor(() =>
        expect(screen.getByTestId('bulk-progress').textContent).toBe(
          'Approving… 1 of 3 assigned (3 recorded, 0 failed, 0 refused)',
        ),
      );
      expect(bar().value).toBe(1);
      expect(bar().max).toBe(3);
      expect(screen.getByRole('button', { name: 'Approve selected (0)' })).toHaveProperty('disabled', true);
      expect(calls.filter((c) => c.method === 'POST')).toHaveLength(1);

      done = true;
      await waitFor(
        () =>
          expect(screen.getByTestId('bulk-progress').textContent).toBe(
            'Approved: 3 of 3 assigned, 0 failed, 0 refused',
          ),
        { timeout: 3_000 },
      );
      expect(bar().value).toBe(3);
      // Seen running, then done: the list is read once more.
      await waitFor(() => expect(reads(calls, '/api/applications?limit=25')).toBe(3));
    });

    test('an unknown stored bulk (404) is forgotten and not asked for again', async () => {
      await signInAs(admin);
      window.localStorage.setItem('bulkReview:o1', 'gone');
      const calls = mockFetch({
        'GET /api/applications': { body: { items: pendingApps(1), nextCursor: null } },
        'GET /api/bulk-reviews/gone': { status: 404, body: { error: { code: 'not_found', message: 'No such bulk.' } } },
      });
      renderInRouter(<ApplicationsPage />);
      await screen.findAllByTestId('application-row');
      await waitFor(() => expect(window.localStorage.getItem('bulkReview:o1')).toBeNull());
      expect(screen.queryByTestId('bulk-progress')).toBeNull();
      await act(() => new Promise((r) => setTimeout(r, 1_300)));
      expect(reads(calls, '/api/bulk-reviews/gone')).toBe(1);
    });

    test('a refused request says why and leaves nothing stored', async () => {
      await signInAs(admin);
      mockFetch({
        'GET /api/applications': { body: { items: pendingApps(2), nextCursor: null } },
        'POST /api/applications/bulk-review': {
          status: 403,
          body: { error: { code: 'forbidden', message: 'Not allowed.' } },
        },
      });
      renderInRouter(<ApplicationsPage />);
      await screen.findAllByTestId('application-row');
      fireEvent.click(screen.getByRole('checkbox', { name: 'Select all pending applications on this page' }));
      fireEvent.click(screen.getByRole('button', { name: 'Approve selected (2)' }));
      await waitFor(() =>
        expect(screen.getByTestId('bulk-progress').textContent).toBe(
          'The bulk approval could not be started: Not allowed.',
        ),
      );
      expect(window.localStorage.getItem('bulkReview:o1')).toBeNull();
      expect(screen.getByRole('button', { name: 'Approve selected (2)' })).toHaveProperty('disabled', false);
    });
  });
});
