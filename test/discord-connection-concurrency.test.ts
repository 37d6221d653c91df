import { startConnection } from '../src/temporal/operations.js';
import { startStack, type Stack } from './helpers/stack.js';
import {
  authorizeUrl,
  configRows,
  connect,
  followCallback,
  outcomeOf,
  rolesNamed,
  waitForConnection,
  waitForVisibility,
  adminOfNewOrganization,
} from './helpers/discord-connect.js';

/** Concurrent connection attempts of one organization: one workflow ID, conflict policy FAIL. */

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

const newAdmin = () => adminOfNewOrganization(stack);

const TOKEN_ROUTE = 'POST /oauth2/token';

test('20 simultaneous callbacks for one organization: one token exchange, one role, one row', async () => {
  const { orgId, cookie } = await newAdmin();
  const guild = stack.sandbox.createGuild({ name: 'Stampede' });
  // Twenty valid, distinct states and codes: as if the admin finished the flow in twenty tabs.
  const urls: string[] = [];
  for (let i = 0; i < 20; i += 1) urls.push(await authorizeUrl(stack, cookie, guild.id));
  const before = stack.sandbox.stats();

  const outcomes = (await Promise.all(urls.map((url) => followCallback(url, cookie)))).map(outcomeOf);

  const won = (o: string) => o === 'success=bot_connected' || o === 'status=connecting';
  const winners = outcomes.filter(won);
  const others = outcomes.filter((o) => !won(o));
  expect(winners).toHaveLength(1);
  for (const o of others) expect(['error=connection_in_progress', 'error=already_connected']).toContain(o);
  const view = await waitForConnection(stack, cookie, (v) => v.state !== 'connecting');
  expect(view.state).toBe('connected');

  const after = stack.sandbox.stats();
  expect(rolesNamed(stack, guild.id)).toHaveLength(1);
  expect(after.rolesCreated - before.rolesCreated).toBe(1);
  expect((after.byRoute[TOKEN_ROUTE]?.requests ?? 0) - (before.byRoute[TOKEN_ROUTE]?.requests ?? 0)).toBe(1);
  expect(await configRows(stack, orgId)).toEqual([
    expect.objectContaining({ connection_state: 'connected', guild_id: guild.id }),
  ]);

  // And twenty more once it is connected: all already_connected, none reaches Discord.
  const more: string[] = [];
  for (let i = 0; i < 20; i += 1) more.push(await authorizeUrl(stack, cookie, guild.id));
  const requests = stack.sandbox.stats().requests;
  const late = (await Promise.all(more.map((url) => followCallback(url, cookie)))).map(outcomeOf);
  expect(new Set(late)).toEqual(new Set(['error=already_connected']));
  expect(stack.sandbox.stats().requests).toBe(requests);
});

test('disconnecting while a connection runs: 409 connection_in_progress, and the connection finishes', async () => {
  const { orgId, cookie } = await newAdmin();
  const guild = stack.sandbox.createGuild({ name: 'Busy' });
  stack.sandbox.faults.add({ route: 'POST /guilds/:guildId/roles', latencyMs: 1_500, times: 1 });
  const url = await authorizeUrl(stack, cookie, guild.id);
  const callback = followCallback(url, cookie);
  await waitForConnection(stack, cookie, (v) => v.state === 'connecting', 5_000);

  const res = await stack.api('/api/discord/connection', { method: 'DELETE', cookie });
  expect(res.status).toBe(409);
  expect(((await res.json()) as { error: { code: string } }).error.code).toBe('connection_in_progress');

  expect(outcomeOf(await callback)).toBe('success=bot_connected');
  expect(await configRows(stack, orgId)).toEqual([expect.objectContaining({ connection_state: 'connected' })]);
});

test('an attempt that finds the organization connected leaves no run marked connecting', async () => {
  const { orgId, cookie } = await newAdmin();
  const guild = stack.sandbox.createGuild({ name: 'Connected Already' });
  expect(await connect(stack, cookie, guild.id)).toBe('success=bot_connected');
  const userId = (await stack.db.pool.query<{ id: string }>('SELECT id FROM users WHERE organization_id = $1', [orgId]))
    .rows[0]!.id;

  // What a callback that passed the route's own check just before the winner finished does.
  const result = await startConnection(
    { temporal: stack.app.temporal, config: stack.app.config },
    { organizationId: orgId, userId, code: 'unused', redirectUri: 'http://127.0.0.1/cb' },
  );
  expect(result).toEqual({ outcome: 'already_connected' });

  // Operators look for stuck attempts with this query: a finished run must not show up in it.
  await waitForVisibility(stack, `OrganizationId = "${orgId}" AND ExecutionStatus = "Completed"`);
  const stuck = async () => {
    const runs: string[] = [];
    for await (const wf of stack.app.temporal.workflow.list({
      query: `OrganizationId = "${orgId}" AND ConnectionState = "connecting"`,
    })) {
      runs.push(`${wf.workflowId}/${wf.runId}/${wf.status.name}`);
    }
    return runs;
  };
  const deadline = Date.now() + 5_000;
  let runs = await stuck();
  while (runs.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    runs = await stuck();
  }
  expect(runs).toEqual([]);
});
