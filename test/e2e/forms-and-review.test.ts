import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { buildWebIfStale } from '../../src/dev/web-build.js';
import { connect, waitForConnection } from '../helpers/discord-connect.js';
import { pollUntil } from '../helpers/poll.js';
import { PASSWORD, startStack, type Org, type Stack } from '../helpers/stack.js';

/**
 * Forms and review in a real browser (Debian `chromium`, headless) against the real API, Postgres,
 * Temporal server, worker and the Discord sandbox: an admin builds a form in the editor, an
 * applicant answers it on a phone, a reviewer decides with the keyboard, and the applicant's status
 * page shows the outcome. The tests run in order and build on each other.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ROOT = path.resolve(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), '../..');
const SHOTS = path.join(ROOT, 'test-results', 'e2e');

let stack: Stack;
let org: Org;
let guildId: string;
let browser: Browser;
let admin: BrowserContext;
let applicant: BrowserContext;
let reviewer: BrowserContext;
let adminCookie: string;

const shot = (p: Page, name: string) => p.screenshot({ path: path.join(SHOTS, `forms-${name}.png`), fullPage: true });

async function expectText(locator: Locator, text: string | RegExp, timeout = 15_000): Promise<void> {
  const deadline = Date.now() + timeout;
  let last = '';
  while (Date.now() < deadline) {
    last = (await locator.textContent({ timeout }).catch(() => '')) ?? '';
    if (typeof text === 'string' ? last.trim() === text : text.test(last)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`expected ${locator} to read ${String(text)}; last read ${JSON.stringify(last)}`);
}

async function signIn(context: BrowserContext, email: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto('/login');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/applications$/);
  return page;
}

/** The element the focus is on: its tag, its accessible label's text and aria-invalid. */
const focused = (page: Page) =>
  page.evaluate(() => {
    const el = document.activeElement as HTMLInputElement | null;
    return {
      tag: el?.tagName.toLowerCase() ?? null,
      label: el?.labels?.[0]?.textContent?.trim() ?? null,
      invalid: el?.getAttribute('aria-invalid') ?? null,
      describedBy: (el?.getAttribute('aria-describedby') ?? '')
        .split(' ')
        .filter(Boolean)
        .map((id) => document.getElementById(id)?.textContent ?? '')
        .join(' | '),
    };
  });

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(
      `The browser tests need Chromium at ${CHROMIUM} (Debian: apt-get install -y chromium; or set CHROMIUM_PATH). ` +
        'They never download a browser.',
    );
  }
  fs.mkdirSync(SHOTS, { recursive: true });
  await Promise.all([
    // Vite cannot run inside jest's VM modules: it builds in a child process.
    buildWebIfStale({ childProcess: true }),
    startStack().then((s) => (stack = s)),
    chromium
      .launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
      })
      .then((b) => (browser = b)),
  ]);
  // Applicants must sign in with Discord (the default for a new organization).
  org = await stack.createOrg('Forms Club');
  guildId = stack.sandbox.createGuild({ name: 'Forms Guild' }).id;
  adminCookie = await stack.login(org.adminEmail);
  expect(await connect(stack, adminCookie, guildId)).toMatch(/^(success=bot_connected|status=connecting)$/);
  await waitForConnection(stack, adminCookie, (v) => v.state === 'connected');
  const desktop = { baseURL: stack.app.baseUrl, viewport: { width: 1280, height: 800 } };
  admin = await browser.newContext(desktop);
  reviewer = await browser.newContext(desktop);
  applicant = await browser.newContext({
    baseURL: stack.app.baseUrl,
    viewport: { width: 375, height: 812 },
    isMobile: true,
    hasTouch: true,
  });
  for (const c of [admin, reviewer, applicant]) c.setDefaultTimeout(15_000);
}, 120_000);

afterAll(async () => {
  await Promise.all([admin?.close(), reviewer?.close(), applicant?.close()]);
  await browser?.close();
  await stack?.close();
});

let formId: string;
const FORM_SLUG = 'staff-application';

