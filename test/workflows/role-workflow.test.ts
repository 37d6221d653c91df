// The fast tier: the role workflow's logic with stub activities (no Postgres, no Discord), on the
// run's Temporal server, driving the interleavings of reviews, results and retries one by one.
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { Config } from '../../src/config.js';
import type { Application } from '../../src/domain/application.js';
import { requestRoleRedrive, requestRoleRetry, reviewApplication } from '../../src/temporal/operations.js';
import { roleAssignmentQuery, roleWorkflowId, type RoleAssignmentProgress } from '../../src/temporal/shared.js';
import { pollUntil } from '../helpers/poll.js';
import { createStubRoleActivities } from '../helpers/stub-activities.js';
import { installTestRuntime } from '../helpers/runtime.js';

installTestRuntime();

type Stub = ReturnType<typeof createStubRoleActivities>;
const stubs = new Map<string, Stub>();
const taskQueue = `wf-test-${randomBytes(4).toString('hex')}`;
let connection: Connection;
let client: Client;
let nativeConnection: NativeConnection;
let worker: Worker;
let running: Promise<void>;
let deps: Parameters<typeof reviewApplication>[0];

/** Every activity finds the stub of its application. */
function routed() {
  const names = [
    'loadApplicationState',
    'recordReview',
    'recordRoleResult',
    'beginManualRetry',
    'beginRedrive',
    'changeMemberRole',
  ] as const;
  return Object.fromEntries(
    names.map((name) => [
      name,
      (input: { applicationId: string }) => {
        const stub = stubs.get(input.applicationId);
        if (!stub) throw new Error(`no stub for ${input.applicationId}`);
        return (stub.activities[name] as (i: unknown) => Promise<unknown>)(input);
      },
    ]),
  );
}

beforeAll(async () => {
  connection = await Connection.connect({ address: process.env.TEST_TEMPORAL_ADDRESS! });
  client = new Client({ connection });
  nativeConnection = await NativeConnection.connect({ address: process.env.TEST_TEMPORAL_ADDRESS! });
  worker = await Worker.create({
    connection: nativeConnection,
    taskQueue,
    workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE! },
    activities: routed(),
  });
  running = worker.run();
  deps = {
    temporal: client,
    // The Discord activities run on the same queue here: one worker serves both.
    config: { temporal: { taskQueue, discordTaskQueue: taskQueue } } as Config,
    roleWorkflowOptions: { memberRecheckDelaysMs: [200, 200] },
  };
});
afterAll(async () => {
  worker?.shutdown();
  await running;
  await nativeConnection?.close();
  await connection?.close();
});

function newApplication(
  options: Parameters<typeof createStubRoleActivities>[0] extends infer O ? Partial<O> : never = {},
) {
  const id = randomUUID();
  const stub = createStubRoleActivities({ applicationId: id, ...options });
  stubs.set(id, stub);
  return { id, stub };
}

const application = (stub: Stub): Application => structuredClone(stub.app);

const review = (stub: Stub, decision: 'approve' | 'reject', requestId: string = randomUUID()) =>
  reviewApplication(deps, {
    application: application(stub),
    review: { decision, reviewerId: '00000000-0000-4000-8000-000000000001', requestId },
  });

const progress = (id: string) => client.workflow.getHandle(roleWorkflowId(id)).query(roleAssignmentQuery);

async function settled(id: string, until: (p: RoleAssignmentProgress) => boolean, what: string) {
  return await pollUntil(() => progress(id), until, { timeoutMs: 15_000, intervalMs: 50, what });
}

/** The workflow of `id` has finished: every decision acted on. */
async function finished(id: string) {
  return await client.workflow.getHandle(roleWorkflowId(id)).result();
}

test('an approval grants the role once and the run finishes with the role assigned', async () => {
  const { id, stub } = newApplication();
  const answer = await review(stub, 'approve');
  expect(answer.status).toBe('approved_pending_role');
  const done = await finished(id);
  expect(done).toMatchObject({ status: 'approved_role_assigned', roleStatus: 'success', step: 'done' });
  expect(stub.discord).toEqual({ memberHasRole: true, changes: ['grant'] });
});

