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
});

test('discordUserIdOf reads discord_user_id, or its synonym discordUserId', () => {
  expect(discordUserIdOf({ discord_user_id: '12345678901234567' })).toBe('12345678901234567');
  expect(discordUserIdOf({ discordUserId: '12345678901234567' })).toBe('12345678901234567');
  expect(discordUserIdOf({})).toBeUndefined();
  expect(discordUserIdOf(null)).toBeUndefined();
});
