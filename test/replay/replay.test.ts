// Every workflow change must replay the committed histories of real runs (test/replay/histories,
// recorded by `npm run histories:capture`): a change that would break the runs in flight after a
// deploy fails here instead. See "Changing a workflow" in the README.
import fs from 'node:fs/promises';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { replaysOn } from '../../src/temporal/upgrades.js';
import { installTestRuntime } from '../helpers/runtime.js';

installTestRuntime();

const dir = path.join(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), 'histories');

async function histories(folder: string) {
  const files = (await fs.readdir(folder)).filter((f) => f.endsWith('.json')).sort();
  return await Promise.all(
    files.map(async (file) => ({
      workflowId: file.replace(/\.json$/, ''),
      history: historyFromJSON(JSON.parse(await fs.readFile(path.join(folder, file), 'utf8'))),
    })),
  );
}

async function replay(folder: string) {
  const results: Array<{ workflowId: string; error: string | null }> = [];
  for await (const result of Worker.runReplayHistories(
    { workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE! } },
    await histories(folder),
  )) {
    results.push({ workflowId: result.workflowId, error: result.error ? String(result.error) : null });
  }
  return results;
}

test('every committed history of every workflow type replays on the current code', async () => {
  const results = await replay(dir);
  const scenarios = new Set(results.map((r) => r.workflowId.split('.')[0]));
  // The main paths of each workflow type: grant, failure and retry, re-check then join, reversal,
  // re-drive after a connection, connection success and failure, disconnect, housekeeping.
  expect([...scenarios].sort()).toEqual(
    [
      'bulk-review',
      'connection-check',
      'connection-failure',
      'connection-success',
      'disconnect',
      'guild-roles',
      'housekeeping',
      'reconciliation',
      'reconciliation-reapply',
      'redrive-assignments',
      'role-approve-reject',
      'role-bulk',
      'role-email-retry',
      'role-failure-retry',
      'role-grant',
      'role-paused-resumed',
      'role-recheck-join',
      'role-redriven',
      'role-reversal',
    ].sort(),
  );
  expect(results.filter((r) => r.error)).toEqual([]);
});

test("the roles-and-drift version's histories replay too: the decision email step is behind patched() (and only in runs started with SMTP_URL set)", async () => {
  const results = await replay(path.join(dir, '..', 'roles-and-drift'));
  expect(results.length).toBeGreaterThanOrEqual(23);
  expect(results.filter((r) => r.error)).toEqual([]);
});

test("the bulk and contract version's histories replay too: the bot health check and the reconciliation schedule's steps are behind patched()", async () => {
  const results = await replay(path.join(dir, '..', 'bulk-and-contract'));
  expect(results.length).toBeGreaterThanOrEqual(20);
  expect(results.filter((r) => r.error)).toEqual([]);
});

test("the durable-core version's histories replay too: the attempt deadline and the stateChanged signal are behind patched() or new", async () => {
  const results = await replay(path.join(dir, '..', 'durable-core'));
  expect(results.length).toBeGreaterThanOrEqual(16);
  expect(results.filter((r) => r.error)).toEqual([]);
});

test("the first version's histories: connection and housekeeping replay (the new step is behind patched()); its role-assignment runs do not, and are restarted from their stored rows", async () => {
  const results = await replay(path.join(dir, '..', 'first-version'));
  const byType = (prefix: string) => results.filter((r) => r.workflowId.startsWith(prefix));
  expect(byType('connection').length + byType('disconnect').length + byType('housekeeping').length).toBe(4);
  for (const r of [...byType('connection'), ...byType('disconnect'), ...byType('housekeeping')]) {
    expect(r).toEqual({ workflowId: r.workflowId, error: null });
  }
  // The role workflow was rewritten (the durable-core change): its old runs are replaced, not
  // replayed, by `npm run cli -- restart-role-workflows --only-incompatible`, which finds them so.
  expect(byType('role').length).toBeGreaterThanOrEqual(5);
  for (const r of byType('role')) expect(r.error).toMatch(/DeterminismViolationError|ReplayError/);
  const old = (await histories(path.join(dir, '..', 'first-version'))).find((h) =>
    h.workflowId.startsWith('role-grant'),
  )!;
  expect(await replaysOn(process.env.TEST_WORKFLOW_BUNDLE!, old.history, 'application-role:old')).toBe(false);
  const current = (await histories(dir)).find((h) => h.workflowId.startsWith('role-grant'))!;
  expect(await replaysOn(process.env.TEST_WORKFLOW_BUNDLE!, current.history, 'application-role:new')).toBe(true);
});
