// Pure code: imported by the API, the activities and the (deterministic) workflow bundle alike.

/**
 * A snowflake's decimal text: 17 to 20 digits without a leading zero, at most 2^64 - 1. Written as
 * one regular expression (built from the maximum's digits: every 20-digit number that is below it
 * at its first smaller digit) so that the API's description can state the rule exactly.
 */
function snowflakePattern(max = '18446744073709551615'): RegExp {
  const below = [...max].flatMap((digit, i) => {
    const lowest = i === 0 ? 1 : 0;
    const highest = Number(digit) - 1;
    return highest < lowest ? [] : [`${max.slice(0, i)}[${lowest}-${highest}][0-9]{${max.length - i - 1}}`];
  });
  return new RegExp(`^(?:[1-9][0-9]{16,18}|${[...below, max].join('|')})$`);
}

/** A Discord ID (a snowflake) as text. */
export const DISCORD_ID_PATTERN = snowflakePattern();

export const INVALID_DISCORD_ID_MESSAGE =
  'Invalid Discord User ID format. Please ensure the user provided a valid Discord ID.';

/**
 * A Discord snowflake: an unsigned 64-bit integer written as a decimal string. Only strings are
 * accepted: a JS number of that size has already lost precision.
 */
export function isValidDiscordId(value: unknown): value is string {
  return typeof value === 'string' && DISCORD_ID_PATTERN.test(value);
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
