/**
 * The Go builds of `npm run cluster`: the Temporal server and its SQL schema tool from source
 * (go.temporal.io/server, pinned), and the Temporal Web UI server (github.com/temporalio/ui-server).
 * Each lands in a folder of the cache (`<cacheRoot()>/temporal-server/<version>/`, and
 * `temporal-ui-server/<version>/`), built in a temporary folder beside it and renamed into place
 * when complete, so an interrupted build is never taken for a finished one. A later start finds the
 * folder and builds nothing.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { childProcessEnv, systemEnv } from '../../config.js';
import { StartError } from '../../start-error.js';
import { cacheRoot } from '../tool-cache.js';

export const TEMPORAL_SERVER_VERSION = 'v1.32.2';
export const TEMPORAL_UI_SERVER_VERSION = 'v2.58.1';
/**
 * The Go toolchain the builds need (the server's go.mod asks for a newer Go than many machines
 * have): `go` downloads it from the module proxy once, by itself, when GOTOOLCHAIN names it.
 */
export const GO_TOOLCHAIN = 'go1.27.3';
/**
 * ui-server v2.58.1 requires echo v4.16.1 and go.temporal.io/api v1.64.0, which the module proxy
 * no longer serves ("This module version is not available"); the build takes the next patch
 * releases of both, which it does serve.
 */
const UI_SERVER_DEPENDENCY_PINS = ['github.com/labstack/echo/v4@v4.16.4', 'go.temporal.io/api@v1.64.3'];

export interface TemporalServerBuild {
  /** The `server` binary (`temporal-server start`). */
  server: string;
  /** The SQL schema tool (`temporal-sql-tool`). */
  sqlTool: string;
  /** `schema/postgresql/v12` of the server's module, copied beside the binaries. */
  postgresSchemaDir: string;
  /** Seconds spent building now; 0 when the cache had it. */
  buildSeconds: number;
}

export interface UiServerBuild {
  binary: string;
  buildSeconds: number;
}

type Log = (line: string) => void;

export function temporalServerCacheDir(): string {
  return path.join(cacheRoot(), 'temporal-server', TEMPORAL_SERVER_VERSION);
}

export function uiServerCacheDir(): string {
  return path.join(cacheRoot(), 'temporal-ui-server', TEMPORAL_UI_SERVER_VERSION);
}

async function exists(file: string): Promise<boolean> {
  return await fs.stat(file).then(
    () => true,
    () => false,
  );
}

async function findGo(): Promise<string> {
  for (const dir of systemEnv().PATH.split(path.delimiter)) {
    const candidate = path.join(dir, 'go');
    if (dir && (await exists(candidate))) return candidate;
  }
  throw new StartError(
    'Building the Temporal server needs Go, and there is no `go` on PATH.',
    `Install Go (any recent release: it fetches ${GO_TOOLCHAIN} itself from the module proxy) and start again.`,
  );
}

/** The environment of every `go` command here: the toolchain the modules need. */
export function goEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return childProcessEnv({ GOTOOLCHAIN: GO_TOOLCHAIN, ...extra });
}

