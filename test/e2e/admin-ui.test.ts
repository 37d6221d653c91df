import fs from 'node:fs';
import path from 'node:path';
import { PermissionFlagsBits } from 'discord-api-types/v10';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { buildWebIfStale } from '../../src/dev/web-build.js';
import { PASSWORD, startStack, type Org, type Stack } from '../helpers/stack.js';
import { pollUntil } from '../helpers/poll.js';
import { insertApplication } from '../../src/db/applications.js';

/**
 * The admin web UI in a real browser (the Debian `chromium` package, headless) against the real
 * API, Postgres, Temporal server, worker and the Discord sandbox. One browser for the file; the
 * tests run in order and build on each other (sign in → connect → apply → approve → ...).
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ROOT = path.resolve(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), '../..');
const SHOTS = path.join(ROOT, 'test-results', 'e2e');
const MEMBER = '300000000000000001';
const MISSING = '300000000000000002';
const TEMPORAL_UI = 'http://127.0.0.1:8233';

let stack: Stack;
let org: Org;
let guildId: string;
/** The guild's own roles: Member (usable), Moderator (carries a permission: cannot be added). */
let memberRoleId: string;
let moderatorRoleId: string;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let apiCookie: string;

const shot = (p: Page, name: string) => p.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
const row = (p: Page, id: string): Locator => p.locator(`[data-testid="application-row"][data-id="${id}"]`);
const badge = (r: Locator) => r.getByTestId('status-badge');

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

async function submitByApi(name: string, discordUserId: string): Promise<string> {
  const res = await stack.api(`/api/public/organizations/${org.slug}/applications`, {
    method: 'POST',
    body: {
      applicant: { name, email: `${name.toLowerCase().replace(/\W+/g, '.')}@example.com` },
      custom_data: { discord_user_id: discordUserId },
    },
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(
      `The browser tests need Chromium at ${CHROMIUM} (Debian: apt-get install -y chromium; or set CHROMIUM_PATH). ` +
        'They never download a browser.',
    );
  }
  fs.mkdirSync(SHOTS, { recursive: true });
  // Each is kept as soon as it exists, so afterAll stops whatever started even if another failed.
  await Promise.all([
    // Vite cannot run inside jest's VM modules: it builds in a child process.
    buildWebIfStale({ childProcess: true }),
    // No scheduled reconciliation during the run (a week apart): what the pages show comes from these tests.
    startStack({ env: { TEMPORAL_UI_URL: TEMPORAL_UI, DISCORD_RECONCILE_INTERVAL_MINUTES: '10080' } }).then(
      (s) => (stack = s),
    ),
    chromium
      .launch({
        executablePath: CHROMIUM,
        headless: true,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      })
      .then((b) => (browser = b)),
  ]);
  org = await stack.createOrg('Acme Guild Club', { requireDiscordSignIn: false });
  const guild = stack.sandbox.createGuild({
    name: 'Guild A',
    roles: [{ name: 'Member' }, { name: 'Moderator', permissions: PermissionFlagsBits.KickMembers }],
  });
  guildId = guild.id;
  [memberRoleId, moderatorRoleId] = guild.roleIds as [string, string];
  stack.sandbox.addMember(guildId, MEMBER);
  apiCookie = await stack.login(org.adminEmail);
  context = await browser.newContext({ baseURL: stack.app.baseUrl, viewport: { width: 1280, height: 800 } });
  context.setDefaultTimeout(15_000);
  page = await context.newPage();
}, 120_000);

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await stack?.close();
});

test('signs in; the header, navigation and page share one /api/me request', async () => {
  await page.goto('/applications');
  await page.waitForURL(/\/login\?next=%2Fapplications$/);
  await page.getByLabel('Email').fill(org.adminEmail);
  await page.getByLabel('Password').fill('wrong password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expectText(page.getByRole('alert'), 'The email or the password is wrong.');
  await shot(page, '01-login-error');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/applications$/);
  await page.getByRole('heading', { name: 'Applications' }).waitFor();

  // A fresh load: RequireSession, Layout, MainNav and UserMenu all need the user.
  const meRequests: string[] = [];
  page.on('request', (r) => {
    if (new URL(r.url()).pathname === '/api/me') meRequests.push(r.url());
  });
  await page.reload();
  await expectText(page.getByTestId('user-email'), `${org.adminEmail} (admin)`);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Operations' }).waitFor();
  await page.getByText('Acme Guild Club').waitFor();
  expect(meRequests).toHaveLength(1);
  await shot(page, '02-applications-empty');
});

