import { startSandbox, type Sandbox, type SandboxOptions } from '../../src/dev/sandbox/index.js';

/**
 * One Discord sandbox for a test file: started before its tests, closed after them, and put back
 * to its defaults (no faults, default rate limits, empty stats) after each test.
 */
export function useSandbox(ready: (sandbox: Sandbox) => void, options?: SandboxOptions): void {
  let sandbox: Sandbox | undefined;
  beforeAll(async () => {
    sandbox = await startSandbox(options);
    ready(sandbox);
  });
  afterEach(() => {
    sandbox?.faults.clear();
    sandbox?.setRateLimits({});
    sandbox?.resetStats();
  });
  afterAll(async () => {
    await sandbox?.close();
  });
}

/** A REST call to the sandbox as the bot: its token unless another Authorization is given, JSON bodies labelled. */
export function botRequest(sandbox: Sandbox, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (!headers.has('authorization')) headers.set('authorization', `Bot ${sandbox.botToken}`);
  if (init.body && !headers.has('content-type')) headers.set('content-type', 'application/json');
  return fetch(`${sandbox.apiBaseUrl}/v10${path}`, { ...init, headers });
}

/** HTTP Basic client credentials of an OAuth2 token request. */
export function basicAuth(clientId: string, clientSecret: string): string {
  return `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`;
}

/** Asserts a Discord JSON error answer (`{code, message}`, application/json) and returns its body. */
export async function expectDiscordError(
  res: Response,
  status: number,
  code: number,
): Promise<Record<string, unknown>> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  const body = (await res.json()) as Record<string, unknown>;
  expect(body.code).toBe(code);
  expect(typeof body.message).toBe('string');
  return body;
}
