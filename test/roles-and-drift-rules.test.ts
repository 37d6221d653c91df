// The pure rules of roles and drift: which roles may be used, what a health check finds, what a
// reconciliation does about one application, and what readiness says.
import { PermissionFlagsBits } from 'discord-api-types/v10';
import { healthFindings, roleRefusal, rolePicker, type GuildRoles } from '../src/discord/guild-roles.js';
import { BOT_TOKEN_REJECTED_MESSAGE } from '../src/discord/guard.js';
import { transition, nextStep } from '../src/domain/application-lifecycle.js';
import { driftOf } from '../src/domain/drift.js';
import { grantReadiness, READINESS_REASONS, type ReadinessInput } from '../src/domain/readiness.js';

const GUILD = '1100000000000000000';
const role = (id: string, name: string, position: number, extra: { permissions?: bigint; managed?: boolean } = {}) => ({
  id,
  name,
  position,
  permissions: String(extra.permissions ?? 0n),
  managed: extra.managed ?? false,
});
const guild: GuildRoles = {
  guildId: GUILD,
  canManageRoles: true,
  botHighestPosition: 5,
  roles: [
    role(GUILD, '@everyone', 0),
    role('1100000000000000001', 'Member', 1),
    role('1100000000000000002', 'Pending', 2, { permissions: PermissionFlagsBits.SendMessages }),
    role('1100000000000000003', 'Bots', 3, { managed: true }),
    role('1100000000000000004', 'Staff', 6),
    role('1100000000000000005', 'Mods', 4, { permissions: PermissionFlagsBits.KickMembers }),
  ],
};
const byName = (name: string) => guild.roles.find((r) => r.name === name)!;

describe('roleRefusal', () => {
  test('@everyone, managed roles and roles at or above the bot are refused for both uses', () => {
    for (const name of ['@everyone', 'Bots', 'Staff']) {
      expect(roleRefusal(byName(name), guild, 'add')).not.toBeNull();
      expect(roleRefusal(byName(name), guild, 'remove')).not.toBeNull();
    }
    expect(roleRefusal({ ...byName('Member'), position: 5 }, guild, 'add')).toMatch(
      /At or above the bot's highest role/,
    );
  });
  test('a role with permissions may be removed on approval, never added', () => {
    expect(roleRefusal(byName('Pending'), guild, 'remove')).toBeNull();
    expect(roleRefusal(byName('Pending'), guild, 'add')).toMatch(/Carries permissions \(Send Messages\)/);
    expect(roleRefusal(byName('Mods'), guild, 'add')).toMatch(/Kick Members/);
  });
  test('without Manage Roles nothing can be used', () => {
    expect(roleRefusal(byName('Member'), { ...guild, canManageRoles: false }, 'add')).toMatch(/Manage Roles/);
  });
  test('the picker lists highest first, with both verdicts', () => {
    const items = rolePicker(guild);
    expect(items.map((r) => r.name)).toEqual(['Staff', 'Mods', 'Bots', 'Pending', 'Member', '@everyone']);
    expect(items.find((r) => r.name === 'Member')).toMatchObject({ manageable: true, removable: true, reason: null });
    expect(items.find((r) => r.name === 'Pending')).toMatchObject({ manageable: false, removable: true });
  });
});

describe('healthFindings', () => {
  const ids = (name: string) => byName(name).id;
  test('healthy', () => {
    expect(healthFindings({ guild, addRoleIds: [ids('Member')], removeRoleIds: [ids('Pending')] })).toEqual([]);
  });
  test('the bot gone, Manage Roles lost, a role deleted, above the bot, or unsafe', () => {
    expect(healthFindings({ guild: null, addRoleIds: [], removeRoleIds: [] })).toEqual([
      { kind: 'bot_removed', message: expect.stringMatching(/the bot was removed from the Discord server/) },
    ]);
    expect(
      healthFindings({ guild: { ...guild, canManageRoles: false }, addRoleIds: [ids('Member')], removeRoleIds: [] }),
    ).toEqual([{ kind: 'manage_roles_missing', message: expect.stringMatching(/lost the Manage Roles permission/) }]);
    expect(
      healthFindings({
        guild,
        addRoleIds: ['1100000000000000099'],
        removeRoleIds: [],
        knownNames: new Map([['1100000000000000099', 'Veteran']]),
      }),
    ).toEqual([{ kind: 'role_deleted', message: expect.stringMatching(/the role "Veteran" was deleted/) }]);
    expect(healthFindings({ guild, addRoleIds: [ids('Staff')], removeRoleIds: [] })[0]!.kind).toBe('role_above_bot');
    expect(healthFindings({ guild, addRoleIds: [ids('Mods')], removeRoleIds: [] })[0]!.kind).toBe('role_unsafe');
    // A role removed on approval may carry permissions.
    expect(healthFindings({ guild, addRoleIds: [ids('Member')], removeRoleIds: [ids('Mods')] })).toEqual([]);
    expect(BOT_TOKEN_REJECTED_MESSAGE).toMatch(/Check now/);
  });
});