test('finding 1: a reject that arrives while the grant activity starts is acted on: the grant reads it and skips', async () => {
  const { id, stub } = newApplication();
  const grant = stub.hold('changeMemberRole');
  await review(stub, 'approve');
  await grant.reached;
  const rejected = await review(stub, 'reject');
  expect(rejected).toMatchObject({ status: 'Rejected', roleAssignment: { status: 'pending' } });
  grant.release();
  const done = await finished(id);
  expect(done).toMatchObject({ status: 'Rejected', roleStatus: 'not_applicable' });
  // The grant read the reversal before calling Discord and skipped; the removal ran.
  expect(stub.discord).toEqual({ memberHasRole: false, changes: ['revoke'] });
});

test('finding 1: a reject whose database step completes after the grant reached Discord is acted on', async () => {
  const { id, stub } = newApplication();
  const grant = stub.hold('changeMemberRole');
  await review(stub, 'approve');
  await grant.reached;
  // The reject's write is still running while the grant reaches Discord and comes back.
  const rejectWrite = stub.hold('recordReview');
  const rejecting = review(stub, 'reject');
  await rejectWrite.reached;
  grant.release();
  await pollUntil(
    async () => [...stub.discord.changes],
    (c) => c.includes('grant'),
    { timeoutMs: 10_000, what: 'the grant at Discord' },
  );
  rejectWrite.release();
  expect((await rejecting).status).toBe('Rejected');
  const done = await finished(id);
  expect(done).toMatchObject({ status: 'Rejected', roleStatus: 'not_applicable' });
  expect(stub.discord).toEqual({ memberHasRole: false, changes: ['grant', 'revoke'] });
});

test('finding 1: a reject during the final write of the grant is acted on', async () => {
  const { id, stub } = newApplication();
  const resultWrite = stub.hold('recordRoleResult');
  await review(stub, 'approve');
  await resultWrite.reached;
  const rejecting = review(stub, 'reject');
  resultWrite.release();
  expect((await rejecting).status).toBe('Rejected');
  expect(await finished(id)).toMatchObject({ status: 'Rejected', roleStatus: 'not_applicable' });
  expect(stub.discord.memberHasRole).toBe(false);
});

test('approve and reject from two reviewers, in either order: the last accepted review stands, and Discord matches it', async () => {
  // Approve first: the reject is accepted after it and takes back whatever was granted.
  {
    const { id, stub } = newApplication();
    // The reject lands while the grant may still run (the interleavings are pinned down above).
    const outcomes = [await review(stub, 'approve'), await review(stub, 'reject')];
    expect(outcomes.map((a) => a.status)).toEqual(['approved_pending_role', 'Rejected']);
    expect(await finished(id)).toMatchObject({ status: 'Rejected', roleStatus: 'not_applicable' });
    expect(stub.discord.memberHasRole).toBe(false);
  }
  // Reject first: the approval comes second and is refused; nothing ever reaches Discord.
  {
    const { id, stub } = newApplication();
    expect((await review(stub, 'reject')).status).toBe('Rejected');
    await expect(review(stub, 'approve')).rejects.toMatchObject({ type: 'invalid_transition' });
    expect(await finished(id)).toMatchObject({ status: 'Rejected', roleStatus: 'not_applicable' });
    expect(stub.discord).toEqual({ memberHasRole: false, changes: [] });
  }
});