/** Runs `go` with `args`; its output goes to `log`; rejects with the last lines when it fails. */
async function runGo(
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; log: Log; capture?: boolean },
): Promise<string> {
  const go = await findGo();
  options.log(`$ GOTOOLCHAIN=${GO_TOOLCHAIN} go ${args.join(' ')}`);
  return await new Promise<string>((resolve, reject) => {
    const child = spawn(go, args, {
      cwd: options.cwd,
      env: goEnv(options.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    const tail: string[] = [];
    const forward = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (!line.trim()) continue;
        tail.push(line);
        tail.splice(0, Math.max(0, tail.length - 5));
        options.log(`  ${line}`);
      }
    };
    child.stdout.on('data', (chunk: Buffer) => (options.capture ? (stdout += chunk.toString()) : forward(chunk)));
    child.stderr.on('data', forward);
    child.on('error', (err) => reject(new Error(`go could not run (${err.message})`)));
    child.on('close', (code) =>
      code === 0 ? resolve(stdout) : reject(new Error(`go ${args[0]} exited with ${code}: ${tail.join(' | ')}`)),
    );
  });
}

/** The module's folder in the Go module cache (downloaded when missing). */
async function moduleDir(modulePath: string, version: string, log: Log): Promise<string> {
  const out = await runGo(['mod', 'download', '-json', `${modulePath}@${version}`], { log, capture: true });
  const { Dir, Error: error } = JSON.parse(out) as { Dir?: string; Error?: string };
  if (!Dir) throw new Error(`go mod download ${modulePath}@${version}: ${error ?? 'no Dir'}`);
  return Dir;
}

/**
 * Builds into a fresh temporary folder beside `finalDir`, then renames it into place. Another
 * start that finished first wins: its folder is kept and ours removed.
 */
async function buildInto(finalDir: string, build: (work: string) => Promise<void>): Promise<void> {
  await fs.mkdir(path.dirname(finalDir), { recursive: true });
  const work = `${finalDir}.build-${process.pid}-${randomBytes(4).toString('hex')}`;
  await fs.mkdir(work);
  try {
    await build(work);
    await fs.rename(work, finalDir).catch(async (err: NodeJS.ErrnoException) => {
      if (!(await exists(finalDir))) throw err;
    });
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

function buildFailure(what: string, err: unknown): StartError {
  return new StartError(
    `Building ${what} failed: ${(err as Error).message}`,
    `Check that the Go module proxy can be reached (go env GOPROXY), that GOTOOLCHAIN=${GO_TOOLCHAIN} can be fetched, and try again.`,
    { cause: err },
  );
}

/**
 * The Temporal server and its SQL tool at TEMPORAL_SERVER_VERSION, built with `go install` into
 * the cache on first use (minutes on a cold Go cache), with the Postgres schema copied beside them.
 */
export async function ensureTemporalServer(options: { log?: Log } = {}): Promise<TemporalServerBuild> {
  const log = options.log ?? (() => undefined);
  const dir = temporalServerCacheDir();
  const result = (buildSeconds: number): TemporalServerBuild => ({
    server: path.join(dir, 'server'),
    sqlTool: path.join(dir, 'sql'),
    postgresSchemaDir: path.join(dir, 'schema', 'postgresql', 'v12'),
    buildSeconds,
  });
  if (await exists(path.join(dir, 'server'))) return result(0);

  const started = Date.now();
  log(
    `Building the Temporal server ${TEMPORAL_SERVER_VERSION} from source into ${dir} (minutes on a cold Go cache)...`,
  );
  try {
    await buildInto(dir, async (work) => {
      await runGo(
        [
          'install',
          `go.temporal.io/server/cmd/server@${TEMPORAL_SERVER_VERSION}`,
          `go.temporal.io/server/cmd/tools/sql@${TEMPORAL_SERVER_VERSION}`,
        ],
        { env: { GOBIN: work }, log },
      );
      const moduleRoot = await moduleDir('go.temporal.io/server', TEMPORAL_SERVER_VERSION, log);
      const schema = path.join(work, 'schema', 'postgresql', 'v12');
      await fs.mkdir(path.dirname(schema), { recursive: true });
      await fs.cp(path.join(moduleRoot, 'schema', 'postgresql', 'v12'), schema, { recursive: true });
      // The module cache is read-only; the copy must stay removable.
      await fs.chmod(schema, 0o755);
      for (const entry of await fs.readdir(schema, { recursive: true, withFileTypes: true })) {
        await fs.chmod(path.join(entry.parentPath, entry.name), entry.isDirectory() ? 0o755 : 0o644);
      }
    });
  } catch (err) {
    throw buildFailure(`the Temporal server ${TEMPORAL_SERVER_VERSION}`, err);
  }
  const seconds = (Date.now() - started) / 1000;
  log(`Temporal server ${TEMPORAL_SERVER_VERSION} built in ${seconds.toFixed(1)} s.`);
  return result(seconds);
}

/**
 * The Temporal Web UI server at TEMPORAL_UI_SERVER_VERSION (its Svelte UI is embedded in the
 * binary), built in a throwaway module that requires it with the dependency pins above.
 */
export async function ensureUiServer(options: { log?: Log } = {}): Promise<UiServerBuild> {
  const log = options.log ?? (() => undefined);
  const dir = uiServerCacheDir();
  const binary = path.join(dir, 'temporal-ui-server');
  if (await exists(binary)) return { binary, buildSeconds: 0 };

  const started = Date.now();
  log(`Building the Temporal Web UI server ${TEMPORAL_UI_SERVER_VERSION} into ${dir}...`);
  try {
    await buildInto(dir, async (work) => {
      const mod = path.join(work, 'module');
      await fs.mkdir(mod);
      await runGo(['mod', 'init', 'local/temporal-ui-server-build'], { cwd: mod, log });
      await runGo(
        [
          'get',
          `github.com/temporalio/ui-server/v2/cmd/server@${TEMPORAL_UI_SERVER_VERSION}`,
          ...UI_SERVER_DEPENDENCY_PINS,
        ],
        { cwd: mod, log },
      );
      await runGo(
        ['build', '-o', path.join(work, 'temporal-ui-server'), 'github.com/temporalio/ui-server/v2/cmd/server'],
        { cwd: mod, log },
      );
      await fs.rm(mod, { recursive: true, force: true });
    });
  } catch (err) {
    throw buildFailure(`the Temporal Web UI server ${TEMPORAL_UI_SERVER_VERSION}`, err);
  }
  const seconds = (Date.now() - started) / 1000;
  log(`Temporal Web UI server ${TEMPORAL_UI_SERVER_VERSION} built in ${seconds.toFixed(1)} s.`);
  return { binary, buildSeconds: seconds };
}
