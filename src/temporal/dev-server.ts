import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { searchAttributeKeys } from './search-attributes';

export interface TemporalDevServer {
  address: string;
  uiUrl: string;
  process: ChildProcess;
  stop: () => Promise<void>;
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`temporal server exited with code ${child.exitCode}`);
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
  throw new Error(`temporal server did not listen on ${port} within ${timeoutMs} ms`);
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
  child.stdout?.on('data', (c: Buffer) => log(c.toString().trimEnd()));
  child.stderr?.on('data', (c: Buffer) => log(c.toString().trimEnd()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Whatever ends this process (another library's exit hook included) must not orphan the server.
  const killOnExit = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  };
  process.once('exit', killOnExit);
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await waitForPort(options.port, child, 60_000);
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
