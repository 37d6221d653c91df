import { ApplicationFailure } from '@temporalio/common';
import { isDeepStrictEqual } from 'node:util';
import type { DatabaseActivities, DiscordActivities, StepResult } from '../../activities/index.js';
import type { Application } from '../../src/domain/application.js';
import {
  roleActionWanted,
  roleResultEvent,
  transition,
  type DiscordIdPresence,
  type LifecycleEvent,
  type Refusal,
  type RoleAction,
} from '../../src/domain/application-lifecycle.js';
import type { StoredRoleState } from '../../src/temporal/shared.js';

type Gate = { reached: Promise<void>; release: (outcome?: Error) => void };

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
}

/** A promise a test resolves by hand. */
function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * The role workflow's activities without Postgres or Discord: an in-memory application row driven
 * by the same state machine, idempotency keys, and a Discord member whose role the test can see.
 * A test can hold the next call of an activity (`hold`, also `hold('discordCall')`: after the grant
 * read the decision, before Discord applies it), make it fail (`failNext`), or make it commit and
 * then fail before replying (`failNext(..., { afterCommit: true })`).
 */
export function createStubRoleActivities(input: { applicationId: string; discordId?: DiscordIdPresence }) {
  const app: Application = {
    id: input.applicationId,
    organizationId: 'org',
    applicant: { name: 'A', email: 'a@example.com' },
    custom_data: {},
    formId: 'form',
    formVersion: 1,
    answers: {},
    discordUser: null,
    status: 'Pending',
    notes: null,
    reviewedBy: null,
    reviewedAt: null,
    roleAssignment: { status: 'not_applicable', error: null, errorType: null, attemptedAt: null, retryCount: 0 },
    createdAt: '2026-01-01T00:00:00Z',
    updatedAt: '2026-01-01T00:00:00Z',
  };
  const keys = new Map<string, { request: unknown; response: { answer: Application; refusal: Refusal | null } }>();
  const calls: Array<{ name: string; input: unknown }> = [];
  const writes: Array<{ key: string; event: LifecycleEvent['type'] }> = [];
  const discord = { memberHasRole: false, changes: [] as RoleAction[] };
  const holds = new Map<string, Array<{ reached: Deferred<void>; released: Deferred<Error | undefined> }>>();
  const failures = new Map<string, Array<{ error: Error; afterCommit: boolean }>>();
  /** Discord answers for the next calls (a failure type), else success. */
  const discordFailures: string[] = [];
  let discordFailsAlways: string | null = null;

  const state = (): StoredRoleState => ({
    status: app.status,
    roleStatus: app.roleAssignment.status,
    retryCount: app.roleAssignment.retryCount,
    errorType: app.roleAssignment.errorType,
    error: app.roleAssignment.error,
  });

  async function enter(name: string, activityInput: unknown): Promise<{ afterCommit?: Error }> {
    calls.push({ name, input: activityInput });
    const held = holds.get(name)?.shift();
    if (held) {
      held.reached.resolve(undefined);
      const outcome = await held.released.promise;
      if (outcome) throw outcome;
    }
    const failure = failures.get(name)?.shift();
    if (failure && !failure.afterCommit) throw failure.error;
    return { afterCommit: failure?.afterCommit ? failure.error : undefined };
  }

  function apply(key: string, request: unknown, event: LifecycleEvent): StepResult & { answer: Application } {
    const prior = keys.get(key);
    if (prior) {
      if (!isDeepStrictEqual(prior.request, request)) {
        throw ApplicationFailure.nonRetryable('key reused for another request', 'idempotency_key_reused');
      }
      return { ...prior.response, state: state(), replayed: true };
    }
    const t = transition(state(), event);
    if (t.ok) {
      const c = t.change;
      app.status = c.status;
      app.roleAssignment.status = c.roleStatus;
      if (c.roleError !== undefined) app.roleAssignment.error = c.roleError;
      if (c.errorType !== undefined) app.roleAssignment.errorType = c.errorType;
      if (c.incrementRetryCount) app.roleAssignment.retryCount += 1;
      writes.push({ key, event: event.type });
    }
    const response = { answer: structuredClone(app), refusal: t.ok ? null : t.refusal };
    keys.set(key, { request, response });
    return { ...response, state: state(), replayed: false };
  }

  async function step<T>(name: string, activityInput: unknown, fn: () => T | Promise<T>): Promise<T> {
    const { afterCommit } = await enter(name, activityInput);
    const result = await fn();
    if (afterCommit) throw afterCommit; // the write happened; the reply is lost
    return result;
  }

  const database: Pick<
    DatabaseActivities,
    'loadApplicationState' | 'recordReview' | 'recordRoleResult' | 'beginManualRetry' | 'beginRedrive'
  > = {
    loadApplicationState: (i) => step('loadApplicationState', i, () => state()),
    recordReview: (i) =>
      step('recordReview', i, () =>
        apply(
          i.key,
          { decision: i.decision, reviewerId: i.reviewerId, note: i.note ?? null },
          { type: 'review', decision: i.decision, discordId: input.discordId ?? 'valid' },
        ),
      ),
    recordRoleResult: (i) =>
      step('recordRoleResult', i, () =>
        apply(i.key, { action: i.action, outcome: i.outcome, errorType: i.errorType ?? null }, roleResultEvent(i)),
      ),
    beginManualRetry: (i) => step('beginManualRetry', i, () => apply(i.key, {}, { type: 'manual_retry' })),
    beginRedrive: (i) => step('beginRedrive', i, () => apply(i.key, {}, { type: 'redrive' })),
  };

  const discordActivities: Pick<DiscordActivities, 'changeMemberRole'> = {
    changeMemberRole: (i) =>
      step('changeMemberRole', i, async () => {
        if (!roleActionWanted(state(), i.action)) return { skipped: true };
        // The decision was read; the call to Discord is on its way (a test may hold it here).
        await enter('discordCall', i);
        const failure = discordFailures.shift() ?? discordFailsAlways;
        if (failure) {
          throw ApplicationFailure.create({
            message: `Discord said ${failure}`,
            type: failure,
            nonRetryable: true,
            details: [{ type: failure, message: `Discord said ${failure}` }],
          });
        }
        discord.memberHasRole = i.action === 'grant';
        discord.changes.push(i.action);
        return { skipped: false };
      }),
  };

  return {
    activities: { ...database, ...discordActivities },
    app,
    state,
    calls,
    writes,
    discord,
    /** Seeds the stored row (the resume-from-row path). */
    seed(status: Application['status'], role: Partial<Application['roleAssignment']>) {
      app.status = status;
      Object.assign(app.roleAssignment, role);
    },
    /** The next call of `name` waits until the test releases it (with an error to throw, or none). */
    hold(name: string): Gate {
      const entry = { reached: deferred<void>(), released: deferred<Error | undefined>() };
      holds.set(name, [...(holds.get(name) ?? []), entry]);
      return { reached: entry.reached.promise, release: (outcome) => entry.released.resolve(outcome) };
    },
    /** The next call of `name` fails with `error`, before or after its write. */
    failNext(name: string, error: Error, options: { afterCommit?: boolean } = {}) {
      const list = failures.get(name) ?? [];
      list.push({ error, afterCommit: options.afterCommit ?? false });
      failures.set(name, list);
    },
    /** Discord answers the next role change with this failure type (e.g. `missing_permissions`). */
    discordFailsNext(type: string) {
      discordFailures.push(type);
    },
    /** Discord answers every role change with this failure type, until set back to null. */
    discordFailsAlways(type: string | null) {
      discordFailsAlways = type;
    },
  };
}
