/**
 * A child process of the cluster: its own process group (a `tsx` wrapper and the Node process it
 * starts die together), every output line forwarded with a prefix, a readiness check, and stop,
 * kill and restart with the same command.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { childProcessEnv, type Env } from '../../config.js';

export interface ProcessSpec {
  /** Short name, the prefix of its log lines: `api-1`, `worker-2`, `temporal`. */
  name: string;
  command: string;
  args: string[];
  cwd?: string;
  env?: Env;
  /** Resolves once the process is ready (polls a port, waits for a log line...). */
  ready?: (child: ManagedProcess) => Promise<void>;
  readyTimeoutMs?: number;
  /** How long `stop` waits after SIGTERM before SIGKILL. (Default: 15 s) */
  stopTimeoutMs?: number;
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number | undefined;
  /** The last output lines (at most 200). */
  readonly output: string[];
  /** Resolves when a line matching `pattern` is printed (including lines printed before). */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<string>;
  /** Whether the process runs (spawned and not exited). */
  running(): boolean;
  /** SIGTERM to the group, SIGKILL after the timeout; resolves when it has exited. */
  stop(): Promise<void>;
  /** A signal to the whole group, without waiting (SIGKILL: a crash). Resolves when it has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again with the same command (after stop or kill), and waits until it is ready. */
  restart(): Promise<void>;
  /** Called on every exit that `stop`, `kill` or `restart` did not ask for. */
  onUnexpectedExit(listener: (description: string) => void): void;
}

export type LineSink = (name: string, line: string) => void;

const MAX_LINES = 200;

export async function startProcess(spec: ProcessSpec, sink: LineSink): Promise<ManagedProcess> {
  let child: ChildProcess | undefined;
  let exited: Promise<string> = Promise.resolve('not started');
  let expectedExit = false;
  const output: string[] = [];
  const lineWaiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];
  const exitListeners: Array<(description: string) => void> = [];

  const onLine = (line: string) => {
    output.push(line);
    output.splice(0, Math.max(0, output.length - MAX_LINES));
    sink(spec.name, line);
    for (const waiter of [...lineWaiters]) {
      if (waiter.pattern.test(line)) {
        lineWaiters.splice(lineWaiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  };
  const lineReader = () => {
    let rest = '';
    return (chunk: Buffer) => {
      const lines = (rest + chunk.toString()).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) onLine(line.trimEnd());
    };
  };

  const alive = () => child?.pid !== undefined && child.exitCode === null && child.signalCode === null;
  const signalGroup = (signal: NodeJS.Signals) => {
    if (!child?.pid || !alive()) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      child.kill(signal);
    }
  };
  // Whatever ends the cluster's own process must not leave its children running.
  const killOnExit = () => signalGroup('SIGKILL');
  process.on('exit', killOnExit);

  const lastLines = () =>
    output
      .slice(-5)
      .map((l) => (l.length > 300 ? `${l.slice(0, 300)}...` : l))
      .join(' | ');
  const launch = async () => {
    expectedExit = false;
    output.length = 0;
    const proc = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: childProcessEnv(spec.env),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    child = proc;
    proc.stdout?.on('data', lineReader());
    proc.stderr?.on('data', lineReader());
    exited = new Promise<string>((resolve) => {
      proc.once('exit', (code, signal) => resolve(signal ? `killed by ${signal}` : `exited with code ${code}`));
      proc.once('error', (err) => resolve(`could not start (${err.message})`));
    });
    void exited.then((description) => {
      if (child !== proc) return;
      if (!expectedExit) for (const listener of exitListeners) listener(description);
    });
    if (!spec.ready) return;
    const timeoutMs = spec.readyTimeoutMs ?? 120_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        spec.ready(handle),
        exited.then((description) => {
          throw new Error(`${spec.name} ${description} while starting: ${lastLines()}`);
        }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`${spec.name} was not ready within ${timeoutMs / 1000} s: ${lastLines()}`)),
            timeoutMs,
          );
        }),
      ]);
    } catch (err) {
      expectedExit = true;
      signalGroup('SIGKILL');
      await exited;
      throw err;
    } finally {
      clearTimeout(timer);
    }
  };

  const stop = async () => {
    expectedExit = true;
    if (!alive()) return;
    signalGroup('SIGTERM');
    const timer = setTimeout(() => signalGroup('SIGKILL'), spec.stopTimeoutMs ?? 15_000);
    await exited;
    clearTimeout(timer);
  };

  const handle: ManagedProcess = {
    name: spec.name,
    get pid() {
      return child?.pid;
    },
    output,
    waitForLine: (pattern, timeoutMs) => {
      const seen = output.find((line) => pattern.test(line));
      if (seen) return Promise.resolve(seen);
      return new Promise<string>((resolve, reject) => {
        const waiter = { pattern, resolve };
        lineWaiters.push(waiter);
        setTimeout(() => {
          const i = lineWaiters.indexOf(waiter);
          if (i >= 0) {
            lineWaiters.splice(i, 1);
            reject(new Error(`${spec.name} printed no line matching ${pattern} within ${timeoutMs / 1000} s`));
          }
        }, timeoutMs).unref();
      });
    },
    running: alive,
    stop: async () => {
      await stop();
      process.off('exit', killOnExit);
    },
    kill: async (signal = 'SIGKILL') => {
      expectedExit = true;
      signalGroup(signal);
      await exited;
    },
    restart: async () => {
      await stop();
      process.off('exit', killOnExit);
      process.on('exit', killOnExit);
      await launch();
    },
    onUnexpectedExit: (listener) => {
      exitListeners.push(listener);
    },
  };
  try {
    await launch();
  } catch (err) {
    process.off('exit', killOnExit);
    throw err;
  }
  return handle;
}
