// Friendly cluster names in the API's own style (`brisk-harbor-7kq2`). The API generates one
// when the name is left out; the portal makes its own so the user can see and edit it first.
// Both must satisfy the API's rule: a DNS-1123 label of at most 40 characters.

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

export const CLUSTER_NAME_MAX = 40;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function pick<T>(items: readonly T[]): T {
  const random = new Uint32Array(1);
  crypto.getRandomValues(random);
  return items[random[0] % items.length];
}

export function generateClusterName(): string {
  // eslint-disable-next-line @typescript-eslint/no-misused-spread -- an ASCII alphabet: one code point per character
  const suffix = Array.from({ length: 4 }, () => pick([...SUFFIX_ALPHABET])).join('');
  return `${pick(ADJECTIVES)}-${pick(NOUNS)}-${suffix}`;
}

/** Why `name` would be refused, or undefined when it is acceptable. */
export function clusterNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'a name is required';
  if (name.length > CLUSTER_NAME_MAX) return `at most ${CLUSTER_NAME_MAX} characters`;
  if (!DNS1123_LABEL.test(name)) return 'lower-case letters, digits and "-", starting and ending with a letter or digit';
  return undefined;
}
