import { randomInt } from 'node:crypto';

/** RFC 1123 label, as Kubernetes uses for namespaces and most names. */
export const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const DNS1123_LABEL_MAX = 63;

export function isDns1123Label(value: string): boolean {
  return value.length <= DNS1123_LABEL_MAX && DNS1123_LABEL.test(value);
}

const ADJECTIVES = [
  'amber',
  'brisk',
  'calm',
  'deft',
  'eager',
  'fond',
  'glad',
  'hardy',
  'keen',
  'lucid',
  'merry',
  'nimble',
  'proud',
  'quiet',
  'rapid',
  'sturdy',
  'tidy',
  'vivid',
  'witty',
  'zesty',
];
const NOUNS = [
  'anchor',
  'buoy',
  'cove',
  'dock',
  'ferry',
  'gull',
  'harbor',
  'inlet',
  'jetty',
  'keel',
  'lagoon',
  'mast',
  'pier',
  'quay',
  'reef',
  'sail',
  'tide',
  'wharf',
  'yacht',
  'bay',
];
const SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** A friendly, DNS-safe cluster name such as `brisk-harbor-7kq2`. */
export function generateClusterName(): string {
  const suffix = Array.from({ length: 4 }, () => SUFFIX_ALPHABET[randomInt(SUFFIX_ALPHABET.length)]).join('');
  return `${ADJECTIVES[randomInt(ADJECTIVES.length)]}-${NOUNS[randomInt(NOUNS.length)]}-${suffix}`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Ids in URLs are checked before they reach a uuid column, which would reject them with a 500. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
