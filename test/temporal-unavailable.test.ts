import net from 'node:net';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../src/config.js';
import { findApplication, insertApplication } from '../src/db/applications.js';
import { hashPassword } from '../src/auth/password.js';
import { createOrganizationWithAdmin } from '../src/db/organizations.js';
import { createApp } from '../src/http/app.js';
import { createLogger } from '../src/logger.js';
import { connectTemporal } from '../src/temporal/client.js';
import { TEST_STATE_SECRET } from './helpers/app.js';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';

// Temporal down or restarting (seen during the cluster test's server restart): a review answers
// 503 temporal_unavailable with Retry-After, not 500, and nothing is stored.

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

/** A TCP forwarder to the dev server that can be cut, as a Temporal server going away is. */
async function cuttableForwarder(target: string) {
  const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(port, host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    cut: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
  };
}

test('a review while Temporal is unreachable answers 503 temporal_unavailable with Retry-After, and stores nothing', async () => {
  const admin = { email: 'ops@acme.test', password: 'correct horse battery staple' };
  const { organization } = await createOrganizationWithAdmin(db.pool, {
    name: 'Acme',
    adminEmail: admin.email,
    adminPasswordHash: await hashPassword(admin.password),
  });
  const application = await insertApplication(db.pool, {
    organizationId: organization.id,
    name: 'Applicant',
    email: 'applicant@example.com',
    customData: {},
  });
  const forwarder = await cuttableForwarder(process.env.TEST_TEMPORAL_ADDRESS!);
  const temporal = await connectTemporal({ address: forwarder.address, namespace: 'default' });
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', STATE_SIGNING_SECRET: TEST_STATE_SECRET });
  const server: Server = await new Promise((resolve) => {
    const s = createApp({ config, pool: db.pool, temporal, logger: createLogger({ level: 'silent' }) }).listen(
      0,
      '127.0.0.1',
      () => resolve(s),
    );
  });
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  Object.assign(config, { publicBaseUrl: baseUrl });
  try {
    const login = await fetch(`${baseUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(admin),
    });
    expect(login.status).toBe(200);
    const cookie = login.headers.getSetCookie()[0]!.split(';')[0]!;

    await forwarder.cut();
    // The review, and Discord's redirect back to us (below), each wait out the Temporal client's
    // retries of the unreachable server (about 20 s): sent side by side, the test waits once.
    const reviewed = fetch(`${baseUrl}/api/applications/${application.id}/review`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie, origin: baseUrl, 'idempotency-key': 'review-1' },
      body: JSON.stringify({ decision: 'approve' }),
    });

    // Discord's redirect back to us lands while Temporal is away: the browser is sent back to
    // Settings with an error it can show, not a JSON error page.
    const connect = await fetch(`${baseUrl}/api/discord/connect`, { headers: { cookie }, redirect: 'manual' });
    const state = new URL(connect.headers.get('location')!).searchParams.get('state')!;
    const calledBack = fetch(
      `${baseUrl}/api/discord/bot-callback?${new URLSearchParams({ state, code: 'a-code', guild_id: '1' })}`,
      { headers: { cookie }, redirect: 'manual' },
    );
    const [res, callback] = await Promise.all([reviewed, calledBack]);

    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('temporal_unavailable');
    expect((await findApplication(db.pool, application.id))!.status).toBe('Pending');

    expect(callback.status).toBe(302);
    expect(callback.headers.get('location')).toBe(`${baseUrl}/settings?error=temporarily_unavailable`);
    // Only the callback's own GET is answered so: another method is still a plain 404.
    const post = await fetch(`${baseUrl}/api/discord/bot-callback`, { method: 'POST', redirect: 'manual' });
    expect(post.status).toBe(404);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await temporal.connection.close();
  }
});
