/** @jest-environment jsdom */
import './jsdom-globals.js';
import { jest } from '@jest/globals';
import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { useForm } from 'react-hook-form';
import { MemoryRouter, Route, Routes } from 'react-router';
import { answersToSend, answerError, emptyAnswer, fieldsOfServerError } from '../../src/web/forms/answers.js';
import { editorFieldOf, fromEditor, idFromLabel, slugError, toEditor } from '../../src/web/forms/editor.js';
import { QuestionField, type ApplyValues } from '../../src/web/forms/QuestionField.js';
import { isTypingTarget, shortcutOf, useShortcuts, type ShortcutMap } from '../../src/web/keyboard.js';
import { ApplicationDetailPage } from '../../src/web/pages/ApplicationDetailPage.js';
import { ApplicationsPage } from '../../src/web/pages/ApplicationsPage.js';
import { ApplyPage } from '../../src/web/pages/ApplyPage.js';
import { StatusPage } from '../../src/web/pages/StatusPage.js';
import { sessionStore } from '../../src/web/session.js';
import type { Application, Form, Me, PublicForm, PublicStatus, Question } from '../../src/web/types.js';
import { mockFetch } from './fetch-mock.js';

const QUESTIONS: Question[] = [
  { id: 'why_join', label: 'Why do you want to join?', type: 'long_text', required: true, maxLength: 20 },
  { id: 'game', label: 'Favourite game', type: 'single_choice', required: true, options: ['Chess', 'Go'] },
  { id: 'topics', label: 'Topics', type: 'multiple_choice', required: false, options: ['Art', 'Code', 'Music'] },
  { id: 'rules', label: 'I accept the rules', type: 'checkbox', required: true },
  { id: 'site', label: 'Your website', type: 'url', required: false, help: 'A portfolio or a profile.' },
];

/** The questions in a react-hook-form form, as the public form holds them. */
function Harness({ onValid }: { onValid: (values: ApplyValues) => void }) {
  const {
    register,
    handleSubmit,
    formState: { errors },
  } = useForm<ApplyValues>({
    defaultValues: {
      applicant: { name: '', email: '', discordUserId: '' },
      answers: Object.fromEntries(QUESTIONS.map((q) => [q.id, emptyAnswer(q)])),
    },
  });
  return (
    <form onSubmit={(e) => void handleSubmit(onValid)(e)} noValidate>
      {QUESTIONS.map((q) => (
        <QuestionField key={q.id} question={q} register={register} error={errors.answers?.[q.id]?.message} />
      ))}
      <button type="submit">Send</button>
    </form>
  );
}

/** The element `el`'s aria-describedby points at, read as text. */
const describedText = (el: HTMLElement) =>
  (el.getAttribute('aria-describedby') ?? '')
    .split(' ')
    .filter(Boolean)
    .map((id) => document.getElementById(id)?.textContent ?? '')
    .join(' | ');

