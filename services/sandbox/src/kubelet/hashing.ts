import { createHash, randomInt } from 'node:crypto';

// Kubernetes' rand.SafeEncodeString alphabet: no vowels or look-alike digits, so generated
// names never spell words.
const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

function safeEncode(bytes: Buffer, length: number): string {
  let out = '';
  for (let index = 0; index < length; index++) out += SAFE_ALPHABET[bytes[index % bytes.length] % SAFE_ALPHABET.length];
  return out;
}

/** Stable short hash of a pod template, used for pod-template-hash and revisions. */
export function templateHash(template: unknown): string {
  return safeEncode(createHash('sha256').update(canonicalJson(template)).digest(), 10);
}

export function randomSuffix(): string {
  let out = '';
  for (let index = 0; index < 5; index++) out += SAFE_ALPHABET[randomInt(SAFE_ALPHABET.length)];
  return out;
}

function canonicalJson(value: unknown): string {
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, child]) => child !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, child]) => `${JSON.stringify(key)}:${canonicalJson(child)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function stableJson(value: unknown): string {
  return canonicalJson(value);
}