test('connects Discord through the sandbox; a second tab connecting meanwhile is told to wait', async () => {
  await page.goto('/settings');
  const connectButton = page.getByRole('button', { name: 'Connect Discord Bot' });
  await connectButton.waitFor();
  await shot(page, '03-settings-disconnected');

  const second = await context.newPage();
  await second.goto('/settings');
  await Promise.all([connectButton.click(), second.getByRole('button', { name: 'Connect Discord Bot' }).click()]);
  await page.waitForURL(`${stack.sandbox.url}/oauth2/authorize?**`);
  await second.waitForURL(`${stack.sandbox.url}/oauth2/authorize?**`);
  await page.getByLabel('Guild A').check();
  await shot(page, '04-sandbox-authorize');

  // Discord answers the code exchange slowly: the first connection is still running when the second arrives.
  stack.sandbox.faults.add({ route: 'POST /oauth2/token', latencyMs: 3_000, times: 1 });
  const firstDone = page.getByRole('button', { name: 'Authorize' }).click();
  const deadline = Date.now() + 10_000;
  for (;;) {
    const res = await stack.api('/api/discord/connection', { cookie: apiCookie });
    if (((await res.json()) as { state: string }).state === 'connecting') break;
    if (Date.now() > deadline) throw new Error('the first connection never started');
    await new Promise((r) => setTimeout(r, 50));
  }
  await second.getByRole('button', { name: 'Authorize' }).click();
  await second.waitForURL(/\/settings(\?|$)/);
  await expectText(second.getByRole('alert'), 'Another connection attempt is already in progress. Please wait.');
  await second.getByText('Connecting…').waitFor();
  await shot(second, '05-settings-connection-in-progress');

  await firstDone;
  await page.waitForURL(/\/settings(\?|$)/);
  await expectText(page.locator('.connected'), 'Connected to Guild A — role Approved');
  await page.getByRole('button', { name: 'Disconnect' }).waitFor();
  expect(new URL(page.url()).search).toBe('');
  await shot(page, '06-settings-connected');
  // The second tab polls while connecting and settles on the same answer.
  await expectText(second.locator('.connected'), 'Connected to Guild A — role Approved');
  await second.close();
});

let formApplicationId: string;
test('submits an application through the public form, with inline validation', async () => {
  const visitor = await browser.newContext({ baseURL: stack.app.baseUrl, viewport: { width: 390, height: 844 } });
  const form = await visitor.newPage();
  const meRequests: string[] = [];
  form.on('request', (r) => {
    if (r.url().includes('/api/me')) meRequests.push(r.url());
  });
  await form.goto(`/apply/${org.slug}`);
  await form.getByRole('heading', { name: 'Membership application — Acme Guild Club' }).waitFor();
  await form.getByLabel('Name').fill('Ada Lovelace');
  await form.getByLabel('Email').fill('ada@example.com');
  const discordId = form.getByLabel('Discord user ID (optional)');
  await discordId.fill('ada#1234');
  await discordId.blur();
  await form.getByText('A Discord user ID is a number (17 to 20 digits), not your username.').waitFor();
  expect(await discordId.getAttribute('aria-invalid')).toBe('true');
  await form.getByText('Copy User ID').waitFor();
  await shot(form, '07-apply-invalid-discord-id');
  await discordId.fill(MEMBER);
  await form.getByRole('button', { name: 'Submit application' }).click();
  await form.getByRole('heading', { name: 'Application received' }).waitFor();
  const reference = (await form.getByText(/^Reference: /).textContent()) ?? '';
  formApplicationId = reference.replace('Reference: ', '').trim();
  expect(formApplicationId).toMatch(/^[0-9a-f-]{36}$/);
  await shot(form, '08-apply-confirmation');
  expect(meRequests).toHaveLength(0);
  await visitor.close();
});

test('approving shows "assigning role…" and then "role assigned"', async () => {
  // Discord takes a moment to grant the role, so the in-between state is visible.
  stack.sandbox.faults.add({ route: 'PUT /guilds/:guildId/members/:userId/roles/:roleId', latencyMs: 1_500, times: 1 });
  await page.goto('/applications');
  const r = row(page, formApplicationId);
  await expectText(badge(r), 'Pending');
  await r.getByRole('button', { name: 'Approve Ada Lovelace' }).click();
  await expectText(badge(r), 'Approved – assigning role…');
  await shot(page, '09-applications-assigning');
  await expectText(badge(r), 'Approved – role assigned');
  const roleId = stack.sandbox.roles(guildId).find((x) => x.name === 'Approved')!.id;
  expect(stack.sandbox.memberRoles(guildId, MEMBER)).toContain(roleId);
  await shot(page, '10-applications-assigned');
});