describe('the question renderer', () => {
  test('labels every control, groups choices under a legend and says which questions are required', () => {
    render(<Harness onValid={() => undefined} />);
    const why = screen.getByLabelText(/Why do you want to join\?/);
    expect(why.tagName).toBe('TEXTAREA');
    expect(why.hasAttribute('required')).toBe(true);
    expect(screen.getByText('Why do you want to join?').closest('label')!.textContent).toBe(
      'Why do you want to join? (required)',
    );
    const game = screen.getByRole('radiogroup', { name: 'Favourite game (required)' });
    expect(game.tagName).toBe('FIELDSET');
    expect(
      within(game)
        .getAllByRole('radio')
        .map((r) => r.getAttribute('value')),
    ).toEqual(['Chess', 'Go']);
    expect(within(game).getByLabelText('Go')).toBeTruthy();
    const topics = screen.getByRole('group', { name: 'Topics' });
    expect(within(topics).getAllByRole('checkbox')).toHaveLength(3);
    expect(screen.getByRole('checkbox', { name: 'I accept the rules (required)' })).toBeTruthy();
    const site = screen.getByLabelText('Your website');
    expect(site.getAttribute('type')).toBe('url');
    // The help is read with the field; no error yet.
    expect(describedText(site)).toBe('A portfolio or a profile.');
    expect(site.getAttribute('aria-invalid')).toBeNull();
  });

  test('on submit: each refused answer says why, tied to its controls, and the focus goes to the first', async () => {
    const onValid = jest.fn();
    render(<Harness onValid={onValid} />);
    fireEvent.change(screen.getByLabelText(/Why do you want to join\?/), {
      target: { value: 'Because I like it very much.' },
    });
    fireEvent.change(screen.getByLabelText('Your website'), { target: { value: 'example.com' } });
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Send' }));
    });
    const why = screen.getByLabelText(/Why do you want to join\?/);
    expect(why.getAttribute('aria-invalid')).toBe('true');
    expect(describedText(why)).toBe('Up to 20 characters. | Please keep it to 20 characters (now 28).');
    expect(document.activeElement).toBe(why);

    const game = screen.getByRole('radiogroup', { name: 'Favourite game (required)' });
    expect(game.getAttribute('aria-invalid')).toBe('true');
    for (const radio of within(game).getAllByRole('radio')) {
      expect(radio.getAttribute('aria-invalid')).toBe('true');
      expect(describedText(radio)).toBe('Please choose an option.');
    }
    const rules = screen.getByRole('checkbox', { name: 'I accept the rules (required)' });
    expect(describedText(rules)).toBe('Please tick this box to continue.');
    expect(describedText(screen.getByLabelText('Your website'))).toBe(
      'A portfolio or a profile. | Please enter a full web address, starting with https://',
    );
    // An optional group left empty is not an error.
    expect(screen.getByRole('group', { name: 'Topics' }).getAttribute('aria-invalid')).toBeNull();
    expect(onValid).not.toHaveBeenCalled();

    // Fixed: the errors go and the answers are sent as the API takes them.
    fireEvent.change(why, { target: { value: 'To learn.' } });
    fireEvent.click(within(game).getByLabelText('Go'));
    fireEvent.click(screen.getByLabelText('Code'));
    fireEvent.click(rules);
    fireEvent.change(screen.getByLabelText('Your website'), { target: { value: '' } });
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Send' }));
    });
    expect(onValid).toHaveBeenCalledTimes(1);
    const values = onValid.mock.calls[0]![0] as ApplyValues;
    expect(answersToSend(QUESTIONS, values.answers)).toEqual({
      why_join: 'To learn.',
      game: 'Go',
      topics: ['Code'],
      rules: true,
    });
    expect(why.getAttribute('aria-invalid')).toBeNull();
  });

  test('answerError and the server message parser', () => {
    const short: Question = { id: 'nick', label: 'Nick', type: 'short_text', required: false };
    expect(answerError(short, '   ')).toBeNull();
    expect(answerError({ ...short, required: true }, '   ')).toBe('Please answer this question.');
    expect(answerError(short, 'x'.repeat(201))).toBe('Please keep it to 200 characters (now 201).');
    expect(answerError({ ...short, type: 'multiple_choice', required: true, options: ['a'] }, [])).toBe(
      'Please choose at least one option.',
    );
    expect(fieldsOfServerError('answers.why_join: must be at most 20 characters; applicant.email: is invalid')).toEqual(
      [
        { field: 'answers.why_join', message: 'must be at most 20 characters' },
        { field: 'applicant.email', message: 'is invalid' },
      ],
    );
    expect(fieldsOfServerError('answers.topics.1: is not one of the options')).toEqual([
      { field: 'answers.topics', message: 'is not one of the options' },
    ]);
    expect(fieldsOfServerError('Something else went wrong.')).toEqual([]);
  });
});

