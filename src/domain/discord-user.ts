// Pure code: who an applicant is on Discord, as reviewers see it.

/** Discord's epoch: the first second of 2015, in milliseconds since the Unix epoch. */
const DISCORD_EPOCH_MS = 1_420_070_400_000n;

/** When a Discord account (or anything with a snowflake ID) was created: its ID's top 42 bits. */
export function snowflakeCreatedAt(id: string): Date {
  return new Date(Number((BigInt(id) >> 22n) + DISCORD_EPOCH_MS));
}

/** The account's avatar on Discord's CDN, or null for the default avatar. */
export function avatarUrl(userId: string, avatar: string | null): string | null {
  if (!avatar || !/^(a_)?[0-9a-f]{32}$/.test(avatar)) return null;
  return `https://cdn.discordapp.com/avatars/${userId}/${avatar}.png`;
}

/** The applicant's Discord account as the API shows it. */
export interface DiscordUser {
  id: string;
  username: string | null;
  globalName: string | null;
  avatarUrl: string | null;
  /** From the ID: "created 3 days ago" is how reviewers spot throwaway accounts. */
  accountCreatedAt: string;
}

export function discordUserOf(input: {
  id: string;
  username: string | null;
  globalName: string | null;
  avatar: string | null;
}): DiscordUser {
  return {
    id: input.id,
    username: input.username,
    globalName: input.globalName,
    avatarUrl: avatarUrl(input.id, input.avatar),
    accountCreatedAt: snowflakeCreatedAt(input.id).toISOString(),
  };
}