test('an admin builds a form with three questions in the editor', async () => {
  const page = await signIn(admin, org.adminEmail);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Forms' }).click();
  await page.getByRole('heading', { name: 'Forms' }).waitFor();
  await page.getByRole('link', { name: 'New form' }).click();
  await page.waitForURL(/\/forms\/new$/);

  await page.getByLabel('Title', { exact: true }).fill('Staff application');
  // The address follows the title until it is typed by hand.
  await expect(page.getByLabel('Address (slug)').inputValue()).resolves.toBe(FORM_SLUG);
  await page.getByLabel('Days before applying again').fill('14');
  await page.getByLabel("Show the reviewer's note to the applicant on their status page").check();

  const question = (n: number) => page.getByRole('group', { name: `Question ${n}`, exact: true });
  await page.getByRole('button', { name: 'Add a question' }).click();
  await question(1).getByLabel('Question text').fill('Why do you want to join?');
  await question(1).getByLabel('Answer type').selectOption('long_text');
  await question(1)
    .getByLabel(/^Maximum length/)
    .fill('300');
  // The answer's key comes from the question.
  await expect(question(1).getByLabel('Answer key').inputValue()).resolves.toBe('why_do_you_want_to_join');

  await page.getByRole('button', { name: 'Add a question' }).click();
  await question(2).getByLabel('Question text').fill('I accept the rules');
  await question(2).getByLabel('Answer type').selectOption('checkbox');

  await page.getByRole('button', { name: 'Add a question' }).click();
  await question(3).getByLabel('Question text').fill('How did you hear about us?');
  await question(3).getByLabel('Answer type').selectOption('single_choice');
  await question(3).getByLabel('Options (one per line)').fill('A friend\nA search engine\nAn event');
  await question(3).getByLabel('Answer key').fill('heard_from');
  // The choice goes before the rules.
  await page.getByRole('button', { name: 'Move How did you hear about us? up' }).click();
  await expect(question(2).getByLabel('Question text').inputValue()).resolves.toBe('How did you hear about us?');
  await shot(page, '01-editor');

  await page.getByRole('button', { name: 'Create form' }).click();
  await page.waitForURL(/\/forms\/[0-9a-f-]{36}$/);
  await page.getByText('Saved. This is version 1.').waitFor();
  await expectText(page.getByTestId('form-version'), /^Version 1\. No application answered it yet/);
  formId = page.url().split('/').pop()!;

  const res = await stack.api(`/api/forms/${formId}`, { cookie: adminCookie });
  const form = (await res.json()) as { slug: string; cooldownDays: number; shareNotes: boolean; questions: unknown[] };
  expect(form).toMatchObject({
    slug: FORM_SLUG,
    cooldownDays: 14,
    shareNotes: true,
    questions: [
      { id: 'why_do_you_want_to_join', type: 'long_text', required: true, maxLength: 300 },
      {
        id: 'heard_from',
        type: 'single_choice',
        required: true,
        options: ['A friend', 'A search engine', 'An event'],
      },
      { id: 'i_accept_the_rules', type: 'checkbox', required: true },
    ],
  });
  // The Forms list shows it with its public address.
  await page.getByRole('link', { name: '← Forms' }).click();
  const row = page.locator(`[data-testid="form-row"][data-id="${formId}"]`);
  await expectText(
    row.getByRole('link', { name: `/apply/${org.slug}/${FORM_SLUG}` }),
    `/apply/${org.slug}/${FORM_SLUG}`,
  );
  await shot(page, '02-forms-list');
});