describe('keyboard shortcuts', () => {
  const key = (init: Partial<KeyboardEvent> & { target: EventTarget | null }) =>
    shortcutOf({ key: 'a', ctrlKey: false, metaKey: false, altKey: false, shiftKey: false, ...init });

  test('plain keys never fire while typing; Ctrl+Enter does', () => {
    const input = document.createElement('input');
    const textarea = document.createElement('textarea');
    const checkbox = Object.assign(document.createElement('input'), { type: 'checkbox' });
    const editable = document.createElement('div');
    editable.setAttribute('contenteditable', 'true');
    expect([input, textarea, document.createElement('select'), editable].map(isTypingTarget)).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(isTypingTarget(checkbox)).toBe(false);
    expect(isTypingTarget(document.body)).toBe(false);
    expect(key({ target: document.body })).toBe('a');
    expect(key({ key: 'J', target: document.body })).toBe('j');
    expect(key({ target: input })).toBeNull();
    expect(key({ target: textarea })).toBeNull();
    expect(key({ ctrlKey: true, target: document.body })).toBeNull();
    expect(key({ key: 'Enter', target: document.body })).toBe('Enter');
    expect(key({ key: 'Enter', target: document.createElement('button') })).toBeNull();
    expect(key({ key: 'Enter', ctrlKey: true, target: textarea })).toBe('Mod+Enter');
    expect(key({ key: 'Enter', metaKey: true, target: input })).toBe('Mod+Enter');
  });

  function Shortcuts({ map }: { map: ShortcutMap }) {
    useShortcuts(map);
    return (
      <>
        <input aria-label="Search" />
        <textarea aria-label="Note" />
        <button type="button">Other</button>
      </>
    );
  }

  test('useShortcuts: a, j, r on the page act; the same keys typed in a field do not', () => {
    const approve = jest.fn();
    const next = jest.fn();
    const reject = jest.fn();
    const send = jest.fn();
    render(<Shortcuts map={{ a: approve, j: next, r: reject, 'Mod+Enter': send }} />);
    fireEvent.keyDown(document.body, { key: 'a' });
    fireEvent.keyDown(document.body, { key: 'j' });
    fireEvent.keyDown(screen.getByRole('button', { name: 'Other' }), { key: 'r' });
    expect([approve, next, reject].map((f) => f.mock.calls.length)).toEqual([1, 1, 1]);

    for (const field of [screen.getByLabelText('Search'), screen.getByLabelText('Note')]) {
      for (const k of ['a', 'j', 'r', 'k']) fireEvent.keyDown(field, { key: k });
    }
    fireEvent.keyDown(document.body, { key: 'a', ctrlKey: true });
    expect([approve, next, reject].map((f) => f.mock.calls.length)).toEqual([1, 1, 1]);

    fireEvent.keyDown(screen.getByLabelText('Note'), { key: 'Enter', ctrlKey: true });
    expect(send).toHaveBeenCalledTimes(1);
  });
});

