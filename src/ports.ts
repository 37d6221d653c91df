import net from 'node:net';
import { StartError } from './start-error.js';

/** A TCP port of 127.0.0.1 that nothing listens on right now. */
export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/**
 * Whether `port` can be listened on at `host` (undefined: every address, as `app.listen(port)`
 * does): `undefined` when it can, else the error code (EADDRINUSE, EACCES, ...).
 */
export async function portProblem(port: number, host?: string): Promise<string | undefined> {
  return await new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

/**
 * Throws a StartError naming the port, who needs it and `fix` when `port` cannot be listened on.
 * Checked before starting a service, so that the person reads one sentence instead of the service's
 * own error (or a stack trace) after everything before it has started.
 */
export async function ensurePortFree(
  port: number,
  options: { host?: string; service: string; fix: string },
): Promise<void> {
  const problem = await portProblem(port, options.host);
  if (!problem) return;
  throw new StartError(describePortProblem(port, options.service, problem), options.fix);
}

export function describePortProblem(port: number, service: string, code: string): string {
  if (code === 'EADDRINUSE') return `Port ${port} is already in use, so ${service} cannot listen on it.`;
  if (code === 'EACCES') return `Port ${port} needs privileges this user lacks, so ${service} cannot listen on it.`;
  return `Cannot listen on port ${port} for ${service} (${code}).`;
}
