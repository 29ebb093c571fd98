// kubeadm-compatible bootstrap tokens: the Secret format the apiserver's bootstrap-token
// authenticator and the bootstrapsigner/tokencleaner controllers read.
import { randomInt } from 'node:crypto';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import { BOOTSTRAPPERS_GROUP } from './tenant-objects.js';

export const BOOTSTRAP_TOKEN_SECRET_TYPE = 'bootstrap.kubernetes.io/token';
export const BOOTSTRAP_TOKEN_NAMESPACE = 'kube-system';
export const DEFAULT_BOOTSTRAP_TOKEN_TTL_MS = 30 * 60_000;
export const BOOTSTRAP_TOKEN_PATTERN = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;

const TOKEN_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

export interface BootstrapToken {
  id: string;
  secret: string;
}

function randomString(length: number): string {
  // randomInt draws uniformly, so no alphabet character is favoured the way `byte % 36` would.
  let value = '';
  for (let index = 0; index < length; index += 1) value += TOKEN_ALPHABET[randomInt(TOKEN_ALPHABET.length)];
  return value;
}

export function generateBootstrapToken(): BootstrapToken {
  return { id: randomString(6), secret: randomString(16) };
}

export function formatBootstrapToken(token: BootstrapToken): string {
  return `${token.id}.${token.secret}`;
}

export function parseBootstrapToken(value: string): BootstrapToken {
  const match = BOOTSTRAP_TOKEN_PATTERN.exec(value);
  // eslint-disable-next-line no-restricted-syntax -- the token was generated and sealed by us; a malformed one is corrupted storage
  if (!match) throw new Error('bootstrap token must match [a-z0-9]{6}.[a-z0-9]{16}');
  return { id: match[1], secret: match[2] };
}

export function bootstrapTokenSecretName(tokenId: string): string {
  return `bootstrap-token-${tokenId}`;
}

/** RFC 3339 with whole seconds, as kubeadm writes it and the authenticator parses it. */
export function formatTokenExpiration(at: Date): string {
  return at.toISOString().replace(/\.\d+Z$/, 'Z');
}

export interface BootstrapTokenSecretOptions {
  token: BootstrapToken;
  now?: Date;
  ttlMs?: number;
  /** Explicit expiration; wins over now + ttlMs. */
  expiresAt?: Date;
  description?: string;
  /** Labels that let the product find its own tokens (e.g. the pool id). */
  labels?: Record<string, string>;
}

export function buildBootstrapTokenSecret(options: BootstrapTokenSecretOptions): ISecret {
  const { token } = options;
  // eslint-disable-next-line no-restricted-syntax -- tokens come from generateBootstrapToken/parseBootstrapToken; a bad one is a broken invariant
  if (!BOOTSTRAP_TOKEN_PATTERN.test(formatBootstrapToken(token))) throw new Error('bootstrap token must match [a-z0-9]{6}.[a-z0-9]{16}');
  const expiresAt = options.expiresAt ?? new Date((options.now ?? new Date()).getTime() + (options.ttlMs ?? DEFAULT_BOOTSTRAP_TOKEN_TTL_MS));
  const stringData: Record<string, string> = {
    description: options.description ?? 'Harbormaster node join token',
    'token-id': token.id,
    'token-secret': token.secret,
    expiration: formatTokenExpiration(expiresAt),
    'usage-bootstrap-authentication': 'true',
    'usage-bootstrap-signing': 'true',
    'auth-extra-groups': BOOTSTRAPPERS_GROUP,
  };
  const data = Object.fromEntries(Object.entries(stringData).map(([key, value]) => [key, Buffer.from(value).toString('base64')]));
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: BOOTSTRAP_TOKEN_SECRET_TYPE,
    metadata: {
      name: bootstrapTokenSecretName(token.id),
      namespace: BOOTSTRAP_TOKEN_NAMESPACE,
      labels: { 'app.kubernetes.io/managed-by': 'harbormaster', ...(options.labels ?? {}) },
    },
    data,
  };
}

/** Reads the expiration back out of a bootstrap token Secret (data or stringData). */
export function bootstrapTokenExpiration(secret: ISecret): Date | undefined {
  const raw = secret.stringData?.expiration ?? (secret.data?.expiration ? Buffer.from(secret.data.expiration, 'base64').toString() : undefined);
  if (!raw) return undefined;
  const at = new Date(raw);
  return Number.isNaN(at.getTime()) ? undefined : at;
}

export type TokenRefreshDecision =
  { action: 'create'; expiresAt: Date } | { action: 'extend'; expiresAt: Date } | { action: 'keep' } | { action: 'delete' } | { action: 'none' };

export interface TokenRefreshInput {
  now: Date;
  /** The current token's expiration, or undefined when the pool has no token Secret. */
  expiresAt: Date | undefined;
  /** Nodes of the pool that are provisioning or joining (not yet Ready). */
  joiningNodes: number;
  ttlMs?: number;
  /**
   * Extend once less than this remains. Half the TTL by default: a node that boots slowly still
   * finds a valid token, while a leaked token is never valid much longer than one TTL.
   */
  refreshBeforeMs?: number;
}

/**
 * One token per pool lives only while the pool has nodes joining: it is extended before it
 * lapses and deleted as soon as nobody needs it, so a leaked user-data token is short-lived.
 */
export function decideTokenRefresh(input: TokenRefreshInput): TokenRefreshDecision {
  const ttlMs = input.ttlMs ?? DEFAULT_BOOTSTRAP_TOKEN_TTL_MS;
  const refreshBeforeMs = input.refreshBeforeMs ?? ttlMs / 2;
  const renewed = new Date(input.now.getTime() + ttlMs);
  if (input.joiningNodes <= 0) return input.expiresAt ? { action: 'delete' } : { action: 'none' };
  if (!input.expiresAt) return { action: 'create', expiresAt: renewed };
  // An expired Secret may already be gone (tokencleaner) and its token was in user data that is
  // no longer trustworthy to extend; a fresh token is needed for the remaining nodes.
  if (input.expiresAt.getTime() <= input.now.getTime()) return { action: 'create', expiresAt: renewed };
  if (input.expiresAt.getTime() - input.now.getTime() < refreshBeforeMs) return { action: 'extend', expiresAt: renewed };
  return { action: 'keep' };
}