test('"Revoke approval" asks first, then the role is removing, then gone from the member in Discord', async () => {
  // Discord takes a moment to remove the role, so the in-between state is visible.
  stack.sandbox.faults.add({
    route: 'DELETE /guilds/:guildId/members/:userId/roles/:roleId',
    latencyMs: 1_500,
    times: 1,
  });
  await page.goto('/applications');
  const r = row(page, formApplicationId);
  await expectText(badge(r), 'Approved – role assigned');
  await r.getByRole('button', { name: 'Revoke the approval of Ada Lovelace' }).click();
  const confirm = r.getByRole('group', { name: 'Confirm revoking Ada Lovelace' });
  await expectText(confirm, /the role will be removed from the member in Discord/);
  await shot(page, '10b-applications-revoke-confirm');
  await confirm.getByRole('button', { name: 'Revoke', exact: true }).click();
  await expectText(badge(r), 'Rejected – removing role…');
  await expectText(badge(r), 'Rejected');
  const roleId = stack.sandbox.roles(guildId).find((x) => x.name === 'Approved')!.id;
  expect(stack.sandbox.memberRoles(guildId, MEMBER)).not.toContain(roleId);
  await shot(page, '10c-applications-revoked');
});

test('a missing member: failed badge with the reason, listed in Operations; join, retry, assigned', async () => {
  const id = await submitByApi('Grace Hopper', MISSING);
  await page.goto('/applications');
  const r = row(page, id);
  await r.getByRole('button', { name: 'Approve Grace Hopper' }).click();
  await expectText(badge(r), 'Approved – role assignment failed');
  await badge(r).focus();
  const tooltip = r.getByRole('tooltip');
  await tooltip.waitFor({ state: 'visible' });
  expect(await tooltip.textContent()).toMatch(/has not joined the Discord server yet/);
  await shot(page, '11-applications-failed-with-reason');

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Operations' }).click();
  const opsRow = page.locator(`[data-testid="ops-row"][data-id="${id}"]`);
  await expectText(opsRow.locator('.error-text'), /has not joined the Discord server yet/);
  await opsRow.getByRole('button', { name: 'Retry (0/5)' }).waitFor();
  expect(await opsRow.getByRole('link', { name: /Open in Temporal/ }).getAttribute('href')).toBe(
    `${TEMPORAL_UI}/namespaces/default/workflows/application-role:${id}`,
  );
  expect(
    await page.getByRole('link', { name: 'All failed assignments in the Temporal Web UI' }).getAttribute('href'),
  ).toBe(`${TEMPORAL_UI}/namespaces/default/workflows?query=${encodeURIComponent('RoleAssignmentState="failed"')}`);
  await shot(page, '12-operations');

  stack.sandbox.addMember(guildId, MISSING);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Applications' }).click();
  await row(page, id)
    .getByRole('button', { name: /^Retry \(0\/5\)/ })
    .click();
  await expectText(badge(row(page, id)), 'Approved – role assigned');
  await expect(row(page, id).getByRole('button', { name: /Retry/ }).count()).resolves.toBe(0);
  await shot(page, '13-applications-retried-assigned');
});

