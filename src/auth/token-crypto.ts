import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Applicants' Discord tokens at rest: AES-256-GCM with the key of TOKEN_ENCRYPTION_KEY, a fresh
 * 12-byte IV per value, and what the value belongs to (an application or a sign-in) as associated
 * data, so a ciphertext moved to another row does not decrypt. Stored as
 * `v1.<iv>.<tag>.<ciphertext>` (base64url).
 */

const VERSION = 'v1';

export class TokenDecryptionError extends Error {
  constructor() {
    super('a stored token could not be decrypted (wrong TOKEN_ENCRYPTION_KEY, or moved between rows)');
    this.name = 'TokenDecryptionError';
  }
}

export function encryptToken(key: Buffer, plaintext: string, boundTo: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(boundTo, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [VERSION, iv, cipher.getAuthTag(), ciphertext]
    .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
    .join('.');
}

export function decryptToken(key: Buffer, stored: string, boundTo: string): string {
  const [version, ivText, tagText, ciphertext] = stored.split('.');
  if (version !== VERSION || !ivText || !tagText || ciphertext === undefined) throw new TokenDecryptionError();
  const iv = Buffer.from(ivText, 'base64url');
  const tag = Buffer.from(tagText, 'base64url');
  // A full 16-byte tag only: a truncated one would weaken the check that the value is untouched.
  if (iv.length !== 12 || tag.length !== 16) throw new TokenDecryptionError();
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
    decipher.setAAD(Buffer.from(boundTo, 'utf8'));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    throw new TokenDecryptionError();
  }
}
