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
