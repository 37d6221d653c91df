import {
  applicationStatuses,
  availableActions,
  isReachable,
  MAX_MANUAL_RETRIES,
  nextStep,
  reachablePairs,
  retryRefusal,
  roleAssignmentStatuses,
  transition,
  type LifecycleEvent,
  type LifecycleState,
} from '../src/domain/application-lifecycle.js';

// The events of the machine, one column each.
const events: Record<string, LifecycleEvent> = {
  'approve (no Discord ID)': { type: 'review', decision: 'approve', discordId: 'none' },
  'approve (invalid ID)': { type: 'review', decision: 'approve', discordId: 'invalid' },
  'approve (valid ID)': { type: 'review', decision: 'approve', discordId: 'valid' },
  reject: { type: 'review', decision: 'reject', discordId: 'valid' },
  'grant succeeded': { type: 'role_result', action: 'grant', outcome: 'success' },
  'grant failed': { type: 'role_result', action: 'grant', outcome: 'failed', errorType: 'server_error', error: 'e' },
  'removal succeeded': { type: 'role_result', action: 'revoke', outcome: 'success' },
  'removal failed': { type: 'role_result', action: 'revoke', outcome: 'failed', errorType: 'server_error', error: 'e' },
  'manual retry': { type: 'manual_retry' },
  redrive: { type: 'redrive' },
};

const INVALID = 'refused: invalid_transition';
const STALE = 'refused: stale_result';
const NOT_RETRYABLE = 'refused: not_retryable';

/**
 * Every (state, event) pair: the state it leads to as `status/role status`, or the refusal. The
 * failed states here failed for a reason a new connection fixes (missing permissions).
 */
const table: Array<[string, Record<string, string>]> = [
  [
    'Pending/not_applicable',
    {
      'approve (no Discord ID)': 'Approved/not_applicable',
      'approve (invalid ID)': 'approved_role_failed/failed',
      'approve (valid ID)': 'approved_pending_role/pending',
      reject: 'Rejected/not_applicable',
      'grant succeeded': STALE,
      'grant failed': STALE,
      'removal succeeded': STALE,
      'removal failed': STALE,
      'manual retry': NOT_RETRYABLE,
      redrive: NOT_RETRYABLE,
    },
  ],
  [
    'Approved/not_applicable',
    {
      'approve (no Discord ID)': INVALID,
      'approve (invalid ID)': INVALID,
      'approve (valid ID)': INVALID,
      reject: 'Rejected/not_applicable',
      'grant succeeded': STALE,
      'grant failed': STALE,
      'removal succeeded': STALE,
      'removal failed': STALE,
      'manual retry': NOT_RETRYABLE,
      redrive: NOT_RETRYABLE,
    },
  ],
  [
    'approved_pending_role/pending',
    {
      'approve (no Discord ID)': INVALID,
      'approve (invalid ID)': INVALID,
      'approve (valid ID)': INVALID,
      reject: 'Rejected/pending',
      'grant succeeded': 'approved_role_assigned/success',
      'grant failed': 'approved_role_failed/failed',
      'removal succeeded': STALE,
      'removal failed': STALE,
      'manual retry': NOT_RETRYABLE,
      redrive: NOT_RETRYABLE,
    },
  ],
  [
    'approved_role_assigned/success',
    {
      'approve (no Discord ID)': INVALID,
      'approve (invalid ID)': INVALID,
      'approve (valid ID)': INVALID,
      reject: 'Rejected/pending',
      'grant succeeded': STALE,
      'grant failed': STALE,
      'removal succeeded': STALE,
      'removal failed': STALE,
      'manual retry': NOT_RETRYABLE,
      redrive: NOT_RETRYABLE,
    },
  ],
  [
    'approved_role_failed/failed',
    {
      'approve (no Discord ID)': INVALID,
      'approve (invalid ID)': INVALID,
      'approve (valid ID)': INVALID,
      reject: 'Rejected/not_applicable',
      // An automatic re-check of a missing member reports from the failed state.
      'grant succeeded': 'approved_role_assigned/success',
      'grant failed': 'approved_role_failed/failed',
      'removal succeeded': STALE,
      'removal failed': STALE,
      'manual retry': 'approved_pending_role/pending',
      redrive: 'approved_pending_role/pending',
    },
  ],
  [
    'Rejected/not_applicable',
    {
      'approve (no Discord ID)': INVALID,
      'approve (invalid ID)': INVALID,
      'approve (valid ID)': INVALID,
      reject: INVALID,
      // A grant that landed after the reject: the role comes off again.
      'grant succeeded': 'Rejected/pending',
      'grant failed': STALE,
      'removal succeeded': STALE,
      'removal failed': STALE,
      'manual retry': NOT_RETRYABLE,
      redrive: NOT_RETRYABLE,
    },
  ],
  [
    'Rejected/pending',
    {
      'approve (no Discord ID)': INVALID,
      'approve (invalid ID)': INVALID,
      'approve (valid ID)': INVALID,
      reject: INVALID,
      'grant succeeded': STALE,
      'grant failed': STALE,
      'removal succeeded': 'Rejected/not_applicable',
      'removal failed': 'Rejected/failed',
      'manual retry': NOT_RETRYABLE,
      redrive: NOT_RETRYABLE,
    },
  ],
  [
    'Rejected/failed',
    {
      'approve (no Discord ID)': INVALID,
      'approve (invalid ID)': INVALID,
      'approve (valid ID)': INVALID,
      reject: INVALID,
      'grant succeeded': 'Rejected/pending',
      'grant failed': STALE,
      'removal succeeded': 'Rejected/not_applicable',
      'removal failed': 'Rejected/failed',
      'manual retry': 'Rejected/pending',
      redrive: 'Rejected/pending',
    },
  ],
];

