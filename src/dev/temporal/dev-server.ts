import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { ensurePortFree } from '../../ports.js';
import { StartError } from '../../start-error.js';
import { searchAttributeKeys } from '../../temporal/search-attributes.js';

export interface TemporalDevServer {
  address: string;
  uiUrl: string;
  process: ChildProcess;
  stop: () => Promise<void>;
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number, output: string[]): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    // Not spawned at all: the 'error' event tells why.
    if (child.pid === undefined) return await new Promise(() => undefined);
    if (child.exitCode !== null || child.signalCode !== null) {
      const last = output
        .filter((l) => l.trim())
        .at(-1)
        ?.trim();
      throw new StartError(
        `The Temporal dev server exited while starting (${child.exitCode ?? child.signalCode})${last ? `: ${last}` : '.'}`,
        'LOG_LEVEL=debug shows its whole log; or set TEMPORAL_ADDRESS to a Temporal server of your own.',
      );
    }
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new StartError(
    `The Temporal dev server did not listen on port ${port} within ${timeoutMs / 1000} s.`,
    'LOG_LEVEL=debug shows its whole log; or set TEMPORAL_ADDRESS to a Temporal server of your own.',
  );
}

/**
 * Starts `temporal server start-dev` (SQLite in `dbFile`, so workflows survive a restart) with this
 * project's search attributes registered. The returned `stop` ends it with SIGTERM, then SIGKILL.
 */
export async function startTemporalDevServer(options: {
  cliPath: string;
  dbFile: string;
  port: number;
  uiPort?: number;
  namespace?: string;
  onLog?: (line: string) => void;
}): Promise<TemporalDevServer> {
  const fix =
    'Stop whatever listens there (an `npm start` still running?), or set TEMPORAL_ADDRESS to a Temporal server of your own.';
  for (const port of [options.port, options.uiPort ?? 0].filter(Boolean)) {
    await ensurePortFree(port, { host: '127.0.0.1', service: 'the Temporal dev server', fix });
  }
  await fs.mkdir(path.dirname(options.dbFile), { recursive: true });
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(options.port),
    '--db-filename',
    options.dbFile,
    '--namespace',
    options.namespace ?? 'default',
    '--log-level',
    'error',
    ...(options.uiPort ? ['--ui-port', String(options.uiPort)] : ['--headless']),
    ...searchAttributeKeys.flatMap((key) => ['--search-attribute', `${key.name}=Keyword`]),
    // WAL with synchronous=NORMAL: several times the write throughput of SQLite's defaults, and
    // still safe when the server process crashes (only an OS crash can lose the last commits).
    ...['journal_mode=wal', 'synchronous=normal'].flatMap((p) => ['--sqlite-pragma', p]),
  ];
  const child = spawn(options.cliPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const log = options.onLog ?? (() => undefined);
  const output: string[] = [];
  const keep = (c: Buffer) => {
    const text = c.toString().trimEnd();
    log(text);
    output.push(...text.split('\n'));
    output.splice(0, Math.max(0, output.length - 40));
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    void spawnError.then(() => resolve());
  });
  // Whatever ends this process (another library's exit hook included) must not orphan the server.
  const killOnExit = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  };
  process.once('exit', killOnExit);
  const stop = async () => {
    process.off('exit', killOnExit);
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await Promise.race([
      waitForPort(options.port, child, 60_000, output),
      spawnError.then((err) => {
        throw new StartError(
          `The Temporal CLI ${options.cliPath} could not be run (${(err as NodeJS.ErrnoException).code ?? err.message}).`,
          'Set TEMPORAL_CLI_PATH to a working temporal binary, or remove the cached one to have it installed again.',
        );
      }),
    ]);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    address: `127.0.0.1:${options.port}`,
    uiUrl: options.uiPort ? `http://localhost:${options.uiPort}` : '',
    process: child,
    stop,
  };
}
