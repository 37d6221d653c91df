/** Discord snowflakes: unsigned 64-bit integers written as decimal strings. */

const DISCORD_EPOCH = 1_420_070_400_000n;
const MAX_SNOWFLAKE = 18_446_744_073_709_551_615n;
const SNOWFLAKE_PATTERN = /^[1-9][0-9]{16,19}$/;

let increment = 0n;

/** A new snowflake built like Discord's: milliseconds since the Discord epoch, then 22 bits of counter. */
export function generateSnowflake(now: number = Date.now()): string {
  increment = (increment + 1n) & 0xfffn;
  const id = ((BigInt(now) - DISCORD_EPOCH) << 22n) | (1n << 17n) | increment;
  return id.toString();
}

export function isSnowflake(value: unknown): value is string {
  return typeof value === 'string' && SNOWFLAKE_PATTERN.test(value) && BigInt(value) <= MAX_SNOWFLAKE;
}
