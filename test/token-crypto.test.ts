import { randomBytes } from 'node:crypto';
import { decryptToken, encryptToken, TokenDecryptionError } from '../src/auth/token-crypto.js';

const key = randomBytes(32);

test('a token encrypted for one row decrypts for that row only, with that key only', () => {
  const stored = encryptToken(key, 'the-access-token', 'application:1');
  expect(stored).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
  expect(stored).not.toContain('the-access-token');
  expect(decryptToken(key, stored, 'application:1')).toBe('the-access-token');
  expect(() => decryptToken(key, stored, 'application:2')).toThrow(TokenDecryptionError);
  expect(() => decryptToken(randomBytes(32), stored, 'application:1')).toThrow(TokenDecryptionError);
  // Two encryptions of one value differ (a fresh IV each time).
  expect(encryptToken(key, 'the-access-token', 'application:1')).not.toBe(stored);
});

test('a tampered or truncated value is refused, a short tag included', () => {
  const stored = encryptToken(key, 'the-access-token', 'application:1');
  const [v, iv, tag, ct] = stored.split('.') as [string, string, string, string];
  const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
  for (const bad of [
    [v, iv, tag, flip(ct)].join('.'),
    [v, iv, flip(tag), ct].join('.'),
    [v, iv, Buffer.from(tag, 'base64url').subarray(0, 4).toString('base64url'), ct].join('.'),
    [v, Buffer.from(iv, 'base64url').subarray(0, 8).toString('base64url'), tag, ct].join('.'),
    ['v2', iv, tag, ct].join('.'),
    'not a token',
  ]) {
    expect(() => decryptToken(key, bad, 'application:1')).toThrow(TokenDecryptionError);
  }
});