describe('the form editor helpers', () => {
  test('a question key comes from its label, unique in the form', () => {
    expect(idFromLabel('Why do you want to join?')).toBe('why_do_you_want_to_join');
    expect(idFromLabel('2 friends who vouch')).toBe('q_2_friends_who_vouch');
    expect(idFromLabel('Éclair préféré')).toBe('eclair_prefere');
    expect(idFromLabel('Age', ['age', 'age_2'])).toBe('age_3');
    expect(idFromLabel('x'.repeat(60))).toHaveLength(40);
    expect(slugError('staff')).toBeNull();
    expect(slugError('new')).toMatch(/used by the app's own pages/);
    expect(slugError('Staff Form')).toMatch(/lowercase/);
  });

  test('a saved form round-trips through the editor; a 400 names the editor field', () => {
    const form: Form = {
      id: 'f1',
      organizationId: 'o1',
      slug: 'staff',
      title: 'Staff',
      description: '',
      cooldownDays: 30,
      shareNotes: true,
      isDefault: false,
      version: 2,
      applicationCount: 3,
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
      questions: QUESTIONS,
    };
    expect(fromEditor(toEditor(form))).toEqual({
      title: 'Staff',
      slug: 'staff',
      description: '',
      cooldownDays: 30,
      shareNotes: true,
      questions: QUESTIONS,
    });
    expect(editorFieldOf('questions.1.options: must hold at least 1 option')).toEqual({
      path: 'questions.1.optionsText',
      message: 'must hold at least 1 option',
    });
    expect(editorFieldOf('questions.0.id: must be a key like why_join')).toEqual({
      path: 'questions.0.qid',
      message: 'must be a key like why_join',
    });
    expect(editorFieldOf('slug: is taken')).toEqual({ path: 'slug', message: 'is taken' });
  });
});

describe('the public form', () => {
  const publicForm: PublicForm = {
    organization: { slug: 'acme', name: 'Acme', requireDiscordSignIn: false },
    form: {
      slug: 'staff',
      title: 'Staff application',
      description: 'Help us run the club.',
      version: 1,
      cooldownDays: 30,
      questions: [QUESTIONS[0]!, { ...QUESTIONS[1]!, required: false }],
    },
  };
  const renderApply = () =>
    render(
      <MemoryRouter initialEntries={['/apply/acme/staff']}>
        <Routes>
          <Route path="/apply/:orgSlug/:formSlug" element={<ApplyPage />} />
        </Routes>
      </MemoryRouter>,
    );
  const fill = () => {
    fireEvent.change(screen.getByLabelText(/^Name/), { target: { value: 'Ada' } });
    fireEvent.change(screen.getByLabelText(/^Email/), { target: { value: 'ada@example.com' } });
    fireEvent.change(screen.getByLabelText(/Why do you want to join\?/), { target: { value: 'To learn.' } });
  };

  test("the server's 400 lands on the question it names, which takes the focus", async () => {
    const calls = mockFetch({
      'GET /api/public/organizations/acme/applicant': { body: { discordUser: null, applications: [] } },
      'GET /api/public/organizations/acme/forms/staff': { body: publicForm },
      'POST /api/public/organizations/acme/forms/staff/applications': {
        status: 400,
        body: { error: { code: 'invalid_request', message: 'answers.why_join: must not contain control characters' } },
      },
    });
    renderApply();
    await screen.findByRole('heading', { name: 'Staff application — Acme' });
    fill();
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Submit application' }));
    });
    const why = screen.getByLabelText(/Why do you want to join\?/);
    await waitFor(() => expect(why.getAttribute('aria-invalid')).toBe('true'));
    expect(describedText(why)).toMatch(/must not contain control characters$/);
    expect(document.activeElement).toBe(why);
    expect(calls.find((c) => c.method === 'POST')!.body).toEqual({
      applicant: { name: 'Ada', email: 'ada@example.com' },
      answers: { why_join: 'To learn.' },
    });
  });

  test('a cooldown 409 says the date the applicant may apply again; a success shows the status link', async () => {
    let refused = true;
    mockFetch({
      'GET /api/public/organizations/acme/applicant': { body: { discordUser: null } },
      'GET /api/public/organizations/acme/forms/staff': { body: publicForm },
      'POST /api/public/organizations/acme/forms/staff/applications': () =>
        refused
          ? {
              status: 409,
              body: {
                error: {
                  code: 'cooldown',
                  message: 'You may apply again on 2031-03-04.',
                  retryAfter: '2031-03-04T12:00:00.000Z',
                },
              },
            }
          : { status: 201, body: { id: 'a1', status: 'Pending', statusUrl: 'http://localhost/status/a1?token=t' } },
    });
    renderApply();
    await screen.findByRole('heading', { name: 'Staff application — Acme' });
    fill();
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Submit application' }));
    });
    const expected = new Date('2031-03-04T12:00:00.000Z').toLocaleString(undefined, {
      dateStyle: 'long',
      timeStyle: 'short',
    });
    expect((await screen.findByRole('alert')).textContent).toBe(
      `You cannot apply to this form again yet. You may apply again from ${expected}.`,
    );
    refused = false;
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Submit application' }));
    });
    await screen.findByRole('heading', { name: 'Application received' });
    expect(screen.getByTestId('status-link').getAttribute('href')).toBe('http://localhost/status/a1?token=t');
  });
});

