import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';

export const workflowsPath = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../workflows/index.ts');
export const defaultBundlePath = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../dist/workflow-bundle.js',
);

/**
 * Bundles `workflows/` (or another `workflowsPath`: the bench's own) with Temporal's webpack
 * bundler and writes it to `outFile`.
 */
export async function buildWorkflowBundle(
  outFile: string = defaultBundlePath,
  options: { workflowsPath?: string } = {},
): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: options.workflowsPath ?? workflowsPath,
    logger: {
      log: () => undefined,
      trace: () => undefined,
      debug: () => undefined,
      info: () => undefined,
      warn: (m) => console.warn(m),
      error: (m) => console.error(m),
    },
  });
  await fs.mkdir(path.dirname(outFile), { recursive: true });
  await fs.writeFile(outFile, code);
  return outFile;
}
