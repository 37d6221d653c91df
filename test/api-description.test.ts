import fs from 'node:fs';
import type { Express } from 'express';
import { chromium, type Browser } from 'playwright-core';
import { createApp } from '../src/http/app.js';
import { errorCodes } from '../src/http/error-codes.js';
import { createLogger } from '../src/logger.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';
import { descriptionValidator, responseViolation } from './helpers/openapi-validator.js';

/** The API describes itself: /api/openapi.json, every route in it, and /api/docs readable offline. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let db: TestDatabase;
let app: TestApp;
let doc: {
  openapi: string;
  info: { description: string };
  paths: Record<string, Record<string, { responses: Record<string, unknown>; summary?: string }>>;
};

beforeAll(async () => {
  db = await createTestDatabase();
  app = await startTestApp(db.pool);
  const res = await fetch(`${app.baseUrl}/api/openapi.json`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  doc = (await res.json()) as typeof doc;
}, 60_000);
afterAll(async () => {
  await app?.close();
  await db?.drop();
});

interface Layer {
  rawPath?: unknown;
  route?: { path: unknown; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/** Every route the Express app answers, as `METHOD /path/{param}`, read from its router. */
function routesOf(layers: Layer[], prefix = ''): string[] {
  return layers.flatMap((layer) => {
    if (layer.route) {
      if (typeof layer.route.path !== 'string') return []; // the web UI's catch-all
      const path = `${prefix}${layer.route.path}`.replace(/:(\w+)/g, '{$1}');
      return Object.keys(layer.route.methods)
        .filter((m) => m !== '_all')
        .map((m) => `${m.toUpperCase()} ${path}`);
    }
    if (layer.handle?.stack) {
      const mount = typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : '';
      return routesOf(layer.handle.stack, `${prefix}${mount}`);
    }
    return [];
  });
}

test('the description is OpenAPI 3.1 and lists every route the app answers, and nothing else', () => {
  expect(doc.openapi).toBe('3.1.0');
  const express = createApp({
    config: app.config,
    pool: db.pool,
    temporal: app.temporal,
    logger: createLogger({ level: 'silent' }),
  }) as Express & { router: { stack: Layer[] } };
  const routes = routesOf(express.router.stack).filter(
    // Swagger UI's files and Prometheus' scrape are not API operations.
    (r) => !r.startsWith('GET /api/docs/') && r !== 'GET /metrics',
  );
  const described = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
  );
  expect(routes.length).toBeGreaterThan(20);
  expect([...new Set(routes)].sort()).toEqual([...described].sort());
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      expect([`${method} ${path}`, op.summary]).toEqual([`${method} ${path}`, expect.any(String)]);
    }
  }
});

test('every error code is explained, and each route says which ones it may answer', () => {
  for (const [code, { status }] of Object.entries(errorCodes)) {
    expect(doc.info.description).toContain(`| \`${code}\` | ${status} |`);
  }
  const review = doc.paths['/api/applications/{id}/review']!.post!.responses;
  expect(Object.keys(review).sort()).toEqual(['200', '400', '401', '403', '404', '409', '413', '422', '500', '503']);
  expect(JSON.stringify(review['422'])).toContain('idempotency_key_reused');
  expect(doc.info.description).toMatch(/## CSRF[\s\S]*Origin/);
});

test('every example in the description is valid by its own schema', () => {
  const schemas = (doc as unknown as { components: { schemas: Record<string, { example?: unknown }> } }).components
    .schemas;
  const withExamples = Object.entries(schemas).filter(([, schema]) => schema.example !== undefined);
  expect(withExamples.map(([name]) => name)).toEqual(
    expect.arrayContaining(['Application', 'ApplicationSubmission', 'Error', 'LoginRequest', 'ReviewRequest']),
  );
  for (const [name, schema] of withExamples) {
    const validate = descriptionValidator(`components/schemas/${name}`);
    expect([name, validate(schema.example), validate.errors ?? null]).toEqual([name, true, null]);
  }
});

test('answers that break the description are caught (the check every test app runs)', () => {
  expect(
    responseViolation('GET', '/api/applications', 200, 'application/json', { items: [{}], nextCursor: null }),
  ).toMatch(/body breaks the description/);
  expect(responseViolation('GET', '/api/applications', 418, 'application/json', {})).toMatch(
    /418, which is not described/,
  );
  expect(responseViolation('GET', '/api/undocumented', 200, 'application/json', {})).toMatch(/no such path/);
  expect(responseViolation('GET', '/healthz', 200, 'application/json; charset=utf-8', { status: 'ok' })).toBeNull();
});

test('/api/docs renders the reference in a browser, from this server only', async () => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`The browser test needs Chromium at ${CHROMIUM} (or CHROMIUM_PATH).`);
  let browser: Browser | undefined;
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu'],
    });
    const page = await browser.newPage();
    const elsewhere: string[] = [];
    const problems: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(app.baseUrl) && !r.url().startsWith('data:')) elsewhere.push(r.url());
    });
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(`${app.baseUrl}/api/docs`);
    await page.getByText('Discord role grants API').first().waitFor({ timeout: 20_000 });
    await page.getByText('Approve or reject', { exact: true }).first().waitFor();
    await page.getByText('/api/applications/{id}/review').first().waitFor();
    expect(problems).toEqual([]);
    expect(elsewhere).toEqual([]);
  } finally {
    await browser?.close();
  }
}, 60_000);