describe('the applications list', () => {
  const me: Me = {
    user: { id: 'u2', email: 'rev@example.com', role: 'reviewer' },
    organization: { id: 'o1', slug: 'acme', name: 'Acme' },
  };
  const pending = (n: number, name: string): Application => ({
    id: `00000000-0000-4000-8000-00000000000${n}`,
    organizationId: 'o1',
    applicant: { name, email: `${name.toLowerCase()}@example.com` },
    custom_data: {},
    formId: '00000000-0000-4000-8000-0000000000f1',
    formVersion: 1,
    answers: {},
    discordUser: null,
    status: 'Pending',
    notes: null,
    reviewedBy: null,
    reviewedAt: null,
    roleAssignment: { status: 'not_applicable', error: null, errorType: null, attemptedAt: null, retryCount: 0 },
    createdAt: '2026-01-02T10:00:00.000Z',
    updatedAt: '2026-01-02T10:00:00.000Z',
  });

  test('j/k highlight a row, r rejects it; a note typed in the list goes with the decision, and typing it fires nothing', async () => {
    mockFetch({ 'POST /api/auth/login': { body: me } });
    await sessionStore.signIn(me.user.email, 'pw');
    const [ada, grace] = [pending(1, 'Ada'), pending(2, 'Grace')];
    const decided = (app: Application) => () => ({ body: { ...app, status: 'Rejected' } });
    const calls = mockFetch({
      'GET /api/applications': { body: { items: [ada, grace], nextCursor: null } },
      [`POST /api/applications/${ada.id}/review`]: decided(ada),
      [`POST /api/applications/${grace.id}/review`]: decided(grace),
    });
    render(
      <MemoryRouter initialEntries={['/applications']}>
        <ApplicationsPage />
      </MemoryRouter>,
    );
    const rows = await screen.findAllByTestId('application-row');
    expect(screen.getByTestId('shortcut-hint').textContent).toMatch(/j\/k move down\/up, Enter opens/);
    expect(within(rows[0]!).getByRole('link', { name: 'Ada' }).getAttribute('href')).toBe(`/applications/${ada.id}`);

    // A note for Grace: typing "a" and "r" in it approves and rejects nothing.
    fireEvent.click(within(rows[1]!).getByRole('button', { name: 'Add a note for Grace' }));
    const note = within(rows[1]!).getByRole('textbox', { name: 'Note for Grace' });
    for (const k of ['j', 'a', 'r']) fireEvent.keyDown(note, { key: k });
    fireEvent.change(note, { target: { value: 'Not a member of the club.' } });
    expect(calls.filter((c) => c.method === 'POST')).toEqual([]);
    expect(rows.map((r) => r.getAttribute('data-current'))).toEqual([null, null]);

    // j j k: the first row; r rejects it, without a note.
    for (const k of ['j', 'j', 'k']) fireEvent.keyDown(document.body, { key: k });
    expect(rows.map((r) => r.getAttribute('data-current'))).toEqual(['true', null]);
    fireEvent.keyDown(document.body, { key: 'r' });
    await waitFor(() => expect(calls.filter((c) => c.method === 'POST')).toHaveLength(1));
    // Grace's own Reject button sends her note.
    fireEvent.click(within(rows[1]!).getByRole('button', { name: 'Reject Grace' }));
    await waitFor(() => expect(calls.filter((c) => c.method === 'POST')).toHaveLength(2));
    expect(calls.filter((c) => c.method === 'POST').map((c) => [c.path, c.body])).toEqual([
      [`/api/applications/${ada.id}/review`, { decision: 'reject' }],
      [`/api/applications/${grace.id}/review`, { decision: 'reject', note: 'Not a member of the club.' }],
    ]);
  });
});

