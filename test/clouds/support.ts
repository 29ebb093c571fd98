import { generateKeyPairSync } from 'node:crypto';
import type { EnsureInstanceRequest, RetryPolicy } from '../../services/clouds/src/index.js';

/** A fresh OpenSSH ed25519 public key line. */
export function openSshPublicKey(comment = 'harbormaster-test'): string {
  const { publicKey } = generateKeyPairSync('ed25519');
  const x = publicKey.export({ format: 'jwk' }).x;
  if (!x) throw new Error('no ed25519 public key');
  const raw = Buffer.from(x, 'base64url');
  const lengthPrefixed = (bytes: Buffer): Buffer => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    return Buffer.concat([length, bytes]);
  };
  const blob = Buffer.concat([lengthPrefixed(Buffer.from('ssh-ed25519')), lengthPrefixed(raw)]);
  return `ssh-ed25519 ${blob.toString('base64')} ${comment}`;
}

/** Real backoff, scaled down so fault tests stay fast; records every retry it makes. */
export function fastRetry(overrides: Partial<RetryPolicy> = {}): Partial<RetryPolicy> & { retries: string[] } {
  const retries: string[] = [];
  return {
    maxAttempts: 5,
    baseDelayMs: 5,
    maxDelayMs: 40,
    onRetry: ({ operation, error }) => retries.push(`${operation}:${error.code}`),
    ...overrides,
    retries,
  };
}

export function nodeRequest(overrides: Partial<EnsureInstanceRequest> = {}): EnsureInstanceRequest {
  return {
    nodeId: 'node-1',
    clusterId: 'cluster-a',
    poolId: 'pool-1',
    name: 'cluster-a-pool-1-node-1',
    region: 'us-east-1',
    size: 't3.medium',
    image: 'ami-0123456789abcdef0',
    userData: '#cloud-config\nruncmd:\n  - kubeadm join\n',
    sshPublicKeys: [],
    ...overrides,
  };
}
