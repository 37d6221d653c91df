// Applicants sign in with Discord: each attack on the old typed-ID form, and the join-with-role
// grant, on the real stack (Postgres, Temporal, the Discord sandbox).
import { randomBytes } from 'node:crypto';
import { PermissionFlagsBits } from 'discord-api-types/v10';
import { ROLES_TTL_MS } from '../activities/discord.js';
import { signApplicantState } from '../src/auth/applicant-state.js';
import { applicationBinding } from '../src/auth/applicant-sessions.js';
import { decryptToken } from '../src/auth/token-crypto.js';
import { roleWorkflowId } from '../src/temporal/shared.js';
import { TEST_STATE_SECRET } from './helpers/app.js';
import {
  cookieFrom,
  followApplicantCallback,
  signInApplicant,
  startSignIn,
  submitApplication,
} from './helpers/applicant.js';
import { connectDiscord, getApplication, review, seedApplication, waitForApplication } from './helpers/flows.js';
import { startStack, type Org, type Stack } from './helpers/stack.js';

let stack: Stack;
let org: Org;
let cookie: string;
let guildId: string;
let roleId: string;
const logLines: string[] = [];

const applicant = (name = 'Ada Lovelace') => ({ name, email: `${name.split(' ')[0]!.toLowerCase()}@example.com` });
const assigned = (a: { status: string }) => a.status === 'approved_role_assigned';
const settled = (a: { roleAssignment: { status: string } }) => a.roleAssignment.status !== 'pending';
const count = async (table: string) =>
  Number((await stack.db.pool.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);

beforeAll(async () => {
  stack = await startStack({ logLines, roleWorkflowOptions: { memberRecheckDelaysMs: [300, 300, 300, 300, 300] } });
  org = await stack.createOrg('Verified Club'); // new organizations require the sign-in
  cookie = await stack.login(org.adminEmail);
  guildId = stack.sandbox.createGuild({ name: 'Verified Guild' }).id;
  expect(await connectDiscord(stack, cookie, guildId)).toMatch(/success=bot_connected/);
  roleId = stack.sandbox.roles(guildId).find((r) => r.name === 'Approved')!.id;
}, 60_000);
afterEach(() => stack.sandbox.faults.clear());
afterAll(async () => {
  await stack?.close();
});

describe('the sign-in refuses what the bot flow refuses, before any call to Discord, storing nothing', () => {
  async function refused(callbackUrl: string, loginCookie: string | undefined) {
    const sessionsBefore = await count('applicant_sessions');
    stack.sandbox.resetStats();
    const { location, res } = await followApplicantCallback(callbackUrl, loginCookie);
    expect(location.searchParams.get('error')).toBe('invalid_state');
    expect(cookieFrom(res, 'applicant_session')).toBeUndefined();
    expect(await count('applicant_sessions')).toBe(sessionsBefore);
    expect(stack.sandbox.stats().byRoute['POST /oauth2/token']?.requests ?? 0).toBe(0);
  }

  test('a state with one changed character', async () => {
    const user = stack.sandbox.createUser({ username: 'tamper' });
    const start = await startSignIn(stack, org.slug);
    const i = start.state.length - 5;
    const tampered = start.state.slice(0, i) + (start.state[i] === 'A' ? 'B' : 'A') + start.state.slice(i + 1);
    const url = stack.sandbox.authorizeUser({ redirectUri: start.redirectUri, state: tampered, userId: user.id });
    await refused(url, start.loginCookie);
  });

  test('a replayed state (the same callback twice)', async () => {
    const user = stack.sandbox.createUser({ username: 'replay' });
    const start = await startSignIn(stack, org.slug);
    const url = stack.sandbox.authorizeUser({ redirectUri: start.redirectUri, state: start.state, userId: user.id });
    const first = await followApplicantCallback(url, start.loginCookie);
    expect(first.location.searchParams.get('verified')).toBe('1');
    await refused(url, start.loginCookie);
  });

  test('a 6-minute-old state', async () => {
    const user = stack.sandbox.createUser({ username: 'expired' });
    const browserToken = randomBytes(32).toString('base64url');
    const state = await signApplicantState(
      { organizationId: org.id, browserToken },
      TEST_STATE_SECRET,
      new Date(Date.now() - 6 * 60_000),
    );
    const start = await startSignIn(stack, org.slug);
    const url = stack.sandbox.authorizeUser({ redirectUri: start.redirectUri, state, userId: user.id });
    await refused(url, `applicant_login=${browserToken}`);
  });

  test("a state started in another browser (the victim's link opened by someone else), or with no login cookie", async () => {
    const user = stack.sandbox.createUser({ username: 'otherbrowser' });
    const start = await startSignIn(stack, org.slug);
    const other = await startSignIn(stack, org.slug);
    const url = stack.sandbox.authorizeUser({ redirectUri: start.redirectUri, state: start.state, userId: user.id });
    await refused(url, other.loginCookie);
    await refused(url, undefined);
  });

  test('the redirect URI is exact, and the authorize URL asks for identify guilds.join', async () => {
    const start = await startSignIn(stack, org.slug);
    expect(start.redirectUri).toBe(`${stack.app.config.publicBaseUrl}/api/public/discord/callback`);
    expect(start.authorize.searchParams.get('scope')).toBe('identify guilds.join');
    expect(start.authorize.searchParams.get('response_type')).toBe('code');
  });
});

test("attack: an application in somebody else's name. Sign-in is required, a typed ID is ignored, and the role reaches only the verified account", async () => {
  const victim = stack.sandbox.createUser({ username: 'victim' });
  stack.sandbox.addMember(guildId, victim.id);
  // Without signing in: refused, nothing stored.
  const before = await count('applications');
  const anonymous = await submitApplication(stack, org.slug, {
    applicant: applicant('Mallory'),
    custom_data: { discord_user_id: victim.id },
  });
  expect(anonymous.status).toBe(403);
  expect(anonymous.body.error?.code).toBe('discord_sign_in_required');
  expect(await count('applications')).toBe(before);

  // Signed in as themselves, with the victim's ID in the body: the body's ID is ignored.
  const mallory = stack.sandbox.createUser({ username: 'mallory', globalName: 'Respectable Name' });
  const session = await signInApplicant(stack, org.slug, mallory.id);
  const submitted = await submitApplication(
    stack,
    org.slug,
    { applicant: applicant('Respectable Name'), custom_data: { discord_user_id: victim.id, why: 'hi' } },
    session,
  );
  expect(submitted.status).toBe(201);
  const app = await getApplication(stack, cookie, submitted.body.id);
  expect(app.discordUser).toMatchObject({
    id: mallory.id,
    username: 'mallory',
    globalName: 'Respectable Name',
    verified: true,
  });
  expect(app.custom_data).toEqual({ why: 'hi' });
  await review(stack, cookie, app.id, 'approve');
  await waitForApplication(stack, cookie, app.id, assigned);
  expect(stack.sandbox.memberRoles(guildId, victim.id)).not.toContain(roleId);
  expect(stack.sandbox.member(guildId, mallory.id)?.roles).toContain(roleId);
});

test('a verified applicant who is not in the server is added with the role in one call; the tokens are gone afterwards', async () => {
  const newcomer = stack.sandbox.createUser({ username: 'newcomer', globalName: 'New Comer' });
  const session = await signInApplicant(stack, org.slug, newcomer.id);
  const submitted = await submitApplication(stack, org.slug, { applicant: applicant('New Comer') }, session);
  expect(submitted.status).toBe(201);
  expect(await count('applicant_tokens')).toBeGreaterThanOrEqual(1);
  stack.sandbox.resetStats();
  const answer = await review(stack, cookie, submitted.body.id, 'approve');
  expect(answer.body.status).toBe('approved_pending_role');
  await waitForApplication(stack, cookie, submitted.body.id, assigned);
  expect(stack.sandbox.member(guildId, newcomer.id)).toEqual({ roles: [roleId], pending: false });
  expect(stack.sandbox.stats().memberAddOutcomes).toEqual({ added: 1, alreadyMember: 0, refused: 0 });
  const { rows } = await stack.db.pool.query(`SELECT 1 FROM applicant_tokens WHERE application_id = $1`, [
    submitted.body.id,
  ]);
  expect(rows).toHaveLength(0);
});

test('attack: a second application from the same account is refused with 409 naming the first one, and nothing is stored', async () => {
  const user = stack.sandbox.createUser({ username: 'twice' });
  const session = await signInApplicant(stack, org.slug, user.id);
  expect((await submitApplication(stack, org.slug, { applicant: applicant('Twice') }, session)).status).toBe(201);
  const before = await count('applications');
  // The sign-in served that application and ended; signing in again shows the first one.
  expect((await submitApplication(stack, org.slug, { applicant: applicant('Twice Again') }, session)).status).toBe(403);
  const resigned = await signInApplicant(stack, org.slug, user.id);
  const second = await submitApplication(stack, org.slug, { applicant: applicant('Twice Again') }, resigned);
  expect(second.status).toBe(409);
  expect(second.body.error).toEqual({
    code: 'already_applied',
    message:
      'You already applied here with this Discord account: that application is waiting for review (status Pending).',
  });
  // Even from another sign-in of the same account, and even sent at once.
  const again = await signInApplicant(stack, org.slug, user.id);
  const racing = await Promise.all([
    submitApplication(stack, org.slug, { applicant: applicant('Race A') }, again),
    submitApplication(stack, org.slug, { applicant: applicant('Race B') }, again),
  ]);
  expect(racing.map((r) => r.status)).toEqual([409, 409]);
  expect(await count('applications')).toBe(before);
});

test("attack: approve then reject a current member's application. A reversal takes back only a role this organization gave", async () => {
  // A member who had the role before (an admin gave it by hand) keeps it.
  const longtime = stack.sandbox.createUser({ username: 'longtime' });
  stack.sandbox.addMember(guildId, longtime.id);
  stack.sandbox.giveRoleByHand(guildId, longtime.id, roleId);
  const s1 = await signInApplicant(stack, org.slug, longtime.id);
  const a1 = (await submitApplication(stack, org.slug, { applicant: applicant('Long Time') }, s1)).body.id;
  await review(stack, cookie, a1, 'approve');
  await waitForApplication(stack, cookie, a1, assigned);
  await review(stack, cookie, a1, 'reject');
  await waitForApplication(stack, cookie, a1, settled);
  expect(stack.sandbox.memberRoles(guildId, longtime.id)).toContain(roleId);

  // A role this organization gave is taken back...
  const granted = stack.sandbox.createUser({ username: 'granted' });
  const s2 = await signInApplicant(stack, org.slug, granted.id);
  const a2 = (await submitApplication(stack, org.slug, { applicant: applicant('Granted') }, s2)).body.id;
  await review(stack, cookie, a2, 'approve');
  await waitForApplication(stack, cookie, a2, assigned);
  // ...unless another approved application of the member still holds it.
  const a3 = await seedApplication(stack, org, { discord_user_id: granted.id });
  await review(stack, cookie, a3, 'approve');
  await waitForApplication(stack, cookie, a3, assigned);
  await review(stack, cookie, a2, 'reject');
  await waitForApplication(stack, cookie, a2, settled);
  expect(stack.sandbox.memberRoles(guildId, granted.id)).toContain(roleId);
  // The last of them going: a3 shared the role a2 gave (not one the member had on their own), so it comes off.
  await review(stack, cookie, a3, 'reject');
  await waitForApplication(stack, cookie, a3, settled);
  expect(stack.sandbox.memberRoles(guildId, granted.id)).not.toContain(roleId);

  const held = await stack.db.pool.query(
    `SELECT id, discord_roles_held_before FROM applications WHERE id = ANY($1) ORDER BY created_at`,
    [[a1, a2, a3]],
  );
  expect(held.rows.map((r) => r.discord_roles_held_before.length > 0)).toEqual([true, false, false]);
  const audit = await stack.db.pool.query(
    `SELECT details FROM audit_log WHERE subject_id = $1 AND action = 'application.role_grant_succeeded'`,
    [a1],
  );
  expect(audit.rows[0].details).toMatchObject({ heldBefore: true, addedToServer: false });
});

test('a revoked authorization: the grant fails with a re-authorize link for the admin, and the link then succeeds', async () => {
  const user = stack.sandbox.createUser({ username: 'revoker' });
  const session = await signInApplicant(stack, org.slug, user.id);
  const id = (await submitApplication(stack, org.slug, { applicant: applicant('Re Voker') }, session)).body.id;
  stack.sandbox.revokeUserTokens(user.id);
  await review(stack, cookie, id, 'approve');
  const failed = await waitForApplication(stack, cookie, id, (a) => a.status === 'approved_role_failed');
  expect(failed.roleAssignment.errorType).toBe('applicant_authorization_expired');
  const link = `${stack.app.config.publicBaseUrl}/apply/${org.slug}?reauthorize=${id}`;
  expect(failed.roleAssignment.error).toContain(link);

  // Only an application that waits for it can be re-authorized (not, say, one already assigned).
  const elsewhere = await seedApplication(stack, org, { discord_user_id: user.id });
  const refused = await fetch(
    `${stack.app.baseUrl}/api/public/organizations/${org.slug}/discord/authorize?application=${elsewhere}`,
    { redirect: 'manual' },
  );
  expect(refused.status).toBe(404);

  // Another account cannot re-authorize it.
  const intruder = stack.sandbox.createUser({ username: 'intruder' });
  const wrong = await startSignIn(stack, org.slug, { application: id });
  const wrongUrl = stack.sandbox.authorizeUser({
    redirectUri: wrong.redirectUri,
    state: wrong.state,
    userId: intruder.id,
  });
  expect((await followApplicantCallback(wrongUrl, wrong.loginCookie)).location.searchParams.get('error')).toBe(
    'wrong_account',
  );

  // The applicant follows the link and signs in again: the grant runs again by itself.
  const start = await startSignIn(stack, org.slug, { application: id });
  const url = stack.sandbox.authorizeUser({ redirectUri: start.redirectUri, state: start.state, userId: user.id });
  const { location } = await followApplicantCallback(url, start.loginCookie);
  expect(location.pathname).toBe(`/apply/${org.slug}`);
  expect(location.searchParams.get('reauthorized')).toBe('1');
  const done = await waitForApplication(stack, cookie, id, assigned);
  expect(done.roleAssignment.retryCount).toBe(0);
  expect(stack.sandbox.member(guildId, user.id)?.roles).toContain(roleId);
});

test('an expired access token is refreshed before the add', async () => {
  const user = stack.sandbox.createUser({ username: 'refresher' });
  const session = await signInApplicant(stack, org.slug, user.id);
  const id = (await submitApplication(stack, org.slug, { applicant: applicant('Re Fresher') }, session)).body.id;
  stack.sandbox.expireUserTokens(user.id);
  await stack.db.pool.query(
    `UPDATE applicant_tokens SET expires_at = now() - interval '1 minute' WHERE application_id = $1`,
    [id],
  );
  await review(stack, cookie, id, 'approve');
  await waitForApplication(stack, cookie, id, assigned);
  expect(stack.sandbox.member(guildId, user.id)?.roles).toContain(roleId);
});

test('a server with rules screening: the member is shown as joined and waiting, then granted once they accept the rules', async () => {
  stack.sandbox.setMembershipScreening(guildId, true);
  try {
    const user = stack.sandbox.createUser({ username: 'screened' });
    const session = await signInApplicant(stack, org.slug, user.id);
    const id = (await submitApplication(stack, org.slug, { applicant: applicant('Screened') }, session)).body.id;
    await review(stack, cookie, id, 'approve');
    const waiting = await waitForApplication(stack, cookie, id, (a) => a.roleAssignment.errorType === 'member_pending');
    expect(waiting.roleAssignment.error).toMatch(/waiting for its rules screening/);
    expect(stack.sandbox.member(guildId, user.id)?.pending).toBe(true);
    stack.sandbox.acceptRules(guildId, user.id);
    const done = await waitForApplication(stack, cookie, id, assigned, 15_000);
    expect(done.roleAssignment.retryCount).toBe(0);
  } finally {
    stack.sandbox.setMembershipScreening(guildId, false);
  }
});

test('an applicant in 100 servers fails with a sentence saying so', async () => {
  const user = stack.sandbox.createUser({ username: 'busy', guildCount: 100 });
  const session = await signInApplicant(stack, org.slug, user.id);
  const id = (await submitApplication(stack, org.slug, { applicant: applicant('Busy Bee') }, session)).body.id;
  await review(stack, cookie, id, 'approve');
  const failed = await waitForApplication(stack, cookie, id, (a) => a.status === 'approved_role_failed');
  expect(failed.roleAssignment).toMatchObject({ errorType: 'max_guilds' });
  expect(failed.roleAssignment.error).toMatch(/100 Discord servers/);
});

test('attack: a role with permissions is refused at connect and at grant, with the permissions to remove', async () => {
  // At connect: an existing "Approved" role that can moderate.
  const other = await stack.createOrg();
  const otherCookie = await stack.login(other.adminEmail);
  const risky = stack.sandbox.createGuild({
    name: 'Risky',
    roles: [{ name: 'Approved', permissions: PermissionFlagsBits.ManageGuild | PermissionFlagsBits.KickMembers }],
  }).id;
  expect(await connectDiscord(stack, otherCookie, risky)).toBe('error=unsafe_role');
  const view = await (await stack.api('/api/discord/connection', { cookie: otherCookie })).json();
  expect(view.state).toBe('error');
  expect(view.error).toMatch(/has permissions \(Kick Members, Manage Server\)/);

  // At grant: the role was edited after connecting (grants trust a guild's roles for ROLES_TTL_MS).
  stack.sandbox.setRolePermissions(guildId, roleId, PermissionFlagsBits.Administrator);
  await new Promise((r) => setTimeout(r, ROLES_TTL_MS + 200));
  try {
    const user = stack.sandbox.createUser({ username: 'wouldbeadmin' });
    stack.sandbox.addMember(guildId, user.id);
    const session = await signInApplicant(stack, org.slug, user.id);
    const id = (await submitApplication(stack, org.slug, { applicant: applicant('Would Be') }, session)).body.id;
    stack.sandbox.resetStats();
    await review(stack, cookie, id, 'approve');
    const failed = await waitForApplication(stack, cookie, id, (a) => a.status === 'approved_role_failed');
    expect(failed.roleAssignment.errorType).toBe('unsafe_role');
    expect(failed.roleAssignment.error).toMatch(/has permissions \(Administrator\)/);
    expect(stack.sandbox.stats().byRoute['PUT /guilds/:guildId/members/:userId/roles/:roleId']?.requests ?? 0).toBe(0);
    expect(stack.sandbox.memberRoles(guildId, user.id)).not.toContain(roleId);
    // Handing it out again would be as unsafe: the organization's grants wait for a fix.
    const paused = await (await stack.api('/api/discord/connection', { cookie })).json();
    expect(paused).toMatchObject({ state: 'error', canCheckAgain: true });
    expect(paused.error).toMatch(/^Grants are paused: .*has permissions \(Administrator\)/);
  } finally {
    stack.sandbox.setRolePermissions(guildId, roleId, 0n);
    // The fix, checked: the organization's grants resume.
    const checked = await stack.api('/api/discord/connection/check', { method: 'POST', cookie });
    expect(((await checked.json()) as { state: string }).state).toBe('connected');
  }
});

test('the typed-ID path, when an organization allows it, is marked unverified', async () => {
  const open = await stack.createOrg('Open Club', { requireDiscordSignIn: false });
  const res = await submitApplication(stack, open.slug, {
    applicant: applicant('Typed'),
    custom_data: { discord_user_id: '300000000000000777' },
  });
  expect(res.status).toBe(201);
  const openCookie = await stack.login(open.adminEmail);
  expect((await getApplication(stack, openCookie, res.body.id)).discordUser).toMatchObject({
    id: '300000000000000777',
    username: null,
    verified: false,
  });
  // The setting, as admins change it: on again, and the typed path is closed.
  const patch = await stack.api('/api/organization/settings', {
    method: 'PATCH',
    cookie: openCookie,
    body: { requireDiscordSignIn: true },
  });
  expect(await patch.json()).toEqual({ requireDiscordSignIn: true, driftRepair: 'restore' });
  const closed = await submitApplication(stack, open.slug, { applicant: applicant('Typed Again') });
  expect(closed.status).toBe(403);
  const badPatch = await stack.api('/api/organization/settings', {
    method: 'PATCH',
    cookie: openCookie,
    body: { requireDiscordSignIn: 'yes', other: 1 },
  });
  expect(badPatch.status).toBe(400);
  const reviewerCookie = await stack.login(open.reviewerEmail);
  expect((await stack.api('/api/organization/settings', { cookie: reviewerCookie })).status).toBe(403);
});

test('a removal that failed, then a second application of the member: the role is still taken back when the last one goes', async () => {
  const user = stack.sandbox.createUser({ username: 'comeback' });
  const session = await signInApplicant(stack, org.slug, user.id);
  const first = (await submitApplication(stack, org.slug, { applicant: applicant('Come Back') }, session)).body.id;
  await review(stack, cookie, first, 'approve');
  await waitForApplication(stack, cookie, first, assigned);
  // The reversal of the first application fails (a failure of its own: the bot losing its access
  // would pause the organization's grants instead).
  stack.sandbox.faults.add({ route: 'DELETE /guilds/:guildId/members/:userId/roles/:roleId', code: 50035, times: 1 });
  await review(stack, cookie, first, 'reject');
  await waitForApplication(stack, cookie, first, (a) => a.roleAssignment.status === 'failed');
  // A second application (a typed ID, say) is approved while the member still has the role.
  const second = await seedApplication(stack, org, { discord_user_id: user.id });
  await review(stack, cookie, second, 'approve');
  await waitForApplication(stack, cookie, second, assigned);
  // The first reversal runs again: the second application still holds the role, so it stays.
  expect((await stack.api(`/api/applications/${first}/retry-role`, { method: 'POST', cookie })).status).toBe(202);
  await waitForApplication(stack, cookie, first, (a) => a.roleAssignment.status === 'not_applicable');
  expect(stack.sandbox.memberRoles(guildId, user.id)).toContain(roleId);
  // The second one goes too: it shared a role this organization gave, which now comes off.
  await review(stack, cookie, second, 'reject');
  await waitForApplication(stack, cookie, second, settled);
  expect(stack.sandbox.memberRoles(guildId, user.id)).not.toContain(roleId);
});

test('reviewers see who it is: username, verified, and the account age from the ID', async () => {
  const user = stack.sandbox.createUser({ username: 'seen', globalName: 'Seen Person' });
  const session = await signInApplicant(stack, org.slug, user.id);
  const me = await (
    await fetch(`${stack.app.baseUrl}/api/public/organizations/${org.slug}/applicant`, { headers: { cookie: session } })
  ).json();
  expect(me.discordUser).toMatchObject({ id: user.id, username: 'seen', globalName: 'Seen Person' });
  const id = (await submitApplication(stack, org.slug, { applicant: applicant('Seen Person') }, session)).body.id;
  const list = await (await stack.api('/api/applications?limit=200', { cookie })).json();
  const item = list.items.find((a: { id: string }) => a.id === id);
  const createdMs = Number((BigInt(user.id) >> 22n) + 1420070400000n);
  expect(item.discordUser).toEqual({
    id: user.id,
    username: 'seen',
    globalName: 'Seen Person',
    avatarUrl: null,
    accountCreatedAt: new Date(createdMs).toISOString(),
    verified: true,
  });
});

test('hostile input to the public routes is a 4xx, never a 500', async () => {
  for (const path of [
    `/api/public/organizations/%E0/applicant`,
    `/api/public/organizations/%E0/discord/authorize`,
    `/api/public/organizations/${org.slug}/discord/authorize?application=not-a-uuid`,
    `/api/public/discord/callback?state=a&state=b`,
    `/api/public/discord/callback?code=${'x'.repeat(4000)}&state=${'y'.repeat(4000)}`,
  ]) {
    const res = await fetch(`${stack.app.baseUrl}${path}`, {
      redirect: 'manual',
      headers: { cookie: 'applicant_session=%%%' },
    });
    expect({ path, status: res.status }).toEqual({ path, status: expect.any(Number) });
    expect(res.status).toBeGreaterThanOrEqual(300);
    expect(res.status).toBeLessThan(500);
  }
});

test('tokens never reach the logs, the workflow history, or the database in clear', async () => {
  const user = stack.sandbox.createUser({ username: 'secretive' });
  const session = await signInApplicant(stack, org.slug, user.id);
  const id = (await submitApplication(stack, org.slug, { applicant: applicant('Secret Ive') }, session)).body.id;
  const stored = (await stack.db.pool.query(`SELECT * FROM applicant_tokens WHERE application_id = $1`, [id])).rows[0];
  const key = stack.app.config.tokenEncryptionKey;
  const tokens = [
    decryptToken(key, stored.access_token_enc, applicationBinding(id)),
    decryptToken(key, stored.refresh_token_enc, applicationBinding(id)),
  ];
  for (const t of tokens) {
    expect(t.length).toBeGreaterThan(20);
    expect(JSON.stringify(stored)).not.toContain(t);
  }
  await review(stack, cookie, id, 'approve');
  await waitForApplication(stack, cookie, id, assigned);
  const history = JSON.stringify(await stack.app.temporal.workflow.getHandle(roleWorkflowId(id)).fetchHistory());
  const sessions = JSON.stringify((await stack.db.pool.query(`SELECT * FROM applicant_sessions`)).rows);
  for (const t of tokens) {
    expect(history).not.toContain(t);
    expect(logLines.join('\n')).not.toContain(t);
    expect(sessions).not.toContain(t);
  }
  expect(logLines.length).toBeGreaterThan(0);
});