describe('driftOf', () => {
  const assigned = {
    status: 'approved_role_assigned' as const,
    roleStatus: 'success' as const,
    roleIds: ['1', '2'],
    rolesHeldBefore: [],
  };
  const context = {
    addRoleIds: ['1', '2'],
    removeRoleIds: ['9'],
    neededByOthers: new Set<string>(),
    mode: 'restore' as const,
  };
  test('an approved member missing a role gets it back, or it is reported', () => {
    expect(driftOf(assigned, { roleIds: ['1'] }, context)).toEqual([
      { kind: 'role_missing', roleId: '2', action: 'add' },
    ]);
    expect(driftOf(assigned, { roleIds: ['1'] }, { ...context, mode: 'report' })).toEqual([
      { kind: 'role_missing', roleId: '2', action: 'report' },
    ]);
    expect(driftOf(assigned, { roleIds: ['1', '2', '9'] }, context)).toEqual([
      { kind: 'remove_role_held', roleId: '9', action: 'remove' },
    ]);
    expect(driftOf(assigned, { roleIds: ['1', '2'] }, context)).toEqual([]);
  });
  test('an approved member gone is marked, whatever the mode', () => {
    expect(driftOf(assigned, null, { ...context, mode: 'report' })).toEqual([
      { kind: 'member_left', roleId: '', action: 'mark_left' },
    ]);
  });
  test('a reversed member loses only roles the grant gave and no other approval needs', () => {
    const reversed = {
      status: 'Rejected' as const,
      roleStatus: 'not_applicable' as const,
      roleIds: ['1', '2', '3'],
      rolesHeldBefore: ['1'],
    };
    expect(driftOf(reversed, { roleIds: ['1', '2', '3'] }, { ...context, neededByOthers: new Set(['3']) })).toEqual([
      { kind: 'role_not_taken_back', roleId: '2', action: 'remove' },
    ]);
    expect(driftOf(reversed, null, context)).toEqual([]);
  });
  test('an application whose role is being changed, or failed, belongs to its workflow', () => {
    expect(driftOf({ ...assigned, status: 'approved_pending_role', roleStatus: 'pending' }, null, context)).toEqual([]);
    expect(driftOf({ ...assigned, status: 'approved_role_failed', roleStatus: 'failed' }, null, context)).toEqual([]);
    expect(driftOf({ ...assigned, status: 'Rejected', roleStatus: 'pending' }, { roleIds: ['1'] }, context)).toEqual(
      [],
    );
  });
});

describe('the drift event of the state machine', () => {
  const settled = {
    status: 'approved_role_assigned' as const,
    roleStatus: 'success' as const,
    retryCount: 0,
    errorType: null,
  };
  test('member_left is re-checked automatically; role_removed waits for a manual retry', () => {
    const left = transition(settled, { type: 'drift', finding: 'member_left' });
    expect(left).toMatchObject({ ok: true, change: { status: 'approved_role_failed', errorType: 'member_left' } });
    expect(
      nextStep({ ...settled, status: 'approved_role_failed', roleStatus: 'failed', errorType: 'member_left' }),
    ).toEqual({ kind: 'wait', recheckMember: true });
    const removed = transition(settled, { type: 'drift', finding: 'role_removed' });
    expect(removed).toMatchObject({ ok: true, change: { errorType: 'role_removed' } });
    expect(
      nextStep({ ...settled, status: 'approved_role_failed', roleStatus: 'failed', errorType: 'role_removed' }),
    ).toEqual({ kind: 'wait', recheckMember: false });
  });
  test('anything but a settled grant refuses it as stale', () => {
    for (const status of ['Rejected', 'approved_pending_role', 'approved_role_failed'] as const) {
      expect(transition({ ...settled, status }, { type: 'drift', finding: 'member_left' })).toMatchObject({
        ok: false,
        refusal: { code: 'stale_result' },
      });
    }
  });
});

describe('grantReadiness', () => {
  const base: ReadinessInput = {
    connection: { state: 'connected', error: null, findings: [] },
    discordId: 'valid',
    canBeAdded: false,
    member: { present: true, pending: false },
  };
  test.each([
    [{}, 'ready', READINESS_REASONS.inServer],
    [{ member: { present: true, pending: true } }, 'warning', READINESS_REASONS.screening],
    [{ member: { present: false, listComplete: false }, canBeAdded: true }, 'ready', READINESS_REASONS.canBeAdded],
    [{ member: { present: false, listComplete: true } }, 'blocked', READINESS_REASONS.notInServer],
    [{ member: { present: false, listComplete: false } }, 'warning', READINESS_REASONS.notSeen],
    [{ discordId: 'none' }, 'ready', READINESS_REASONS.noDiscord],
    [{ discordId: 'invalid' }, 'blocked', READINESS_REASONS.invalidId],
    [{ connection: { state: 'disconnected', error: null, findings: [] } }, 'blocked', READINESS_REASONS.notConnected],
    [
      { connection: { state: 'error', error: 'Grants are paused: x', findings: [] } },
      'blocked',
      'Grants are paused: x',
    ],
    [
      { connection: { state: 'connected', error: null, findings: [{ message: 'Grants are paused: y' }] } },
      'blocked',
      'Grants are paused: y',
    ],
  ] as Array<[Partial<ReadinessInput>, string, string]>)('%j → %s', (patch, verdict, reason) => {
    expect(grantReadiness({ ...base, ...patch })).toEqual({ verdict, reason });
  });
});
