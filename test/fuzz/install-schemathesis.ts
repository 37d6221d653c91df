import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { cacheRoot, installPinnedVenv } from '../../src/dev/tool-cache.js';

const execFileAsync = promisify(execFile);

/** The Schemathesis release the API is fuzzed with; requirements.txt pins the same (and its dependencies). */
export const SCHEMATHESIS_VERSION = '4.32.5';

/** pip's requirements file: every package pinned by version and the sha256 of each distribution. */
export const requirementsFile = path.join(path.dirname(fileURLToPath(import.meta.url)), 'requirements.txt');

export interface Schemathesis {
  /** The venv, `<cache>/schemathesis-<version>-<hash of requirements.txt>`. */
  dir: string;
  /** The command that runs Schemathesis's CLI (`st`), followed by its arguments. */
  command: [string, ...string[]];
}

/**
 * The venv's folder, keyed by the requirements file's hash: an edited file installs anew, next to
 * the old venv, which stays in use by whoever runs the old file.
 */
export async function schemathesisDir(): Promise<string> {
  const digest = createHash('sha256')
    .update(await fs.readFile(requirementsFile))
    .digest('hex')
    .slice(0, 12);
  return path.join(cacheRoot(), `schemathesis-${SCHEMATHESIS_VERSION}-${digest}`);
}

/**
 * `python -m schemathesis.cli`, not `bin/st`: the venv is built in a temporary folder and renamed
 * into place, which leaves its scripts' `#!` lines pointing at the temporary folder, while the venv's
 * python finds its site-packages from where it is.
 */
const commandOf = (dir: string): Schemathesis['command'] => [path.join(dir, 'bin', 'python'), '-m', 'schemathesis.cli'];

/** The venv cannot work as it is: its interpreter is gone, or its Schemathesis is missing or another version. */
class BrokenVenv extends Error {}

/**
 * The installed CLI runs and is the pinned version. Throws BrokenVenv when the venv cannot work as it
 * is, any other error when running it failed for a reason that may pass (a timeout on busy cores).
 */
async function check(dir: string): Promise<void> {
  const [python, ...args] = commandOf(dir);
  const { stdout } = await execFileAsync(python, [...args, '--version'], { timeout: 60_000 }).catch(
    (err: NodeJS.ErrnoException & { killed?: boolean; stderr?: string }) => {
      const reason = err.message.split('\n')[0];
      // ENOENT: no interpreter (a pyenv version removed, say; the venv's python is a link to it).
      if (err.code === 'ENOENT' || /No module named/.test(err.stderr ?? '')) {
        throw new BrokenVenv(`Schemathesis in ${dir} does not run (${reason})`);
      }
      throw new Error(`Schemathesis in ${dir} did not answer ${err.killed ? 'in time' : 'its --version'} (${reason})`);
    },
  );
  if (!stdout.includes(`version ${SCHEMATHESIS_VERSION}`)) {
    throw new BrokenVenv(`Schemathesis in ${dir} is not version ${SCHEMATHESIS_VERSION} (it says "${stdout.trim()}")`);
  }
}

/**
 * check(dir), once more after a failure that may pass: a venv is discarded only when it cannot work
 * (BrokenVenv), never because it was slow to answer, as it may be in use by another process.
 */
async function checkTwice(dir: string, log: (line: string) => void): Promise<void> {
  try {
    await check(dir);
  } catch (err) {
    if (err instanceof BrokenVenv) throw err;
    log(`${(err as Error).message}; trying again`);
    await check(dir);
  }
}

/** A Python 3.11 or newer on PATH (requirements.txt was resolved for 3.11: older ones need more packages). */
async function findPython(): Promise<string> {
  const tried: string[] = [];
  for (const name of ['python3', 'python3.13', 'python3.12', 'python3.11']) {
    for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
      const candidate = path.join(dir, name);
      if (
        !dir ||
        !(await fs.access(candidate, fs.constants.X_OK).then(
          () => true,
          () => false,
        ))
      )
        continue;
      const version = await execFileAsync(candidate, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])']).then(
        ({ stdout }) => stdout.trim(),
        () => undefined,
      );
      if (!version) continue;
      const [major, minor] = version.split('.').map(Number) as [number, number];
      if (major === 3 && minor >= 11) return candidate;
      tried.push(`${candidate} is ${version}`);
      break;
    }
  }
  throw new Error(
    `Schemathesis needs Python 3.11 or newer with venv (Debian: apt-get install python3 python3-venv)${
      tried.length ? `; found only ${tried.join(', ')}` : '; none is on PATH'
    }.`,
  );
}

/**
 * Schemathesis in its cached venv, installed there first when missing: a venv built in a folder of
 * its own next to the final one, pip-installed from requirements.txt with `--require-hashes`,
 * checked, then renamed into place. A rename is atomic, so a process that finds the folder finds a
 * whole install; of two installing at once, the second rename fails, and that process uses the
 * first one's venv and deletes its own.
 */
export async function installSchemathesis(
  options: { log?: (line: string) => void } = {},
): Promise<Schemathesis & { installed: boolean }> {
  const log = options.log ?? ((line: string) => process.stderr.write(`[schemathesis] ${line}\n`));
  const dir = await schemathesisDir();
  if (
    await fs.stat(dir).then(
      () => true,
      () => false,
    )
  ) {
    try {
      await checkTwice(dir, log);
      return { dir, command: commandOf(dir), installed: false };
    } catch (err) {
      // Any other failure (twice too slow) leaves the venv, which may be in use, where it is.
      if (!(err instanceof BrokenVenv)) throw err;
      // Its Python is gone (a pyenv version removed, say): set it aside and install again.
      log(`${err.message}; installing it again`);
      const aside = `${dir}.broken-${process.pid}-${randomBytes(4).toString('hex')}`;
      await fs.rename(dir, aside).catch(() => undefined);
      await fs.rm(aside, { recursive: true, force: true });
    }
  }

  const started = Date.now();
  const python = await findPython();
  await fs.mkdir(path.dirname(dir), { recursive: true });
  const work = `${dir}.install-${process.pid}-${randomBytes(4).toString('hex')}`;
  log(`Installing Schemathesis ${SCHEMATHESIS_VERSION} from PyPI (hash-pinned, ${requirementsFile}) into ${dir}`);
  try {
    await installPinnedVenv(python, work, requirementsFile, log);
    await check(work);
    try {
      await fs.rename(work, dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
      log('Another process installed it first: using that one.');
      await checkTwice(dir, log);
      return { dir, command: commandOf(dir), installed: false };
    }
    log(`Schemathesis ${SCHEMATHESIS_VERSION} ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return { dir, command: commandOf(dir), installed: true };
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

// `npx tsx test/fuzz/install-schemathesis.ts`: installs it (if needed) and prints the command.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  installSchemathesis().then(
    ({ command }) => process.stdout.write(`${command.join(' ')}\n`),
    (err: Error) => {
      console.error(`Could not install Schemathesis: ${err.message}`);
      process.exit(1);
    },
  );
}
