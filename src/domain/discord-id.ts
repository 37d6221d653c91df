// Pure code: imported by the API, the activities and the (deterministic) workflow bundle alike.

const SNOWFLAKE = /^[1-9][0-9]{16,19}$/;
const MAX_SNOWFLAKE = 18446744073709551615n; // 2^64 - 1

export const INVALID_DISCORD_ID_MESSAGE =
  'Invalid Discord User ID format. Please ensure the user provided a valid Discord ID.';

/**
 * A Discord snowflake: an unsigned 64-bit integer written as a decimal string. Only strings are
 * accepted: a JS number of that size has already lost precision.
 */
export function isValidDiscordId(value: unknown): value is string {
  return typeof value === 'string' && SNOWFLAKE.test(value) && BigInt(value) <= MAX_SNOWFLAKE;
}

/** The applicant's Discord user ID as given in `custom_data` (`discord_user_id`, or its synonym `discordUserId`). */
export function discordUserIdOf(customData: unknown): unknown {
  if (typeof customData !== 'object' || customData === null) return undefined;
  const data = customData as Record<string, unknown>;
  return data.discord_user_id ?? data.discordUserId;
}

/** Whether an application's data names a Discord user at all (valid or not). */
export function hasDiscordUserId(customData: unknown): boolean {
  const id = discordUserIdOf(customData);
  return id !== undefined && id !== null && id !== '';
}

/**
 * What an application says about the applicant's Discord account, as the state machine asks it:
 * an account (signed in, or a typed ID that was valid), an unusable typed value, or nothing.
 */
export function discordIdPresence(app: {
  discordUser: { id: string } | null;
  custom_data: unknown;
}): 'none' | 'invalid' | 'valid' {
  if (app.discordUser) return 'valid';
  return hasDiscordUserId(app.custom_data) ? 'invalid' : 'none';
}
