/**
 * A start failure that a person can act on: `message` says what went wrong in one sentence, `fix`
 * what to do about it. Entry points print the two lines instead of a stack trace.
 */
export class StartError extends Error {
  constructor(
    message: string,
    readonly fix: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StartError';
  }
}

/**
 * The lines a failed start ends with: the cause and the fix. Anything that is not a StartError is
 * a bug or a case nobody foresaw, so its message is shown with a pointer to the stack trace, which
 * `debug` (LOG_LEVEL=debug) prints in full.
 */
export function startFailureLines(err: unknown, options: { what: string; debug?: boolean }): string[] {
  const message = err instanceof Error ? err.message : String(err);
  const lines =
    err instanceof StartError
      ? [`${options.what} failed: ${message}`, `  ${err.fix}`]
      : [
          `${options.what} failed: ${firstLine(message) || 'an unexpected error'}`,
          '  This is unexpected: run it again with LOG_LEVEL=debug for the details, and report them.',
        ];
  if (options.debug) {
    const stack = (err instanceof Error && err.stack) || message;
    const cause = err instanceof Error && err.cause instanceof Error ? `\nCaused by: ${err.cause.stack}` : '';
    return [`${stack}${cause}`, ...lines];
  }
  return lines;
}

function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .find((l) => l.trim())
      ?.trim() ?? ''
  );
}