test('a duplicate request ID gets the first answer and is applied once, in the same run and in a later one', async () => {
  const { id, stub } = newApplication();
  const updateId = randomUUID();
  const [first, second] = await Promise.all([review(stub, 'approve', updateId), review(stub, 'approve', updateId)]);
  expect(second).toEqual(first);
  await finished(id);
  // The run has finished; the same request again starts a new run, which finds the first answer.
  const later = await review(stub, 'approve', updateId);
  expect(later).toEqual(first);
  await finished(id);
  expect(stub.writes.filter((w) => w.event === 'review')).toHaveLength(1);
  expect(stub.discord.changes).toEqual(['grant']);
  // The same request ID for another decision is refused, not answered with the approval.
  await expect(review(stub, 'reject', updateId)).rejects.toMatchObject({ type: 'idempotency_key_reused' });
  expect(stub.state().status).toBe('approved_role_assigned');
});

test('finding 2: a retry step that commits and then fails before replying counts once, and the grant follows', async () => {
  const { id, stub } = newApplication();
  stub.discordFailsNext('missing_permissions');
  await review(stub, 'approve');
  await settled(id, (p) => p.step === 'waiting_for_retry', 'waiting for a retry');
  stub.failNext('beginManualRetry', new Error('worker lost the reply'), { afterCommit: true });
  await requestRoleRetry(deps, { applicationId: id, organizationId: 'org', request: { requestId: 'r1' } });
  const done = await finished(id);
  expect(done).toMatchObject({
    status: 'approved_role_assigned',
    manualRetries: 1,
    lastRetry: { requestId: 'r1', outcome: 'applied' },
  });
  expect(stub.calls.filter((c) => c.name === 'beginManualRetry').length).toBeGreaterThanOrEqual(2);
  expect(stub.writes.filter((w) => w.event === 'manual_retry')).toHaveLength(1);
});

test('finding 2: a review step that commits and then fails before replying answers the reviewer, never 409', async () => {
  const { id, stub } = newApplication();
  stub.failNext('recordReview', new Error('timed out after the commit'), { afterCommit: true });
  const answer = await review(stub, 'approve');
  expect(answer.status).toBe('approved_pending_role');
  await finished(id);
  expect(stub.writes.filter((w) => w.event === 'review')).toHaveLength(1);
});

test('a retry that arrives while an attempt runs waits for its outcome: refused when it succeeds', async () => {
  const { id, stub } = newApplication();
  stub.discordFailsNext('missing_permissions');
  await review(stub, 'approve');
  await settled(id, (p) => p.step === 'waiting_for_retry', 'waiting for a retry');
  const grant = stub.hold('changeMemberRole');
  await requestRoleRetry(deps, { applicationId: id, organizationId: 'org', request: { requestId: 'first' } });
  await grant.reached;
  await requestRoleRetry(deps, { applicationId: id, organizationId: 'org', request: { requestId: 'second' } });
  grant.release();
  const done = await finished(id);
  expect(done).toMatchObject({ status: 'approved_role_assigned', manualRetries: 1 });
  expect(done.lastRetry).toEqual({ requestId: 'second', outcome: 'refused', reason: 'not_retryable' });
});

test('a retry that arrives while an attempt runs is applied when that attempt fails (as the API saw it failed)', async () => {
  const { id, stub } = newApplication();
  const grant = stub.hold('changeMemberRole');
  stub.discordFailsNext('missing_permissions');
  await review(stub, 'approve');
  await grant.reached;
  await requestRoleRetry(deps, { applicationId: id, organizationId: 'org', request: { requestId: 'early' } });
  grant.release();
  const done = await finished(id);
  expect(done).toMatchObject({ status: 'approved_role_assigned', manualRetries: 1 });
  expect(done.lastRetry).toEqual({ requestId: 'early', outcome: 'applied', reason: null });
});

test('two retries sent side by side (a double click) spend one retry', async () => {
  const { id, stub } = newApplication();
  stub.discordFailsAlways('missing_permissions');
  await review(stub, 'approve');
  await settled(id, (p) => p.step === 'waiting_for_retry', 'waiting for a retry');
  const handle = client.workflow.getHandle(roleWorkflowId(id));
  await Promise.all([handle.signal('retry', { requestId: 'a' }), handle.signal('retry', { requestId: 'b' })]);
  const after = await settled(id, (p) => p.recentRetries.length === 2 && p.step === 'waiting_for_retry', 'both judged');
  expect(after.manualRetries).toBe(1);
  expect(after.recentRetries.map((r) => r.outcome).sort()).toEqual(['applied', 'refused']);
  expect(after.recentRetries.find((r) => r.outcome === 'refused')?.reason).toBe('in_flight');
  expect(stub.writes.filter((w) => w.event === 'manual_retry')).toHaveLength(1);
  stub.discordFailsAlways(null);
});

