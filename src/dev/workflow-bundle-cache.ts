import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildWorkflowBundle } from '../temporal/workflow-bundle.js';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** A hash of every file the bundle may be made of: workflows/, src/ and the locked dependencies. */
async function sourcesHash(): Promise<string> {
  const hash = createHash('sha256');
  for (const dir of ['workflows', 'src']) {
    const entries = await fs.readdir(path.join(projectRoot, dir), { recursive: true, withFileTypes: true });
    const files = entries
      .filter((e) => e.isFile())
      .map((e) => path.relative(projectRoot, path.join(e.parentPath, e.name)))
      .sort();
    for (const file of files) hash.update(`${file}\0`).update(await fs.readFile(path.join(projectRoot, file)));
  }
  hash.update(await fs.readFile(path.join(projectRoot, 'package-lock.json')).catch(() => Buffer.alloc(0)));
  return hash.digest('hex');
}

/**
 * `npm start`'s bundle: rebuilt (seconds of webpack) only when a file it may include changed since
 * the last one, which a hash of those files, kept beside it, tells.
 */
export async function buildWorkflowBundleIfChanged(
  outFile: string,
  options: { onBuild?: () => void } = {},
): Promise<string> {
  const hashFile = `${outFile}.sources-sha256`;
  const [current, recorded, present] = await Promise.all([
    sourcesHash(),
    fs.readFile(hashFile, 'utf8').catch(() => ''),
    fs.stat(outFile).then(
      () => true,
      () => false,
    ),
  ]);
  if (present && recorded === current) return outFile;
  options.onBuild?.();
  // A build that dies half-way must not leave an old hash beside a new, broken bundle.
  await fs.rm(hashFile, { force: true });
  await buildWorkflowBundle(outFile);
  await fs.writeFile(hashFile, current);
  return outFile;
}
