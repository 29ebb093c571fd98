import type { KubeObject } from '../contracts.js';

// k8s.io/cluster-bootstrap/token/api constants.
export const BOOTSTRAP_TOKEN_SECRET_TYPE = 'bootstrap.kubernetes.io/token';
export const BOOTSTRAP_TOKEN_SECRET_PREFIX = 'bootstrap-token-';
export const BOOTSTRAP_USER_PREFIX = 'system:bootstrap:';
export const BOOTSTRAP_DEFAULT_GROUP = 'system:bootstrappers';
const TOKEN_PATTERN = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;
const TOKEN_ID_PATTERN = /^[a-z0-9]{6}$/;
const EXTRA_GROUP_PATTERN = /^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$/;

export interface ParsedBootstrapToken {
  id: string;
  secret: string;
}

export function parseBootstrapToken(token: string): ParsedBootstrapToken | undefined {
  const match = TOKEN_PATTERN.exec(token);
  return match ? { id: match[1], secret: match[2] } : undefined;
}

/** Secret data values decoded from base64; stringData is honoured too because some stores keep it. */
export function secretValue(secret: KubeObject, key: string): string | undefined {
  const data = secret.data;
  if (data && typeof data === 'object') {
    const raw = (data as Record<string, unknown>)[key];
    if (typeof raw === 'string') return Buffer.from(raw, 'base64').toString('utf8');
  }
  const stringData = secret.stringData;
  if (stringData && typeof stringData === 'object') {
    const raw = (stringData as Record<string, unknown>)[key];
    if (typeof raw === 'string') return raw;
  }
  return undefined;
}

/** bootstrapsecretutil.HasExpired: a missing expiration never expires, an unparsable one counts as expired. */
export function bootstrapTokenExpired(secret: KubeObject, now: Date): boolean {
  const expiration = secretValue(secret, 'expiration');
  if (expiration === undefined || expiration === '') return false;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(expiration)) return true;
  const expiresAt = Date.parse(expiration);
  return Number.isNaN(expiresAt) || expiresAt <= now.getTime();
}

/** bootstrapsecretutil.GetGroups: always system:bootstrappers, plus validated auth-extra-groups. */
export function bootstrapTokenGroups(secret: KubeObject): string[] | undefined {
  const groups = [BOOTSTRAP_DEFAULT_GROUP];
  const extra = secretValue(secret, 'auth-extra-groups');
  if (extra === undefined || extra === '') return groups;
  for (const candidate of extra.split(',').map((group) => group.trim())) {
    if (!EXTRA_GROUP_PATTERN.test(candidate)) return undefined;
    if (!groups.includes(candidate)) groups.push(candidate);
  }
  return groups;
}

/** The checks every consumer of a bootstrap-token Secret shares; returns the token id when usable. */
export function validBootstrapTokenSecret(secret: KubeObject, now: Date): ParsedBootstrapToken | undefined {
  if (secret.type !== BOOTSTRAP_TOKEN_SECRET_TYPE) return undefined;
  if (secret.metadata.deletionTimestamp) return undefined;
  const name = secret.metadata.name ?? '';
  if (!name.startsWith(BOOTSTRAP_TOKEN_SECRET_PREFIX)) return undefined;
  const id = secretValue(secret, 'token-id');
  const tokenSecret = secretValue(secret, 'token-secret');
  if (id === undefined || tokenSecret === undefined || !TOKEN_ID_PATTERN.test(id)) return undefined;
  if (name !== BOOTSTRAP_TOKEN_SECRET_PREFIX + id) return undefined;
  if (!/^[a-z0-9]{16}$/.test(tokenSecret)) return undefined;
  if (bootstrapTokenExpired(secret, now)) return undefined;
  return { id, secret: tokenSecret };
}
