import { startStack, type Org, type Stack } from './helpers/stack';
import type { Application } from '../src/domain/application';

let stack: Stack;
let org: Org;
let cookie: string;
let guildId: string;
const MEMBER = '300000000000000001';

async function connect(s: Stack, o: Org, c: string, guild: string): Promise<string> {
  const start = await s.api('/api/discord/connect', { cookie: c });
  expect(start.status).toBe(302);
  const authorize = new URL(start.headers.get('location')!);
  const back = s.sandbox.authorize({
    redirectUri: authorize.searchParams.get('redirect_uri')!,
    state: authorize.searchParams.get('state')!,
    guildId: guild,
    permissions: authorize.searchParams.get('permissions')!,
  });
  const callback = await fetch(back, { headers: { cookie: c }, redirect: 'manual' });
  return callback.headers.get('location')!;
}

async function waitFor(id: string, until: (a: Application) => boolean, timeoutMs = 30_000): Promise<Application> {
  const deadline = Date.now() + timeoutMs;
  let last: Application | undefined;
  while (Date.now() < deadline) {
    const res = await stack.api(`/api/applications/${id}`, { cookie });
    last = (await res.json()) as Application;
    if (until(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out; last: ${JSON.stringify(last)}`);
}

async function submit(discordUserId?: string): Promise<string> {
  const res = await stack.api(`/api/public/organizations/${org.slug}/applications`, {
    method: 'POST',
    body: {
      applicant: { name: 'Ada', email: 'ada@example.com' },
      custom_data: discordUserId ? { discord_user_id: discordUserId } : {},
    },
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

beforeAll(async () => {
  stack = await startStack();
  org = await stack.createOrg();
  cookie = await stack.login(org.adminEmail);
  guildId = stack.sandbox.createGuild({ name: 'Guild A' }).id;
  stack.sandbox.addMember(guildId, MEMBER);
  const location = await connect(stack, org, cookie, guildId);
  expect(location).toMatch(/success=bot_connected/);
});
afterAll(async () => {
  await stack?.close();
});

test('approving grants the role: approved_pending_role at once, then approved_role_assigned', async () => {
  const id = await submit(MEMBER);
  const res = await stack.api(`/api/applications/${id}/review`, {
    method: 'POST',
    cookie,
    body: { decision: 'approve' },
  });
  expect(res.status).toBe(200);
  const first = (await res.json()) as Application;
  expect(first.status).toBe('approved_pending_role');
  expect(first.roleAssignment.status).toBe('pending');
  const done = await waitFor(id, (a) => a.status === 'approved_role_assigned');
  expect(done.roleAssignment.status).toBe('success');
  expect(done.roleAssignment.attemptedAt).not.toBeNull();
  const roleId = stack.sandbox.roles(guildId).find((r) => r.name === 'Approved')!.id;
  expect(stack.sandbox.memberRoles(guildId, MEMBER)).toContain(roleId);
});