function stateOf(pair: string, extra: Partial<LifecycleState> = {}): LifecycleState {
  const [status, roleStatus] = pair.split('/') as [LifecycleState['status'], LifecycleState['roleStatus']];
  return {
    status,
    roleStatus,
    retryCount: 0,
    errorType: roleStatus === 'failed' ? 'missing_permissions' : null,
    ...extra,
  };
}

function outcome(state: LifecycleState, event: LifecycleEvent): string {
  const t = transition(state, event);
  return t.ok ? `${t.change.status}/${t.change.roleStatus}` : `refused: ${t.refusal.code}`;
}

test('the table covers every reachable state and every event', () => {
  expect(table.map(([pair]) => pair).sort()).toEqual(reachablePairs.map(([s, r]) => `${s}/${r}`).sort());
  for (const [, row] of table) expect(Object.keys(row).sort()).toEqual(Object.keys(events).sort());
});

describe.each(table)('from %s', (pair, row) => {
  test.each(Object.keys(events))('%s', (name) => {
    expect(outcome(stateOf(pair), events[name]!)).toBe(row[name]);
  });
});

test('the reachable pairs are exactly those the transitions reach from a new application', () => {
  const errorTypes = [null, 'missing_permissions', 'unknown_member', 'timeout', 'invalid_discord_id'];
  const key = (s: LifecycleState) => JSON.stringify(s);
  const start: LifecycleState = { status: 'Pending', roleStatus: 'not_applicable', retryCount: 0, errorType: null };
  const seen = new Map([[key(start), start]]);
  const queue = [start];
  while (queue.length > 0) {
    const state = queue.shift()!;
    const moves: LifecycleEvent[] = [
      ...Object.values(events),
      ...errorTypes.flatMap((errorType) =>
        (['grant', 'revoke'] as const).map((action): LifecycleEvent => ({
          type: 'role_result',
          action,
          outcome: 'failed',
          errorType: errorType ?? 'x',
          error: 'e',
        })),
      ),
    ];
    for (const event of moves) {
      const t = transition(state, event);
      if (!t.ok) continue;
      const next: LifecycleState = {
        status: t.change.status,
        roleStatus: t.change.roleStatus,
        retryCount: Math.min(state.retryCount + (t.change.incrementRetryCount ? 1 : 0), MAX_MANUAL_RETRIES),
        errorType: t.change.errorType === undefined ? state.errorType : t.change.errorType,
      };
      if (!seen.has(key(next))) {
        seen.set(key(next), next);
        queue.push(next);
      }
    }
  }
  const walked = new Set([...seen.values()].map((s) => `${s.status}/${s.roleStatus}`));
  expect([...walked].sort()).toEqual(reachablePairs.map(([s, r]) => `${s}/${r}`).sort());
});

test('a reversal after a failed grant takes the role back unless the grant certainly did not land', () => {
  for (const errorType of ['unknown_member', 'timeout', 'server_error', 'unexpected']) {
    expect(outcome(stateOf('approved_role_failed/failed', { errorType }), events.reject!)).toBe('Rejected/pending');
  }
  for (const errorType of ['invalid_discord_id', 'discord_not_connected', 'missing_permissions', 'unknown_role']) {
    expect(outcome(stateOf('approved_role_failed/failed', { errorType }), events.reject!)).toBe(
      'Rejected/not_applicable',
    );
  }
});