let statusUrl: string;
let applicationId: string;
test('an applicant answers it on a phone: Discord sign-in first, a refused field fixed, then the status link', async () => {
  const form = await applicant.newPage();
  await form.goto(`/apply/${org.slug}/${FORM_SLUG}`);
  await form.getByRole('heading', { name: 'Staff application — Forms Club' }).waitFor();
  // The questions wait for the Discord sign-in.
  await expect(form.getByRole('button', { name: 'Submit application' }).isDisabled()).resolves.toBe(true);
  await form.getByRole('link', { name: 'Sign in with Discord' }).tap();
  await form.getByRole('heading', { name: /wants to access your account/ }).waitFor();
  await form.getByLabel('A new user:').check();
  await form.getByLabel('username').fill('ada_applicant');
  await form.getByLabel('display name').fill('Ada Lovelace');
  await form.getByRole('button', { name: 'Authorize' }).tap();
  // Back on the form it started from, signed in.
  await form.waitForURL(new RegExp(`/apply/${org.slug}/${FORM_SLUG}\\?verified=1$`));
  await expectText(form.getByTestId('discord-account'), /Ada Lovelace @ada_applicant verified/);

  await form.getByLabel(/^Name/).fill('Ada Lovelace');
  await form.getByLabel(/^Email/).fill('ada@example.com');
  await form.getByLabel(/^Why do you want to join\?/).fill('To build analytical engines together.');
  await form
    .getByRole('radiogroup', { name: /How did you hear about us\?/ })
    .getByLabel('A friend')
    .tap();
  // The rules are left unticked: the form refuses, says why under the box, and moves the focus there.
  await form.getByRole('button', { name: 'Submit application' }).tap();
  const rules = form.getByRole('checkbox', { name: /I accept the rules/ });
  await expect(rules.getAttribute('aria-invalid')).resolves.toBe('true');
  await expect(focused(form)).resolves.toMatchObject({
    tag: 'input',
    invalid: 'true',
    describedBy: 'Please tick this box to continue.',
  });
  // Nothing scrolls sideways on a 375 px screen.
  await expect(form.evaluate(() => document.documentElement.scrollWidth)).resolves.toBeLessThanOrEqual(375);
  await shot(form, '03-apply-phone-refused');

  await rules.tap();
  await expect(rules.getAttribute('aria-invalid')).resolves.toBeNull();
  await form.getByRole('button', { name: 'Submit application' }).tap();
  await form.getByRole('heading', { name: 'Application received' }).waitFor();
  statusUrl = (await form.getByTestId('status-link').getAttribute('href'))!;
  expect(statusUrl).toMatch(/\/status\/[0-9a-f-]{36}\?token=/);
  applicationId = new URL(statusUrl).pathname.split('/').pop()!;
  await expect(form.evaluate(() => document.documentElement.scrollWidth)).resolves.toBeLessThanOrEqual(375);
  await shot(form, '04-apply-phone-received');

  await form.goto(statusUrl);
  await expectText(form.getByTestId('status-title'), 'Received');
});

test('a reviewer opens the detail, sees the answers and the verified identity, and approves with a note by keyboard', async () => {
  const page = await signIn(reviewer, org.reviewerEmail);
  const row = page.locator(`[data-testid="application-row"][data-id="${applicationId}"]`);
  await row.waitFor();
  await page.getByTestId('shortcut-hint').waitFor();
  // Keyboard only from here: j highlights the first application, Enter opens it.
  await page.keyboard.press('j');
  await expect(row.getAttribute('data-current')).resolves.toBe('true');
  await page.keyboard.press('Enter');
  await page.waitForURL(new RegExp(`/applications/${applicationId}$`));
  await page.getByRole('heading', { name: 'Ada Lovelace' }).waitFor();

  const answers = page.getByTestId('answers');
  await expectText(
    answers.locator('[data-question="why_do_you_want_to_join"]'),
    /^Why do you want to join\?\s*To build analytical engines together\.$/,
  );
  await expectText(answers.locator('[data-question="heard_from"]'), /^How did you hear about us\?\s*A friend$/);
  await expectText(answers.locator('[data-question="i_accept_the_rules"]'), /^I accept the rules\s*Yes$/);
  await expectText(page.getByTestId('answered-form'), 'Staff application, version 1');
  await expectText(page.getByTestId('discord-identity'), /Ada Lovelace @ada_applicant verified/);
  await expectText(page.getByTestId('timeline').locator('li').first(), /submitted/i);
  await shot(page, '05-detail');

  // a: approve, the focus in the note; Ctrl+Enter sends.
  await page.keyboard.press('a');
  await expect(focused(page)).resolves.toMatchObject({ tag: 'textarea', label: 'Note (optional)' });
  await page.keyboard.type('Welcome aboard, Ada!');
  await page.keyboard.press('Control+Enter');
  await expectText(page.getByTestId('status-badge'), 'Approved – role assigned', 30_000);
  await expectText(page.getByTestId('review-note'), 'Welcome aboard, Ada!');
  await expectText(page.getByTestId('timeline'), /Welcome aboard, Ada!/);
  const ada = stack.sandbox.users().find((u) => u.username === 'ada_applicant')!;
  const approvedRole = stack.sandbox.roles(guildId).find((r) => r.name === 'Approved')!.id;
  expect(stack.sandbox.member(guildId, ada.id)?.roles).toContain(approvedRole);
  await shot(page, '06-detail-approved');
});

