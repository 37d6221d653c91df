// Pure code: whether a role may be handed out automatically to whoever is approved.
import { PermissionFlagsBits } from 'discord-api-types/v10';

/** "Manage Server", "Administrator", ... from a flag name such as `ManageGuild`. */
const PERMISSION_NAMES: Record<string, string> = {
  ManageGuild: 'Manage Server',
  ManageRoles: 'Manage Roles',
  ManageChannels: 'Manage Channels',
  KickMembers: 'Kick Members',
  BanMembers: 'Ban Members',
  ManageMessages: 'Manage Messages',
  MentionEveryone: 'Mention @everyone',
  ManageWebhooks: 'Manage Webhooks',
  ManageGuildExpressions: 'Manage Expressions',
  ModerateMembers: 'Timeout Members',
  ViewAuditLog: 'View Audit Log',
};

const nameOf = (flag: string) =>
  PERMISSION_NAMES[flag] ?? flag.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/^./, (c) => c.toUpperCase());

/** The names of the permissions in a Discord permission bit set (a decimal string). */
export function permissionNames(permissions: string): string[] {
  const bits = BigInt(permissions || '0');
  return Object.entries(PermissionFlagsBits)
    .filter(([, bit]) => (bits & bit) !== 0n)
    .map(([flag]) => nameOf(flag));
}

/**
 * A role is safe to grant to every approved applicant only when it carries no permissions and is
 * not managed by an integration or a bot: otherwise approving someone could hand them moderation
 * or administration. Returns the sentence for the admin when it is not safe.
 */
export function unsafeRoleMessage(role: { name: string; permissions: string; managed?: boolean }): string | null {
  if (role.managed) {
    return `The role "${role.name}" is managed by an integration or a bot and cannot be given to applicants: pick or create another role.`;
  }
  const names = permissionNames(role.permissions);
  if (names.length === 0) return null;
  return `The role "${role.name}" has permissions (${names.join(', ')}): remove them in Server Settings → Roles → ${role.name} → Permissions (a member role needs none), then connect Discord again.`;
}
