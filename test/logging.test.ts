import { PASSWORD, startStack, type Org, type Stack } from './helpers/stack.js';
import { authorizeUrl, followCallback, outcomeOf } from './helpers/discord-connect.js';

const lines: string[] = [];
let stack: Stack;
let org: Org;

beforeAll(async () => {
  stack = await startStack({ logLines: lines });
  org = await stack.createOrg();
});
afterAll(async () => {
  await stack?.close();
});

test('no password, session token, OAuth code or state, or bot token reaches the logs', async () => {
  const cookie = await stack.login(org.adminEmail);
  const wrong = await stack.api('/api/auth/login', {
    method: 'POST',
    body: { email: org.adminEmail, password: 'a-wrong-password-123' },
  });
  expect(wrong.status).toBe(401);

  const guild = stack.sandbox.createGuild({ name: 'Logged Guild' });
  const ok = new URL(await authorizeUrl(stack, cookie, guild.id));
  expect(outcomeOf(await followCallback(ok.toString(), cookie))).toBe('success=bot_connected');
  // A refused callback is logged, with its reason but without the state it carried.
  const replay = await followCallback(ok.toString(), cookie);
  expect(outcomeOf(replay)).toBe('error=invalid_state');

  const log = lines.join('');
  expect(log).toMatch(/discord bot callback refused/);
  expect(log).toMatch(/"reason":"invalid_state"/);
  const secrets = [
    PASSWORD,
    'a-wrong-password-123',
    cookie.split('=')[1]!,
    ok.searchParams.get('state')!,
    ok.searchParams.get('code')!,
    stack.sandbox.botToken,
    stack.sandbox.clientSecret,
    stack.app.config.stateSigningSecret,
  ];
  for (const secret of secrets) expect(log).not.toContain(secret);
});
