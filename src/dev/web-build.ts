import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { childProcessEnv } from '../config.js';

const THIS_FILE = fileURLToPath(import.meta.url);
const root = path.resolve(path.dirname(THIS_FILE), '../..');
const SOURCE_DIR = path.join(root, 'src/web');
const OUT_INDEX = path.join(root, 'dist/web/index.html');
const CONFIG_FILE = path.join(root, 'vite.config.ts');

async function newestMtime(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const stat = await fs.stat(path.join(entry.parentPath, entry.name));
    newest = Math.max(newest, stat.mtimeMs);
  }
  return newest;
}

/** Whether dist/web is missing or older than a file of src/web (or the Vite config, or the shared domain code). */
export async function webBuildIsStale(): Promise<boolean> {
  const built = await fs.stat(OUT_INDEX).then(
    (s) => s.mtimeMs,
    () => null,
  );
  if (built === null) return true;
  const sources = Math.max(
    await newestMtime(SOURCE_DIR),
    await newestMtime(path.join(root, 'src/domain')),
    (await fs.stat(CONFIG_FILE)).mtimeMs,
  );
  return sources > built;
}

/** Builds the admin web UI into dist/web with Vite's programmatic `build()`. */
export async function buildWeb(): Promise<void> {
  const { build } = await import('vite');
  await build({ configFile: CONFIG_FILE, logLevel: 'warn' });
}

/** The same build in a child Node process: for callers whose module loader Vite cannot run in (jest's VM modules). */
function buildWebInChildProcess(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', THIS_FILE], {
      cwd: root,
      env: childProcessEnv({ NODE_OPTIONS: '' }),
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`vite build failed (exit code ${code})`))));
  });
}

/**
 * Builds the admin web UI when dist/web is missing or stale (or always, with `force`); with
 * `childProcess`, in a separate Node process. Returns whether it built.
 */
export async function buildWebIfStale(
  options: { force?: boolean; childProcess?: boolean; log?: (line: string) => void } = {},
): Promise<boolean> {
  if (!options.force && !(await webBuildIsStale())) return false;
  // Two builds at once (parallel test files, `npm start` next to a test run) would empty each
  // other's output: one builds, the others wait for it and then find the build fresh.
  const release = await acquireLock();
  try {
    if (!options.force && !(await webBuildIsStale())) return false;
    const started = Date.now();
    options.log?.('Building the web UI (vite build)...');
    await (options.childProcess ? buildWebInChildProcess() : buildWeb());
    options.log?.(`Web UI built in ${Date.now() - started} ms.`);
    return true;
  } finally {
    await release();
  }
}

const LOCK_DIR = path.join(root, '.cache', 'web-build.lock');
/** A lock older than this was left by a build that died. */
const STALE_LOCK_MS = 120_000;

async function acquireLock(): Promise<() => Promise<void>> {
  await fs.mkdir(path.dirname(LOCK_DIR), { recursive: true });
  for (;;) {
    try {
      await fs.mkdir(LOCK_DIR);
      return () => fs.rm(LOCK_DIR, { recursive: true, force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const since = await fs.stat(LOCK_DIR).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (since > STALE_LOCK_MS) await fs.rm(LOCK_DIR, { recursive: true, force: true });
      else await new Promise((r) => setTimeout(r, 200));
    }
  }
}

// `tsx src/dev/web-build.ts`: build now.
if (process.argv[1] && path.resolve(process.argv[1]) === THIS_FILE) {
  await buildWeb();
}