test('a retry signal without a request ID (as from the Web UI) counts once', async () => {
  const { id, stub } = newApplication();
  stub.discordFailsNext('missing_permissions');
  await review(stub, 'approve');
  await settled(id, (p) => p.step === 'waiting_for_retry', 'waiting for a retry');
  await client.workflow.getHandle(roleWorkflowId(id)).signal('retry');
  expect(await finished(id)).toMatchObject({ status: 'approved_role_assigned', manualRetries: 1 });
  expect(stub.writes.filter((w) => w.event === 'manual_retry')).toHaveLength(1);
});

test('the resume-from-row path: a retry that finds no run starts one from the stored row', async () => {
  const { id, stub } = newApplication();
  stub.seed('approved_role_failed', { status: 'failed', errorType: 'missing_permissions', error: 'no perms' });
  await requestRoleRetry(deps, { applicationId: id, organizationId: 'org', request: { requestId: 'from-row' } });
  expect(await finished(id)).toMatchObject({ status: 'approved_role_assigned', manualRetries: 1 });
  expect(stub.calls[0]!.name).toBe('loadApplicationState');
});

test('a re-drive re-runs a failure the connection caused, without spending a manual retry', async () => {
  const { id, stub } = newApplication();
  stub.discordFailsNext('discord_not_connected');
  await review(stub, 'approve');
  await settled(id, (p) => p.step === 'waiting_for_retry', 'waiting');
  await requestRoleRedrive(deps, { applicationId: id, organizationId: 'org' });
  expect(await finished(id)).toMatchObject({ status: 'approved_role_assigned', manualRetries: 0 });
});

test('a missing member is re-checked automatically until the re-checks run out; each waiting run replays a short history', async () => {
  const { id, stub } = newApplication();
  stub.discordFailsAlways('unknown_member');
  await review(stub, 'approve');
  const waiting = await settled(
    id,
    (p) => p.automaticRechecks === 2 && p.step === 'waiting_for_retry',
    'rechecks exhausted',
  );
  expect(waiting).toMatchObject({ status: 'approved_role_failed', errorType: 'unknown_member', manualRetries: 0 });
  expect(stub.calls.filter((c) => c.name === 'changeMemberRole')).toHaveLength(3);
  const history = await client.workflow.getHandle(roleWorkflowId(id)).fetchHistory();
  expect(history.events!.length).toBeLessThanOrEqual(8);
  // Still open for a manual retry, which now succeeds.
  stub.discordFailsAlways(null);
  await requestRoleRetry(deps, { applicationId: id, organizationId: 'org', request: { requestId: 'joined' } });
  expect(await finished(id)).toMatchObject({ status: 'approved_role_assigned', manualRetries: 1 });
});

test('a failed removal waits for a retry, and the retry takes the role back', async () => {
  const { id, stub } = newApplication();
  await review(stub, 'approve');
  await finished(id);
  stub.discordFailsNext('missing_permissions');
  await review(stub, 'reject');
  await settled(
    id,
    (p) => p.status === 'Rejected' && p.roleStatus === 'failed' && p.step === 'waiting_for_retry',
    'failed removal',
  );
  await requestRoleRetry(deps, { applicationId: id, organizationId: 'org', request: { requestId: 'remove' } });
  expect(await finished(id)).toMatchObject({ status: 'Rejected', roleStatus: 'not_applicable', manualRetries: 1 });
  expect(stub.discord).toEqual({ memberHasRole: false, changes: ['grant', 'revoke'] });
});

