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
  const [version, iv, tag, ciphertext] = stored.split('.');
  if (version !== VERSION || !iv || !tag || ciphertext === undefined) throw new TokenDecryptionError();
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(boundTo, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    throw new TokenDecryptionError();
  }
}
