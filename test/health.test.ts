import { createTestDatabase, type TestDatabase } from './helpers/db.js';
import { startTestApp, type TestApp } from './helpers/app.js';

let db: TestDatabase;
let app: TestApp;
beforeAll(async () => {
  db = await createTestDatabase();
  app = await startTestApp(db.pool);
});
afterAll(async () => {
  await app.close();
  await db.drop();
});

test('GET /healthz answers while the process is up', async () => {
  const res = await fetch(`${app.baseUrl}/healthz`);
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ status: 'ok' });
});

test('GET /readyz answers 200 when Postgres and Temporal answer', async () => {
  const res = await fetch(`${app.baseUrl}/readyz`);
  expect(await res.json()).toEqual({ status: 'ready' });
  expect(res.status).toBe(200);
});

test('unknown API routes answer a JSON error without a stack trace', async () => {
  const res = await fetch(`${app.baseUrl}/api/nope`);
  expect(res.status).toBe(404);
  expect(await res.json()).toEqual({ error: { code: 'not_found', message: 'No such API route.' } });
});

test('malformed JSON answers 400 invalid_json', async () => {
  const res = await fetch(`${app.baseUrl}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"email":',
  });
  expect(res.status).toBe(400);
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe('invalid_json');
  expect(JSON.stringify(body)).not.toMatch(/at .*\.ts/);
});