test('finding 1: a reject that lands while the grant is at Discord: the grant completes, then the role comes off', async () => {
  const { id, stub } = newApplication();
  const atDiscord = stub.hold('discordCall');
  await review(stub, 'approve');
  await atDiscord.reached;
  expect((await review(stub, 'reject')).roleAssignment.status).toBe('pending');
  atDiscord.release();
  expect(await finished(id)).toMatchObject({ status: 'Rejected', roleStatus: 'not_applicable' });
  expect(stub.discord).toEqual({ memberHasRole: false, changes: ['grant', 'revoke'] });
});

test('an automatic re-check whose grant lands after a reject: the role comes off again', async () => {
  const { id, stub } = newApplication();
  stub.discordFailsNext('unknown_member');
  await review(stub, 'approve');
  await settled(id, (p) => p.step === 'waiting_for_member', 'waiting for the member');
  const atDiscord = stub.hold('discordCall');
  await atDiscord.reached; // the re-check is granting now
  // The member may be getting the role right now: the reversal takes it back.
  expect((await review(stub, 'reject')).roleAssignment.status).toBe('pending');
  atDiscord.release();
  expect(await finished(id)).toMatchObject({ status: 'Rejected', roleStatus: 'not_applicable' });
  expect(stub.discord).toEqual({ memberHasRole: false, changes: ['grant', 'revoke'] });
});

test("the database away for longer than a step's retries: the run waits visibly, then carries on", async () => {
  const { id, stub } = newApplication();
  const handle = await client.workflow.start('applicationRoleWorkflow', {
    workflowId: roleWorkflowId(id),
    taskQueue,
    args: [
      {
        applicationId: id,
        organizationId: 'org',
        discordTaskQueue: taskQueue,
        databaseAttempts: 1,
        databaseRetryDelayMs: 500,
      },
    ],
  });
  stub.seed('approved_pending_role', { status: 'pending' });
  stub.failNext('recordRoleResult', new Error('connect ECONNREFUSED 127.0.0.1:5432'));
  stub.failNext('recordRoleResult', new Error('connect ECONNREFUSED 127.0.0.1:5432'));
  const down = await settled(id, (p) => p.step === 'database_unavailable', 'the run waiting for the database');
  expect(down.error).toMatch(/The database did not answer \(connect ECONNREFUSED/);
  expect(await handle.result()).toMatchObject({
    status: 'approved_role_assigned',
    roleStatus: 'success',
    step: 'done',
  });
  expect(stub.writes.filter((w) => w.event === 'role_result')).toHaveLength(1);
});

test('a review while the database is away answers database_unavailable and decides nothing; the same request later succeeds', async () => {
  const { id, stub } = newApplication();
  const flaky = { ...deps, roleWorkflowOptions: { databaseAttempts: 1 } };
  stub.failNext('recordReview', new Error('connect ECONNREFUSED 127.0.0.1:5432'));
  const requestId = randomUUID();
  const review1 = reviewApplication(flaky, {
    application: application(stub),
    review: { decision: 'approve', reviewerId: '00000000-0000-4000-8000-000000000001', requestId },
  });
  await expect(review1).rejects.toMatchObject({ type: 'database_unavailable' });
  expect(stub.state().status).toBe('Pending');
  const again = await reviewApplication(flaky, {
    application: application(stub),
    review: { decision: 'approve', reviewerId: '00000000-0000-4000-8000-000000000001', requestId },
  });
  expect(again.status).toBe('approved_pending_role');
  expect(await finished(id)).toMatchObject({ status: 'approved_role_assigned' });
});

/** Every run of the workflow of `id`, oldest first (each run names the one it continued). */
async function runHistories(id: string) {
  const runs: Array<{ runId: string; history: Awaited<ReturnType<WorkflowHandle['fetchHistory']>> }> = [];
  let runId: string | undefined = (await client.workflow.getHandle(roleWorkflowId(id)).describe()).runId;
  while (runId) {
    const history = await client.workflow.getHandle(roleWorkflowId(id), runId).fetchHistory();
    runs.unshift({ runId, history });
    runId = history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
  }
  return runs;
}

/** Replays every run of the workflow of `id` on the current code: the errors, none when deterministic. */
async function replayErrors(id: string): Promise<string[]> {
  const errors: string[] = [];
  for (const { runId, history } of await runHistories(id)) {
    await Worker.runReplayHistory(
      { workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE! } },
      history,
      runId,
    ).catch((err: unknown) => errors.push(`${runId}: ${String(err)}`));
  }
  return errors;
}

