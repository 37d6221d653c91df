import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export function packageVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version?: string };
  return pkg.version ?? '0.0.0';
}

function gitCommit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return undefined; // not a git checkout (an image): BUILD_COMMIT says it, if set
  }
}

/**
 * The worker's build ID: the package version and the commit (`BUILD_COMMIT` when set, as in an
 * image without .git), e.g. `0.2.0+1a2b3c4d5e6f`. Temporal records it with every workflow task the
 * worker completes, so the Web UI shows which build ran each step of a run.
 */
export function buildId(commit: string | undefined): string {
  return `${packageVersion()}+${commit ?? gitCommit() ?? 'unknown'}`;
}
