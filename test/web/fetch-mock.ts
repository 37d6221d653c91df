import { jest } from '@jest/globals';

export type Route = (init: RequestInit | undefined) => { status?: number; body?: unknown };

/**
 * Replaces `fetch` with a table of `METHOD /path` → answer (a function may answer differently
 * each time). Unknown routes answer 404 in the API's error shape. Returns the calls made.
 */
export function mockFetch(routes: Record<string, Route | { status?: number; body?: unknown }>) {
  const calls: Array<{ method: string; path: string; body: unknown }> = [];
  const fn = jest.fn(async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input), 'http://localhost');
    const method = init?.method ?? 'GET';
    calls.push({
      method,
      path: url.pathname + url.search,
      body: init?.body ? JSON.parse(String(init.body)) : undefined,
    });
    const route = routes[`${method} ${url.pathname}${url.search}`] ?? routes[`${method} ${url.pathname}`];
    const answer =
      typeof route === 'function'
        ? route(init)
        : (route ?? { status: 404, body: { error: { code: 'not_found', message: 'No such API route.' } } });
    const status = answer.status ?? 200;
    const text = answer.body === undefined ? '' : JSON.stringify(answer.body);
    return { ok: status >= 200 && status < 300, status, text: async () => text };
  });
  globalThis.fetch = fn as unknown as typeof fetch;
  return calls;
}
