import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildWorkflowBundleIfChanged } from '../src/dev/workflow-bundle-cache.js';

// `npm start` bundles the workflows only when their sources changed: a later start skips webpack.

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bundle-cache-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

test('built once, then reused while the sources hash the same; rebuilt when the recorded hash differs', async () => {
  const out = path.join(dir, 'bundle.js');
  let builds = 0;
  const onBuild = () => void builds++;
  expect(await buildWorkflowBundleIfChanged(out, { onBuild })).toBe(out);
  expect(builds).toBe(1);
  const first = await fs.stat(out);
  expect(first.size).toBeGreaterThan(1000);
  expect(await fs.readFile(`${out}.sources-sha256`, 'utf8')).toMatch(/^[0-9a-f]{64}$/);

  await buildWorkflowBundleIfChanged(out, { onBuild });
  expect(builds).toBe(1);
  expect((await fs.stat(out)).mtimeMs).toBe(first.mtimeMs);

  // What an edit of workflows/ or src/ (or a new package-lock.json) does to the hash.
  await fs.writeFile(`${out}.sources-sha256`, 'f'.repeat(64));
  await buildWorkflowBundleIfChanged(out, { onBuild });
  expect(builds).toBe(2);
}, 60_000);
