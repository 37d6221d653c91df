import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { childProcessEnv, systemEnv, type Env } from '../config.js';

/**
 * What the development tools download or build (the Temporal CLI, the Temporal server of
 * `npm run cluster`, Schemathesis) is cached here: `~/.cache/discord-role-grants`, or under
 * `$XDG_CACHE_HOME`.
 */
export function cacheRoot(): string {
  const base = systemEnv().XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache');
  return path.join(base, 'discord-role-grants');
}

/** Runs a command, forwarding its output to `log`; rejects with its last line when it fails. */
export async function run(command: string, args: string[], log: (line: string) => void, env: Env = {}) {
  log(`$ ${command} ${args.join(' ')}`);
  await new Promise<void>((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: childProcessEnv(env) });
    let last = '';
    const forward = (chunk: Buffer) =>
      chunk
        .toString()
        .split('\n')
        .filter((l) => l.trim())
        .forEach((l) => {
          last = l.trim();
          log(`  ${l}`);
        });
    child.stdout.on('data', forward);
    child.stderr.on('data', forward);
    child.on('error', (err) => reject(new Error(`${path.basename(command)} could not run (${err.message})`)));
    child.on('close', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`${path.basename(command)} exited with ${code}${last ? `: ${last}` : ''}`)),
    );
  });
}

/**
 * A new venv at `venv` with `python`, and in it what a pip requirements file pins: every package by
 * version and the sha256 of each file (`--require-hashes`), wheels only, nothing unpinned.
 */
export async function installPinnedVenv(
  python: string,
  venv: string,
  requirementsFile: string,
  log: (line: string) => void,
): Promise<void> {
  await run(python, ['-m', 'venv', venv], log);
  await run(
    path.join(venv, 'bin', 'python'),
    [
      '-m',
      'pip',
      'install',
      '--require-hashes',
      '--only-binary=:all:',
      '--no-deps',
      '--disable-pip-version-check',
      '--no-input',
      '--quiet',
      '-r',
      requirementsFile,
    ],
    log,
  );
}
