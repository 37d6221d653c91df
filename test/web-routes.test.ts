import fs from 'node:fs';
import path from 'node:path';
import { WEB_DIST_DIR } from '../src/http/routes/web.js';
import { buildWebIfStale } from '../src/dev/web-build.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';

/** How the API serves the built admin UI: static files, the SPA fallback, /api/config, the CSP. */
let db: TestDatabase;
let app: TestApp;

beforeAll(async () => {
  await buildWebIfStale({ childProcess: true });
  db = await createTestDatabase();
  app = await startTestApp(db.pool, { TEMPORAL_UI_URL: 'http://temporal-ui.example:8233' });
}, 60_000);
afterAll(async () => {
  await app?.close();
  await db?.drop();
});

test.each(['/', '/login', '/settings', '/applications', '/ops', '/apply/acme'])(
  'GET %s answers the app (index.html) under a CSP without inline scripts',
  async (route) => {
    const res = await fetch(`${app.baseUrl}${route}`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain('<div id="root"></div>');
    expect(html).toMatch(/<script type="module" crossorigin src="\/assets\/[^"]+\.js"><\/script>/);
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/script-src 'self'/);
    expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
  },
);

test('the built assets are served with long caching; a missing one is a 404, not the app', async () => {
  const assets = fs.readdirSync(path.join(WEB_DIST_DIR, 'assets'));
  const js = assets.find((f) => f.endsWith('.js'))!;
  const res = await fetch(`${app.baseUrl}/assets/${js}`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/javascript/);
  expect(res.headers.get('cache-control')).toMatch(/immutable/);
  expect((await fetch(`${app.baseUrl}/assets/nope-123.js`)).status).toBe(404);
});

test('/api stays the API: unknown routes answer JSON 404s, /api/config is public', async () => {
  const missing = await fetch(`${app.baseUrl}/api/nope`, { headers: { accept: 'text/html' } });
  expect(missing.status).toBe(404);
  expect(await missing.json()).toEqual({ error: { code: 'not_found', message: 'No such API route.' } });
  const config = await fetch(`${app.baseUrl}/api/config`);
  expect(config.status).toBe(200);
  expect(await config.json()).toEqual({ temporalUiUrl: 'http://temporal-ui.example:8233' });
  expect((await fetch(`${app.baseUrl}/healthz`)).status).toBe(200);
});
