import { pollUntil } from './poll.js';
import type { Stack } from './stack.js';

/** Drives the Discord bot connection flow of the API the way a browser and Discord would. */

export interface ConnectionView {
  state: 'disconnected' | 'connecting' | 'connected' | 'error';
  guild: { id: string; name: string } | null;
  role: { id: string; name: string } | null;
  error: string | null;
  updatedAt: string | null;
}

export interface ConfigRow {
  organization_id: string;
  guild_id: string | null;
  guild_name: string | null;
  approved_role_id: string | null;
  approved_role_name: string | null;
  connection_state: string;
  connection_error: string | null;
}

/** A new organization and its signed-in admin. */
export async function adminOfNewOrganization(stack: Stack): Promise<{ orgId: string; cookie: string }> {
  const org = await stack.createOrg();
  return { orgId: org.id, cookie: await stack.login(org.adminEmail) };
}

/** `GET /api/discord/connect`: the authorize URL's state, redirect_uri and permissions. */
export async function beginConnect(
  stack: Stack,
  cookie: string,
): Promise<{ state: string; redirectUri: string; permissions: string }> {
  const res = await stack.api('/api/discord/connect', { cookie });
  expect(res.status).toBe(302);
  const authorize = new URL(res.headers.get('location')!);
  return {
    state: authorize.searchParams.get('state')!,
    redirectUri: authorize.searchParams.get('redirect_uri')!,
    permissions: authorize.searchParams.get('permissions')!,
  };
}

/** The admin picks `guildId` on Discord's consent screen: the callback URL Discord redirects to. */
export async function authorizeUrl(
  stack: Stack,
  cookie: string,
  guildId: string,
  overrides: { permissions?: string; state?: string; deny?: boolean } = {},
): Promise<string> {
  const start = await beginConnect(stack, cookie);
  return stack.sandbox.authorize({
    redirectUri: start.redirectUri,
    state: overrides.state ?? start.state,
    guildId,
    permissions: overrides.permissions ?? start.permissions,
    ...(overrides.deny ? { deny: true } : {}),
  });
}

/** Follows Discord's redirect to the bot callback; returns where the API sends the browser next. */
export async function followCallback(url: string, cookie?: string): Promise<URL> {
  const res = await fetch(url, { headers: cookie ? { cookie } : {}, redirect: 'manual' });
  expect(res.status).toBe(302);
  return new URL(res.headers.get('location')!);
}

/** The `?success=`, `?status=` or `?error=` of a settings redirect, as `key=value`. */
export function outcomeOf(location: URL): string {
  const [key, value] = [...location.searchParams.entries()][0] ?? ['none', ''];
  return `${key}=${value}`;
}

/** The whole flow: connect, authorize on Discord, callback. */
export async function connect(
  stack: Stack,
  cookie: string,
  guildId: string,
  overrides: { permissions?: string } = {},
): Promise<string> {
  return outcomeOf(await followCallback(await authorizeUrl(stack, cookie, guildId, overrides), cookie));
}

export async function connectionView(stack: Stack, cookie: string): Promise<ConnectionView> {
  const res = await stack.api('/api/discord/connection', { cookie });
  expect(res.status).toBe(200);
  return (await res.json()) as ConnectionView;
}

/** Polls `GET /api/discord/connection` until `until` holds. */
export async function waitForConnection(
  stack: Stack,
  cookie: string,
  until: (view: ConnectionView) => boolean,
  timeoutMs = 30_000,
): Promise<ConnectionView> {
  return await pollUntil(() => connectionView(stack, cookie), until, { timeoutMs, what: 'the connection' });
}

export async function configRows(stack: Stack, organizationId: string): Promise<ConfigRow[]> {
  const { rows } = await stack.db.pool.query<ConfigRow>(
    `SELECT organization_id, guild_id, guild_name, approved_role_id, approved_role_name,
            connection_state::text AS connection_state, connection_error
     FROM discord_configs WHERE organization_id = $1`,
    [organizationId],
  );
  return rows;
}

/** The id of the user's newest session (sessions store only a token hash, so look it up by user). */
export async function sessionIdOf(stack: Stack, email: string): Promise<{ sessionId: string; userId: string }> {
  const { rows } = await stack.db.pool.query<{ id: string; user_id: string }>(
    `SELECT s.id, s.user_id FROM sessions s JOIN users u ON u.id = s.user_id
     WHERE lower(u.email) = lower($1) ORDER BY s.created_at DESC LIMIT 1`,
    [email],
  );
  const row = rows[0];
  if (!row) throw new Error(`no session for ${email}`);
  return { sessionId: row.id, userId: row.user_id };
}

/** Names of the roles called `name` in a sandbox guild. */
export function rolesNamed(stack: Stack, guildId: string, name = 'Approved'): string[] {
  return stack.sandbox
    .roles(guildId)
    .filter((r) => r.name === name)
    .map((r) => r.id);
}

/** Polls Temporal visibility (eventually consistent) until `query` lists at least one workflow. */
export async function waitForVisibility(stack: Stack, query: string, timeoutMs = 5_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ids: string[] = [];
    for await (const wf of stack.app.temporal.workflow.list({ query })) ids.push(wf.workflowId);
    if (ids.length > 0 || Date.now() > deadline) return ids;
    await new Promise((r) => setTimeout(r, 200));
  }
}