test("the applicant's status page shows role granted with the server link and the note; a tampered link is refused", async () => {
  const page = await applicant.newPage();
  await page.goto(statusUrl);
  const status = page.getByTestId('application-status');
  await expectText(page.getByTestId('status-title'), 'Approved — role granted');
  await expect(status.getAttribute('data-status')).resolves.toBe('role_granted');
  expect(await page.getByRole('link', { name: 'Open the Discord server' }).getAttribute('href')).toBe(
    `https://discord.com/channels/${guildId}`,
  );
  await expectText(page.getByTestId('status-note'), /Welcome aboard, Ada!/);
  await expect(page.evaluate(() => document.documentElement.scrollWidth)).resolves.toBeLessThanOrEqual(375);
  await shot(page, '07-status-role-granted');

  const tampered = new URL(statusUrl);
  const token = tampered.searchParams.get('token')!;
  tampered.searchParams.set('token', `${token.startsWith('A') ? 'B' : 'A'}${token.slice(1)}`);
  await page.goto(tampered.toString());
  await expectText(page.getByRole('alert'), 'This link is not valid.');
});

test('editing the answered form makes version 2; the application still reads the questions of version 1', async () => {
  const page = admin.pages()[0]!;
  await page.goto(`/forms/${formId}`);
  await page.getByRole('heading', { name: 'Edit “Staff application”' }).waitFor();
  await expectText(
    page.getByTestId('form-version'),
    /^Version 1\. 1 application answered this form: saving creates version 2/,
  );
  await page.getByRole('button', { name: 'Add a question' }).click();
  const fourth = page.getByRole('group', { name: 'Question 4', exact: true });
  await fourth.getByLabel('Question text').fill('Your website');
  await fourth.getByLabel('Answer type').selectOption('url');
  await fourth.getByLabel('Required').uncheck();
  await page.getByRole('button', { name: 'Save as version 2' }).click();
  await page.getByText('Saved. This is version 2.').waitFor();
  await expectText(page.getByTestId('form-version'), /^Version 2\./);

  const detail = reviewer.pages()[0]!;
  await detail.reload();
  await expectText(detail.getByTestId('answered-form'), 'Staff application, version 1');
  await expect(detail.getByTestId('answers').locator('dt').allTextContents()).resolves.toEqual([
    'Why do you want to join?',
    'How did you hear about us?',
    'I accept the rules',
  ]);
});

test('the admin finds the decision in the audit log by application and action, and the form exports as CSV', async () => {
  const page = admin.pages()[0]!;
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit log' }).click();
  await page.getByRole('heading', { name: 'Audit log' }).waitFor();
  await page.getByLabel('Application ID').fill(applicationId);
  await page.getByLabel('Action').fill('application.');
  await page.getByRole('button', { name: 'Filter', exact: true }).click();
  await page.waitForURL(/\/audit-log\?applicationId=.*&action=application\.$/);
  const actions = async () =>
    (await page.getByTestId('audit-row').locator('td[data-label="Action"]').allTextContents()).map((t) => t.trim());
  // The unfiltered page stays until the filtered one arrives: wait for only this application's entries.
  await pollUntil(
    actions,
    (l) =>
      l.includes('application.approved') &&
      l.includes('application.submitted') &&
      l.every((a) => a.startsWith('application.')),
    { timeoutMs: 10_000, what: "only the application's entries, the approval and the submission among them" },
  );
  // Newest first, and every entry about this application.
  const list = await actions();
  expect(list[list.length - 1]).toBe('application.submitted');
  // The reviewer's entry links to only what that user did.
  const approved = page.getByTestId('audit-row').filter({ hasText: 'application.approved' });
  await approved.getByRole('link', { name: org.reviewerEmail }).click();
  await page.waitForURL(/\/audit-log\?userId=[0-9a-f-]{36}$/);
  // The filter form follows the address.
  await pollUntil(
    () => page.getByLabel('Application ID').inputValue(),
    (v) => v === '',
    { timeoutMs: 5_000, what: 'the application filter cleared' },
  );
  await pollUntil(
    actions,
    (l) => l.length > 0 && l.every((a) => a === 'application.approved' || a.startsWith('user.')),
    {
      timeoutMs: 10_000,
      what: "only the reviewer's entries",
    },
  );
  await shot(page, '08-audit-log');

  await page.goto('/forms');
  const row = page.locator(`[data-testid="form-row"][data-id="${formId}"]`);
  const href = await row.getByRole('link', { name: 'Export CSV of Staff application' }).getAttribute('href');
  expect(href).toBe(`/api/applications/export.csv?formId=${formId}`);
  const csv = await page.request.get(href!);
  expect(csv.status()).toBe(200);
  const text = await csv.text();
  expect(text).toContain('To build analytical engines together.');
});