test('every transition from a reachable state lands in a reachable state', () => {
  for (const [status, roleStatus] of reachablePairs) {
    for (const retryCount of [0, MAX_MANUAL_RETRIES - 1]) {
      for (const event of Object.values(events)) {
        const t = transition(stateOf(`${status}/${roleStatus}`, { retryCount }), event);
        if (t.ok)
          expect([t.change.status, t.change.roleStatus, isReachable(t.change.status, t.change.roleStatus)]).toEqual([
            t.change.status,
            t.change.roleStatus,
            true,
          ]);
      }
    }
  }
  const all = applicationStatuses.flatMap((s) => roleAssignmentStatuses.map((r) => [s, r] as const));
  expect(all.filter(([s, r]) => isReachable(s, r))).toHaveLength(reachablePairs.length);
});

test(`a manual retry spends one of ${MAX_MANUAL_RETRIES}; at the limit it is refused with the contract's message`, () => {
  const failed = stateOf('approved_role_failed/failed', { retryCount: MAX_MANUAL_RETRIES - 1 });
  const t = transition(failed, { type: 'manual_retry' });
  expect(t.ok && t.change.incrementRetryCount).toBe(true);
  const exhausted = { ...failed, retryCount: MAX_MANUAL_RETRIES };
  expect(transition(exhausted, { type: 'manual_retry' })).toEqual({
    ok: false,
    refusal: { code: 'retry_limit_reached', message: 'Maximum retry attempts (5) exceeded. Please contact support.' },
  });
  expect(retryRefusal(exhausted)?.code).toBe('retry_limit_reached');
  // A re-drive after a new connection costs nothing, even at the limit.
  const redrive = transition(exhausted, { type: 'redrive' });
  expect(redrive.ok && redrive.change.incrementRetryCount).toBeFalsy();
  expect(redrive.ok).toBe(true);
});

test('only failures a new connection can fix are re-driven', () => {
  for (const errorType of [
    'discord_not_connected',
    'unknown_guild',
    'missing_access',
    'missing_permissions',
    'unknown_role',
    'unsafe_role',
    'grants_paused',
    'invalid_bot_token',
  ]) {
    expect(transition(stateOf('approved_role_failed/failed', { errorType }), { type: 'redrive' }).ok).toBe(true);
  }
  for (const errorType of ['unknown_member', 'invalid_discord_id', 'timeout', 'held_back', null]) {
    expect(outcome(stateOf('approved_role_failed/failed', { errorType }), { type: 'redrive' })).toBe(NOT_RETRYABLE);
  }
});

test('a review records the reviewer; a role result stamps the attempt; an invalid ID fails with the admin note', () => {
  const approve = transition(stateOf('Pending/not_applicable'), events['approve (invalid ID)']!);
  expect(approve).toMatchObject({
    ok: true,
    change: {
      reviewed: true,
      attempted: true,
      errorType: 'invalid_discord_id',
      roleError: expect.stringMatching(/Invalid Discord User ID/),
    },
  });
  const result = transition(stateOf('approved_pending_role/pending'), events['grant succeeded']!);
  expect(result).toMatchObject({ ok: true, change: { attempted: true, roleError: null, errorType: null } });
  expect(result.ok && result.change.reviewed).toBeFalsy();
});

test('nextStep: act on a pending role, wait on a failure (re-checking a missing member), else done', () => {
  expect(nextStep(stateOf('approved_pending_role/pending'))).toEqual({ kind: 'act', action: 'grant' });
  expect(nextStep(stateOf('Rejected/pending'))).toEqual({ kind: 'act', action: 'revoke' });
  expect(nextStep(stateOf('approved_role_failed/failed'))).toEqual({ kind: 'wait', recheckMember: false });
  expect(nextStep(stateOf('approved_role_failed/failed', { errorType: 'unknown_member' }))).toEqual({
    kind: 'wait',
    recheckMember: true,
  });
  expect(nextStep(stateOf('Rejected/failed', { errorType: 'unknown_member' }))).toEqual({
    kind: 'wait',
    recheckMember: false,
  });
  for (const pair of [
    'Pending/not_applicable',
    'Approved/not_applicable',
    'approved_role_assigned/success',
    'Rejected/not_applicable',
  ]) {
    expect(nextStep(stateOf(pair))).toEqual({ kind: 'done' });
  }
});

test('availableActions: approve/reject while pending, revoke once approved, retry while retries are left', () => {
  expect(availableActions(stateOf('Pending/not_applicable'))).toEqual(['approve', 'reject']);
  expect(availableActions(stateOf('approved_role_assigned/success'))).toEqual(['revoke_approval']);
  expect(availableActions(stateOf('Approved/not_applicable'))).toEqual(['revoke_approval']);
  expect(availableActions(stateOf('approved_role_failed/failed'))).toEqual(['revoke_approval', 'retry']);
  expect(availableActions(stateOf('Rejected/failed'))).toEqual(['retry']);
  expect(availableActions(stateOf('Rejected/failed', { retryCount: MAX_MANUAL_RETRIES }))).toEqual([]);
  expect(availableActions(stateOf('Rejected/pending'))).toEqual([]);
});
