import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
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

/**
 * Builds the admin web UI into dist/web with Vite's programmatic `build()` when it is missing or
 * stale (or always, with `force`). Returns whether it built.
 */
export async function buildWebIfStale(
  options: { force?: boolean; log?: (line: string) => void } = {},
): Promise<boolean> {
  if (!options.force && !(await webBuildIsStale())) return false;
  const started = Date.now();
  options.log?.('Building the web UI (vite build)...');
  const { build } = await import('vite');
  await build({ configFile: CONFIG_FILE, logLevel: 'warn' });
  options.log?.(`Web UI built in ${Date.now() - started} ms.`);
  return true;
}