describe('the status page', () => {
  const renderStatus = (path: string) =>
    render(
      <MemoryRouter initialEntries={[path]}>
        <Routes>
          <Route path="/status/:applicationId" element={<StatusPage />} />
        </Routes>
      </MemoryRouter>,
    );
  const base: PublicStatus = {
    status: 'received',
    roleGranted: false,
    serverUrl: null,
    note: null,
    organization: { name: 'Acme', slug: 'acme' },
    form: { title: 'Staff application' },
    submittedAt: '2026-01-02T10:00:00.000Z',
    decidedAt: null,
  };

  test.each([
    [base, 'Received', null],
    [{ ...base, status: 'approved' as const }, 'Approved', null],
    [
      { ...base, status: 'approved' as const, roleGranted: true, serverUrl: 'https://discord.com/channels/1' },
      'Approved — role granted',
      'https://discord.com/channels/1',
    ],
    [{ ...base, status: 'rejected' as const, note: 'Try again next year.' }, 'Not accepted', null],
  ])(
    '%#: shows the state, the server link only once the role is granted, the note when given',
    async (answer, title, link) => {
      mockFetch({ 'GET /api/public/applications/a1/status': { body: answer } });
      renderStatus('/status/a1?token=t');
      expect((await screen.findByTestId('status-title')).textContent).toBe(title);
      expect(screen.queryByRole('link', { name: 'Open the Discord server' })?.getAttribute('href') ?? null).toBe(link);
      expect(screen.queryByTestId('status-note')?.textContent ?? null).toBe(
        answer.note ? `Note from the reviewers${answer.note}` : null,
      );
    },
  );

  test('a wrong token and a link without one read "This link is not valid."', async () => {
    const calls = mockFetch({
      'GET /api/public/applications/a1/status': {
        status: 404,
        body: { error: { code: 'not_found', message: 'No such application.' } },
      },
    });
    const { unmount } = renderStatus('/status/a1?token=wrong');
    expect((await screen.findByRole('alert')).textContent).toBe('This link is not valid.');
    unmount();
    renderStatus('/status/a1');
    expect((await screen.findByRole('alert')).textContent).toBe('This link is not valid.');
    expect(calls).toHaveLength(1);
  });
});

test('an applicant signed in with Discord sees their applications and their status links', async () => {
  mockFetch({
    'GET /api/public/organizations/acme/applicant': {
      body: {
        discordUser: {
          id: '300000000000000001',
          username: 'ada',
          globalName: 'Ada',
          avatarUrl: null,
          accountCreatedAt: '2020-01-01T00:00:00.000Z',
        },
        applications: [
          {
            id: 'a1',
            formTitle: 'Membership application',
            submittedAt: '2026-01-02T10:00:00.000Z',
            status: 'rejected',
            statusUrl: 'http://localhost/status/a1?token=t',
          },
        ],
      },
    },
    'GET /api/public/organizations/acme/form': {
      body: {
        organization: { slug: 'acme', name: 'Acme', requireDiscordSignIn: true },
        form: {
          slug: 'apply',
          title: 'Membership application',
          description: '',
          version: 1,
          cooldownDays: 0,
          questions: [],
        },
      },
    },
  });
  render(
    <MemoryRouter initialEntries={['/apply/acme']}>
      <Routes>
        <Route path="/apply/:orgSlug" element={<ApplyPage />} />
      </Routes>
    </MemoryRouter>,
  );
  const mine = await screen.findByTestId('your-applications');
  expect(within(mine).getByRole('heading', { name: 'Your applications' })).toBeTruthy();
  expect(within(mine).getByText(/Not accepted/)).toBeTruthy();
  expect(within(mine).getByRole('link', { name: 'See its status' }).getAttribute('href')).toBe(
    'http://localhost/status/a1?token=t',
  );
  expect(screen.getByRole('button', { name: 'Submit application' })).toHaveProperty('disabled', false);
});

