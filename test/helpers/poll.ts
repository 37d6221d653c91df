/** Reads `read()` every `intervalMs` until `until` holds; the error names `what` and the last value seen. */
export async function pollUntil<T>(
  read: () => Promise<T>,
  until: (value: T) => boolean,
  options: { timeoutMs: number; intervalMs?: number; what: string },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await read();
    if (until(last)) return last;
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 100));
  }
  throw new Error(`timed out waiting for ${options.what}; last seen: ${JSON.stringify(last)}`);
}

/** Asks `<baseUrl>/readyz` until it answers 200 (a process starting up); answers the last status (0: no answer). */
export async function readyzStatus(baseUrl: string, timeoutMs = 20_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let status = 0;
  while (Date.now() < deadline) {
    status = await fetch(`${baseUrl}/readyz`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  return status;
}
