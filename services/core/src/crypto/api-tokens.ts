// API tokens look like `hm_<id>_<secret>`: the id finds the row, the secret is checked
// against a SHA-256 hash (tokens carry 256 bits of entropy, so a slow hash adds nothing).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export interface IssuedToken {
  id: string;
  secret: string;
  /** What the user sees once: `hm_<id>_<secret>`. */
  plaintext: string;
  hash: string;
}

const TOKEN_PATTERN = /^hm_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

export function issueApiToken(): IssuedToken {
  const id = randomBytes(9)
    .toString('base64url')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '0')
    .slice(0, 12);
  const secret = randomBytes(32).toString('base64url');
  return { id, secret, plaintext: `hm_${id}_${secret}`, hash: hashTokenSecret(secret) };
}

export function hashTokenSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function parseApiToken(plaintext: string): { id: string; secret: string } | undefined {
  const match = TOKEN_PATTERN.exec(plaintext);
  return match ? { id: match[1], secret: match[2] } : undefined;
}

export function tokenSecretMatches(secret: string, storedHash: string): boolean {
  const computed = Buffer.from(hashTokenSecret(secret), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return computed.length === stored.length && timingSafeEqual(computed, stored);
}