test('bulk-approves 50 applications: the progress bar survives a reload and reaches 50 of 50; every row settles on "role assigned"', async () => {
  const ids: string[] = [];
  for (let i = 0; i < 50; i++) {
    const userId = `4000000000000000${String(i).padStart(2, '0')}`;
    stack.sandbox.addMember(guildId, userId);
    // Stored directly: the public form allows 30 applications a minute from one address.
    const app = await insertApplication(stack.db.pool, {
      organizationId: org.id,
      name: `Bulk Applicant ${i + 1}`,
      email: `bulk${i + 1}@example.com`,
      customData: { discord_user_id: userId },
    });
    ids.push(app.id);
  }
  await page.goto('/applications');
  await page.getByLabel('Rows per page').selectOption('100');
  await page.getByLabel('Status').selectOption('Pending');
  // The list of every status gives way to the pending ones: wait for the filtered page.
  await pollUntil(
    () => page.locator('[data-testid="application-row"]').count(),
    (n) => n === 50,
    { timeoutMs: 15_000, what: 'the 50 pending rows' },
  );
  await expect(page.locator('[data-testid="application-row"][data-status="Pending"]').count()).resolves.toBe(50);
  await page.getByRole('checkbox', { name: 'Select all pending applications on this page' }).check();
  await page.getByRole('button', { name: 'Approve selected (50)' }).click();
  // No reconciliation has listed the server's members yet: each grant may wait, and the confirmation says why.
  const confirm = page.getByRole('group', { name: 'Confirm the bulk approval' });
  await expectText(confirm.getByTestId('bulk-confirm-warning'), '50 may wait (warning):');
  await expectText(confirm.getByRole('list', { name: 'Warnings' }), /^50 × Not seen in the server/);
  await expect(confirm.getByTestId('bulk-confirm-blocked').count()).resolves.toBe(0);
  await shot(page, '14a-bulk-confirm');
  await confirm.getByRole('button', { name: 'Approve 50 anyway' }).click();
  await pollUntil(
    () => page.getByTestId('bulk-progress-bar').getAttribute('max'),
    (max) => max === '50',
    { timeoutMs: 15_000, what: 'a progress bar of 50' },
  );
  await shot(page, '14-bulk-progress');
  // A reload in the middle: the page finds the bulk again and goes on showing it.
  await page.reload();
  await page.getByTestId('bulk-progress-bar').waitFor();
  await pollUntil(
    () => page.getByTestId('bulk-progress').textContent(),
    (text) => /50 of 50 assigned/.test(text ?? ''),
    { timeoutMs: 60_000, what: 'the progress to reach 50 of 50' },
  );
  await expect(page.getByTestId('bulk-progress-bar').getAttribute('value')).resolves.toBe('50');
  await shot(page, '15-bulk-approved');
  // The reload showed the first page of every status: show all 50.
  await page.getByLabel('Rows per page').selectOption('100');
  for (const id of ids) await expectText(badge(row(page, id)), 'Approved – role assigned', 30_000);
  await page.setViewportSize({ width: 390, height: 844 });
  await shot(page, '16-applications-phone');
});

test('an applicant signs in with Discord on the sandbox and applies; the reviewer sees who it is, approves, and they join the server with the role', async () => {
  const visitor = await browser.newContext({ baseURL: stack.app.baseUrl, viewport: { width: 390, height: 844 } });
  const form = await visitor.newPage();
  await form.goto(`/apply/${org.slug}`);
  await form.getByRole('link', { name: 'Sign in with Discord' }).click();
  // Discord's authorization screen (the sandbox's): a new user signs in.
  await form.getByRole('heading', { name: /wants to access your account/ }).waitFor();
  await shot(form, '17-discord-authorize-user');
  await form.getByLabel('A new user:').check();
  await form.getByLabel('username').fill('grace_applicant');
  await form.getByLabel('display name').fill('Grace Hopper');
  await form.getByRole('button', { name: 'Authorize' }).click();
  await form.waitForURL(new RegExp(`/apply/${org.slug}\\?verified=1$`));
  const account = form.getByTestId('discord-account');
  await expectText(account, /Grace Hopper @grace_applicant verified/);
  await expect(form.getByLabel('Discord user ID (optional)').count()).resolves.toBe(0);
  await form.getByLabel('Name').fill('Grace Hopper');
  await form.getByLabel('Email').fill('grace@example.com');
  await shot(form, '18-apply-signed-in');
  await form.getByRole('button', { name: 'Submit application' }).click();
  await form.getByRole('heading', { name: 'Application received' }).waitFor();
  await form.getByText("you will be added to the organization's Discord server with its role").waitFor();
  const id = ((await form.getByText(/^Reference: /).textContent()) ?? '').replace('Reference: ', '').trim();
  await visitor.close();

  const grace = stack.sandbox.users().find((u) => u.username === 'grace_applicant')!;
  expect(stack.sandbox.member(guildId, grace.id)).toBeNull();
  await page.goto('/applications');
  const r = row(page, id);
  await expectText(r.getByTestId('discord-identity'), /Grace Hopper @grace_applicant verified/);
  await expectText(r.getByTestId('discord-account-age'), 'created today');
  await expect(r.locator('.avatar').count()).resolves.toBe(1);
  await shot(page, '19-applications-verified-applicant');
  await r.getByRole('button', { name: 'Approve Grace Hopper' }).click();
  await expectText(badge(r), 'Approved – role assigned');
  const roleId = stack.sandbox.roles(guildId).find((x) => x.name === 'Approved')!.id;
  expect(stack.sandbox.member(guildId, grace.id)).toEqual({ roles: [roleId], pending: false });
});