test('a run whose local activity result reached the code one workflow task after its marker (a query answered meanwhile) replays', async () => {
  // A double click recorded while the roleAssignment query was asked every few milliseconds: the
  // query answered as beginManualRetry finished made the worker complete that workflow task with the
  // local activity's marker alone and ask for another; the code saw the result, and issued the grant's
  // commands, in that next task. A replay hands the result over in the marker's own task, so a
  // patched() call there (before the run decided it at its start) answered false and the replay failed.
  const dir = path.join(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), 'histories');
  const history = historyFromJSON(
    JSON.parse(await fs.readFile(path.join(dir, 'query-during-local-activity.json'), 'utf8')),
  );
  const events = history.events ?? [];
  const marker = events.findIndex((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity');
  expect(events[marker + 1]?.workflowTaskScheduledEventAttributes).toBeTruthy(); // the split
  await expect(
    Worker.runReplayHistory({ workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE! } }, history),
  ).resolves.toBeUndefined();
});

describe('with every activation replayed (a worker without a workflow cache)', () => {
  const uncachedQueue = `${taskQueue}-uncached`;
  let uncached: Worker;
  let uncachedRunning: Promise<void>;
  let uncachedDeps: typeof deps;

  beforeAll(async () => {
    uncached = await Worker.create({
      connection: nativeConnection,
      taskQueue: uncachedQueue,
      workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE! },
      activities: routed(),
      // Each activation replays the history so far, as after an eviction under load or a restart.
      maxCachedWorkflows: 0,
    });
    uncachedRunning = uncached.run();
    uncachedDeps = {
      ...deps,
      config: { temporal: { taskQueue: uncachedQueue, discordTaskQueue: uncachedQueue } } as Config,
    };
  });
  afterAll(async () => {
    uncached?.shutdown();
    await uncachedRunning;
  });

  const reviewUncached = (stub: Stub, decision: 'approve' | 'reject', requestId: string = randomUUID()) =>
    reviewApplication(uncachedDeps, {
      application: application(stub),
      review: { decision, reviewerId: '00000000-0000-4000-8000-000000000001', requestId },
    });

  /**
   * Waits, reading the server's history rather than asking the worker, until the workflow of `id`
   * is on its `run`th run and that run waits (its last workflow task done). No query runs meanwhile:
   * a query answered while a local activity finishes splits that workflow task (see the replay test
   * above), which is not what these tests are about.
   */
  async function waitingRun(id: string, run: number) {
    const waits = (events: NonNullable<Awaited<ReturnType<typeof runHistories>>[number]['history']['events']>) => {
      const lastTask = events.findLast(
        (e) =>
          e.workflowTaskScheduledEventAttributes ??
          e.workflowTaskStartedEventAttributes ??
          e.workflowTaskCompletedEventAttributes ??
          e.workflowTaskFailedEventAttributes ??
          e.workflowTaskTimedOutEventAttributes,
      );
      return lastTask?.workflowTaskCompletedEventAttributes != null;
    };
    await pollUntil(
      () => runHistories(id),
      (runs) => runs.length === run && waits(runs.at(-1)!.history.events ?? []),
      { timeoutMs: 15_000, intervalMs: 50, what: `run ${run} waiting` },
    );
  }

  test('two retries sent side by side (a double click), then a retry that succeeds', async () => {
    const { id, stub } = newApplication();
    stub.discordFailsAlways('missing_permissions');
    await reviewUncached(stub, 'approve');
    await waitingRun(id, 2); // the grant failed; the run continued as new to wait for a retry
    const handle = client.workflow.getHandle(roleWorkflowId(id));
    await Promise.all([handle.signal('retry', { requestId: 'a' }), handle.signal('retry', { requestId: 'b' })]);
    await waitingRun(id, 3);
    const after = await progress(id);
    expect(after).toMatchObject({ step: 'waiting_for_retry', status: 'approved_role_failed' });
    expect(after.recentRetries.map((r) => r.requestId).sort()).toEqual(['a', 'b']);
    // Side by side in one workflow task they spend one retry; the second one, when it lands while the
    // first attempt runs, waits for its outcome and is applied to its failure.
    expect(after.manualRetries).toBe(stub.writes.filter((w) => w.event === 'manual_retry').length);
    stub.discordFailsAlways(null);
    await requestRoleRetry(uncachedDeps, { applicationId: id, organizationId: 'org', request: { requestId: 'c' } });
    expect(await finished(id)).toMatchObject({ status: 'approved_role_assigned', roleStatus: 'success' });
    expect(await replayErrors(id)).toEqual([]);
  });

  test('a reject that lands while the grant is at Discord', async () => {
    const { id, stub } = newApplication();
    const atDiscord = stub.hold('discordCall');
    await reviewUncached(stub, 'approve');
    await atDiscord.reached;
    expect((await reviewUncached(stub, 'reject')).roleAssignment.status).toBe('pending');
    atDiscord.release();
    expect(await finished(id)).toMatchObject({ status: 'Rejected', roleStatus: 'not_applicable' });
    expect(stub.discord).toEqual({ memberHasRole: false, changes: ['grant', 'revoke'] });
    expect(await replayErrors(id)).toEqual([]);
  });

  test('the same review twice at once, then a reject during the final write of the grant', async () => {
    const { id, stub } = newApplication();
    const resultWrite = stub.hold('recordRoleResult');
    const requestId = randomUUID();
    const [first, second] = await Promise.all([
      reviewUncached(stub, 'approve', requestId),
      reviewUncached(stub, 'approve', requestId),
    ]);
    expect(second).toEqual(first);
    await resultWrite.reached;
    const rejecting = reviewUncached(stub, 'reject');
    resultWrite.release();
    expect((await rejecting).status).toBe('Rejected');
    expect(await finished(id)).toMatchObject({ status: 'Rejected', roleStatus: 'not_applicable' });
    expect(stub.writes.filter((w) => w.event === 'review')).toHaveLength(2);
    expect(await replayErrors(id)).toEqual([]);
  });

  test('a retry while an attempt runs, automatic re-checks of a missing member, a refused re-drive, a retry', async () => {
    const { id, stub } = newApplication();
    const grant = stub.hold('changeMemberRole');
    stub.discordFailsNext('missing_permissions');
    await reviewUncached(stub, 'approve');
    await grant.reached;
    stub.discordFailsAlways('unknown_member');
    await requestRoleRetry(uncachedDeps, { applicationId: id, organizationId: 'org', request: { requestId: 'early' } });
    grant.release();
    // The retry's attempt finds no member: two re-checks (a run each), then a run waits for a retry.
    await waitingRun(id, 4);
    expect(await progress(id)).toMatchObject({ automaticRechecks: 2, step: 'waiting_for_retry' });
    stub.discordFailsAlways(null);
    // unknown_member is not the connection's doing: the re-drive is refused; the retry is applied.
    await requestRoleRedrive(uncachedDeps, { applicationId: id, organizationId: 'org' });
    await requestRoleRetry(uncachedDeps, { applicationId: id, organizationId: 'org', request: { requestId: 'late' } });
    expect(await finished(id)).toMatchObject({ status: 'approved_role_assigned', manualRetries: 2 });
    expect(await replayErrors(id)).toEqual([]);
  });
});
