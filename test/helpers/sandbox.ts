import { startSandbox, type Sandbox, type SandboxOptions } from '../../src/sandbox/index';

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