test('picks the roles in Settings and saves them; Check now shows the health panel; readiness and the run are shown', async () => {
  await page.goto('/settings');
  const roles = page.getByTestId('role-settings');
  const addMember = roles.getByRole('checkbox', { name: 'Add Member on approval' });
  await addMember.waitFor();
  // Roles the bot may not add are greyed out, with the reason next to them.
  const moderator = roles.locator(`[data-testid="role-row"][data-role-id="${moderatorRoleId}"]`);
  await expect(moderator.getByRole('checkbox', { name: 'Add Moderator on approval' }).isDisabled()).resolves.toBe(true);
  await expect(moderator.getByRole('checkbox', { name: 'Remove Moderator on approval' }).isDisabled()).resolves.toBe(
    false,
  );
  await expectText(moderator.getByTestId('role-reason'), /Carries permissions \(Kick Members\)/);
  await expect(roles.getByRole('checkbox', { name: 'Add @everyone on approval' }).isDisabled()).resolves.toBe(true);
  await expect(roles.getByRole('checkbox', { name: 'Add Sandbox Bot on approval' }).isDisabled()).resolves.toBe(true);
  await expect(roles.getByRole('checkbox', { name: 'Add Approved on approval' }).isChecked()).resolves.toBe(true);
  await expect(roles.getByRole('button', { name: 'Save roles' }).isDisabled()).resolves.toBe(true);

  await addMember.check();
  await roles.getByRole('button', { name: 'Save roles' }).click();
  await expectText(roles.getByTestId('role-settings-result'), 'Saved. The new roles apply to new grants.');
  await expectText(page.locator('.connected'), /^Connected to Guild A — roles (Approved, Member|Member, Approved)$/);
  const approvedRoleId = stack.sandbox.roles(guildId).find((x) => x.name === 'Approved')!.id;
  const { rows } = await stack.db.pool.query<{ add_role_ids: string[] }>(
    'SELECT add_role_ids FROM discord_configs WHERE organization_id = $1',
    [org.id],
  );
  expect([...rows[0]!.add_role_ids].sort()).toEqual([approvedRoleId, memberRoleId].sort());
  await shot(page, '20-settings-roles-saved');

  const health = page.getByTestId('bot-health');
  await expectText(health.getByTestId('health-checked-at'), 'Not checked yet.');
  await health.getByRole('button', { name: 'Check now' }).click();
  await expectText(health.getByTestId('health-checked-at'), /^Last checked /);
  await expectText(health.getByTestId('health-findings'), 'No problems found.');
  await expectText(health.getByTestId('health-repaired'), 'No drift repaired in that check.');
  await shot(page, '21-settings-health');

  // The check is a reconciliation run: Operations lists it with its history in the Temporal Web UI.
  const runs = (await (await stack.api('/api/reconciliation-runs', { cookie: apiCookie })).json()) as {
    items: Array<{ id: string; trigger: string; workflowId: string; runId: string }>;
  };
  const run = runs.items.find((r) => r.trigger === 'check')!;
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Operations' }).click();
  const runRow = page.locator(`[data-testid="reconciliation-run"][data-id="${run.id}"]`);
  await expectText(runRow.locator('td[data-label="Trigger"]'), 'Check now');
  expect(await runRow.getByRole('link', { name: /Open in Temporal/ }).getAttribute('href')).toBe(
    `${TEMPORAL_UI}/namespaces/default/workflows/${encodeURIComponent(run.workflowId)}/${run.runId}/history`,
  );
  await shot(page, '22-operations-reconciliation-runs');

  // A pending applicant the bot has not seen in the server: the reviewer sees it before approving.
  const id = await submitByApi('Linus Torvalds', '300000000000000003');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Applications' }).click();
  const readiness = row(page, id).getByTestId('readiness');
  await expect(readiness.getAttribute('data-verdict')).resolves.toBe('warning');
  await expectText(readiness, /^Warning\s*Not seen in the server/);
  await shot(page, '23-applications-readiness');
});

test('signs out: the session is gone and the pages ask to sign in again', async () => {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(/\/login$/);
  await page.goto('/settings');
  await page.waitForURL(/\/login\?next=%2Fsettings$/);
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  const me = await page.request.get('/api/me');
  expect(me.status()).toBe(401);
});
