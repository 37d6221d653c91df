import { startEmbeddedPostgres } from '../src/dev/embedded-postgres.js';
import { createPool } from '../src/db/pool.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import path from 'node:path';
import os from 'node:os';
import fs from 'node:fs/promises';

// A Postgres of this file's own, so that stopping it disturbs no other test file.
let app: TestApp;
let pool: ReturnType<typeof createPool>;
let stopPostgres: () => Promise<void>;
let dir: string;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'readyz-'));
  const pg = await startEmbeddedPostgres({ dataDir: path.join(dir, 'pg'), persistent: false });
  stopPostgres = pg.stop;
  pool = createPool(pg.url());
  app = await startTestApp(pool, {}, {});
}, 60_000);
afterAll(async () => {
  await app?.close();
  await pool?.end();
  await fs.rm(dir, { recursive: true, force: true });
});

test('readyz answers 200 while Postgres and Temporal answer, and 503 with the reason once Postgres is gone', async () => {
  const ok = await fetch(`${app.baseUrl}/readyz`);
  expect(ok.status).toBe(200);
  await stopPostgres();
  const down = await fetch(`${app.baseUrl}/readyz`);
  expect(down.status).toBe(503);
  const body = (await down.json()) as { status: string; problems: Record<string, string> };
  expect(body.status).toBe('unavailable');
  expect(body.problems.postgres).toMatch(/Postgres is unreachable/);
  expect(body.problems.temporal).toBeUndefined();
  // The process itself is still up.
  expect((await fetch(`${app.baseUrl}/healthz`)).status).toBe(200);
});

test('readyz answers 503 naming Temporal when Temporal is unreachable', async () => {
  const { connectTemporal } = await import('../src/temporal/client.js');
  const { createApp } = await import('../src/http/app.js');
  const { loadConfig } = await import('../src/config.js');
  const { createLogger } = await import('../src/logger.js');
  const { createTestDatabase } = await import('./helpers/db.js');
  const db = await createTestDatabase();
  // A client whose server then goes away: connect to the real one, then close its connection.
  const temporal = await connectTemporal({ address: process.env.TEST_TEMPORAL_ADDRESS!, namespace: 'default' });
  await temporal.connection.close();
  const server = createApp({
    config: loadConfig({ LOG_LEVEL: 'silent' }),
    pool: db.pool,
    temporal,
    logger: createLogger({ level: 'silent' }),
  }).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  try {
    const { port } = server.address() as { port: number };
    const res = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(res.status).toBe(503);
    const body = (await res.json()) as { problems: Record<string, string> };
    expect(body.problems.temporal).toMatch(/Temporal is unreachable/);
    expect(body.problems.postgres).toBeUndefined();
  } finally {
    server.close();
    await db.drop();
  }
});