describe('the application detail', () => {
  const me: Me = {
    user: { id: 'u2', email: 'rev@example.com', role: 'reviewer' },
    organization: { id: 'o1', slug: 'acme', name: 'Acme' },
  };
  const app = (n: number, name: string): Application => ({
    id: `00000000-0000-4000-8000-00000000001${n}`,
    organizationId: 'o1',
    applicant: { name, email: `${name.toLowerCase()}@example.com` },
    custom_data: {},
    formId: '00000000-0000-4000-8000-0000000000f1',
    formVersion: 1,
    answers: { why_join: 'To learn.', rules: true },
    discordUser: null,
    status: 'Pending',
    notes: null,
    reviewedBy: null,
    reviewedAt: null,
    roleAssignment: { status: 'not_applicable', error: null, errorType: null, attemptedAt: null, retryCount: 0 },
    createdAt: '2026-01-02T10:00:00.000Z',
    updatedAt: '2026-01-02T10:00:00.000Z',
  });

  test('r chooses reject and focuses the note; Ctrl+Enter sends it; j opens the next of the queue', async () => {
    mockFetch({ 'POST /api/auth/login': { body: me } });
    await sessionStore.signIn(me.user.email, 'pw');
    const [first, second] = [app(1, 'Ada'), app(2, 'Grace')];
    const form: Form = {
      id: first.formId,
      organizationId: 'o1',
      slug: 'apply',
      title: 'Membership application',
      description: '',
      cooldownDays: 0,
      shareNotes: false,
      isDefault: true,
      version: 1,
      applicationCount: 2,
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
      questions: [
        { id: 'why_join', label: 'Why join?', type: 'long_text', required: true },
        { id: 'rules', label: 'I accept the rules', type: 'checkbox', required: true },
      ],
    };
    const calls = mockFetch({
      [`GET /api/applications/${first.id}`]: { body: first },
      [`GET /api/applications/${second.id}`]: { body: second },
      'GET /api/applications': { body: { items: [first, second], nextCursor: null } },
      [`GET /api/forms/${form.id}`]: { body: form },
      [`GET /api/applications/${first.id}/timeline`]: {
        body: {
          items: [
            {
              at: '2026-01-02T10:00:00.000Z',
              action: 'application.submitted',
              actor: null,
              detail: 'Application submitted.',
            },
          ],
        },
      },
      [`GET /api/applications/${second.id}/timeline`]: { body: { items: [] } },
      [`POST /api/applications/${first.id}/review`]: { body: { ...first, status: 'Rejected', notes: 'Not yet.' } },
    });
    render(
      <MemoryRouter initialEntries={[`/applications/${first.id}?status=Pending`]}>
        <Routes>
          <Route path="/applications/:id" element={<ApplicationDetailPage />} />
        </Routes>
      </MemoryRouter>,
    );
    await screen.findByRole('heading', { name: 'Ada' });
    const answers = await screen.findByTestId('answers');
    expect(Array.from(answers.querySelectorAll('dt')).map((d) => d.textContent)).toEqual([
      'Why join?',
      'I accept the rules',
    ]);
    expect(Array.from(answers.querySelectorAll('dd')).map((d) => d.textContent)).toEqual(['To learn.', 'Yes']);
    expect((await screen.findByTestId('timeline')).textContent).toMatch(/Application submitted\./);
    expect(calls.some((c) => c.path === `/api/forms/${form.id}?version=1`)).toBe(true);
    // The queue is the list's: the filter went along.
    await waitFor(() => expect(calls.some((c) => c.path.startsWith('/api/applications?status=Pending'))).toBe(true));

    fireEvent.keyDown(document.body, { key: 'r' });
    const note = screen.getByLabelText('Note (optional)');
    expect(document.activeElement).toBe(note);
    expect((screen.getByRole('radio', { name: 'Reject' }) as HTMLInputElement).checked).toBe(true);
    // Typing in the note is typing: "a" does not switch to approve.
    fireEvent.keyDown(note, { key: 'a' });
    fireEvent.change(note, { target: { value: 'Not yet.' } });
    expect((screen.getByRole('radio', { name: 'Reject' }) as HTMLInputElement).checked).toBe(true);
    fireEvent.keyDown(note, { key: 'Enter', ctrlKey: true });
    await screen.findByText('Rejected.');
    expect(calls.filter((c) => c.method === 'POST').map((c) => [c.path, c.body])).toEqual([
      [`/api/applications/${first.id}/review`, { decision: 'reject', note: 'Not yet.' }],
    ]);

    fireEvent.keyDown(document.body, { key: 'j' });
    await screen.findByRole('heading', { name: 'Grace' });
  });
});
