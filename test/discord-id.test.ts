import { discordUserIdOf, isValidDiscordId } from '../src/domain/discord-id.js';

describe('isValidDiscordId', () => {
  // The old ticket's list of inputs that must never reach Discord.
  test.each([
    ['the empty string', ''],
    ['too short', '12345'],
    ['20 digits above 2^64-1', '18446744073709551616'],
    ['letters', 'abc123'],
    ['SQL', "123'; DROP TABLE users--"],
    ['HTML', '<script>alert(1)</script>'],
    ['a number (already imprecise)', Number('123456789012345678')],
    ['null', null],
    ['undefined', undefined],
    ['an object', { id: '123' }],
    ['a leading zero', '01234567890123456'],
    ['21 digits', '123456789012345678901'],
    ['whitespace around', ' 123456789012345678'],
    ['a bigint', 123456789012345678n],
  ])('refuses %s', (_label, value) => {
    expect(isValidDiscordId(value)).toBe(false);
  });

  test.each([
    ['17 digits', '12345678901234567'],
    ['18 digits', '123456789012345678'],
    ['19 digits', '1234567890123456789'],
    ['the maximum, 2^64-1', '18446744073709551615'],
  ])('accepts %s', (_label, value) => {
    expect(isValidDiscordId(value)).toBe(true);
  });

  test('the one pattern (which the API description states) agrees with the number rule: 17 to 20 digits, at most 2^64-1', () => {
    const byNumber = (s: string) => /^[1-9][0-9]{16,19}$/.test(s) && BigInt(s) <= 2n ** 64n - 1n;
    const max = 2n ** 64n - 1n;
    // Around every digit of the maximum, and around the lengths' edges, and at random.
    const samples = new Set<string>(['10000000000000000', '99999999999999999999', '9999999999999999']);
    for (let shift = 0n; shift < 20n; shift += 1n) {
      for (const delta of [-1n, 0n, 1n]) samples.add((max - 10n ** shift + delta).toString());
      for (const delta of [-1n, 0n, 1n]) samples.add((max + 10n ** shift + delta).toString());
    }
    for (let i = 0; i < 5_000; i += 1) {
      const digits = 16 + Math.floor(Math.random() * 6);
      samples.add(
        Array.from({ length: digits }, (_, d) =>
          d === 0 ? 1 + Math.floor(Math.random() * 9) : Math.floor(Math.random() * 10),
        ).join(''),
      );
    }
    for (const s of samples) expect([s, isValidDiscordId(s)]).toEqual([s, byNumber(s)]);
  });
});

test('discordUserIdOf reads discord_user_id, or its synonym discordUserId', () => {
  expect(discordUserIdOf({ discord_user_id: '12345678901234567' })).toBe('12345678901234567');
  expect(discordUserIdOf({ discordUserId: '12345678901234567' })).toBe('12345678901234567');
  expect(discordUserIdOf({})).toBeUndefined();
  expect(discordUserIdOf(null)).toBeUndefined();
});
