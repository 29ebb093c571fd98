import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { computeDetachedSignature } from '../../../services/sandbox/src/kubesim/controllers/jws.js';
import { desiredSignatures } from '../../../services/sandbox/src/kubesim/controllers/bootstrap-signer.js';
import type { KubeObject } from '../../../services/sandbox/src/kubesim/contracts.js';

/** What kubeadm's discovery does with cluster-info, written independently of the implementation. */
function kubeadmVerifies(detached: string, kubeconfig: string, tokenId: string, tokenSecret: string): boolean {
  const parts = detached.split('.');
  if (parts.length !== 3 || parts[1] !== '') return false;
  const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8')) as { alg?: string; kid?: string };
  if (header.alg !== 'HS256' || header.kid !== tokenId) return false;
  const signingInput = `${parts[0]}.${Buffer.from(kubeconfig, 'utf8').toString('base64url')}`;
  const expected = createHmac('sha256', Buffer.from(tokenSecret, 'utf8')).update(signingInput).digest();
  return expected.equals(Buffer.from(parts[2], 'base64url'));
}

const kubeconfig =
  'apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: LS0t\n    server: https://10.0.0.1:6443\n  name: ""\ncontexts: null\ncurrent-context: ""\nkind: Config\nusers: null\n';

function tokenSecret(id: string, secret: string, data: Record<string, string>): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'bootstrap.kubernetes.io/token',
    metadata: { name: `bootstrap-token-${id}`, namespace: 'kube-system' },
    data: Object.fromEntries(Object.entries({ 'token-id': id, 'token-secret': secret, ...data }).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  };
}

describe('bootstrap signer JWS', () => {
  it('produces a compact detached JWS with the go-jose header that kubeadm verifies', () => {
    const jws = computeDetachedSignature(kubeconfig, 'abcdef', '0123456789abcdef');
    expect(Buffer.from(jws.split('.')[0], 'base64url').toString()).toBe('{"alg":"HS256","kid":"abcdef"}');
    expect(jws).toMatch(/^[A-Za-z0-9_-]+\.\.[A-Za-z0-9_-]+$/);
    expect(kubeadmVerifies(jws, kubeconfig, 'abcdef', '0123456789abcdef')).toBe(true);
    expect(kubeadmVerifies(jws, kubeconfig, 'abcdef', '0123456789abcdee')).toBe(false);
    expect(kubeadmVerifies(jws, kubeconfig.replace('10.0.0.1', '10.0.0.2'), 'abcdef', '0123456789abcdef')).toBe(false);
  });

  it('signs only valid, unexpired tokens with the signing usage', () => {
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const past = new Date(Date.now() - 1_000).toISOString();
    const signatures = desiredSignatures(
      kubeconfig,
      [
        tokenSecret('abcdef', '0123456789abcdef', { 'usage-bootstrap-signing': 'true', expiration: future }),
        tokenSecret('expire', '0123456789abcdef', { 'usage-bootstrap-signing': 'true', expiration: past }),
        tokenSecret('nosign', '0123456789abcdef', { 'usage-bootstrap-authentication': 'true' }),
        { ...tokenSecret('opaque', '0123456789abcdef', { 'usage-bootstrap-signing': 'true' }), type: 'Opaque' },
      ],
      new Date(),
    );
    expect([...signatures.keys()]).toEqual(['jws-kubeconfig-abcdef']);
    expect(kubeadmVerifies(signatures.get('jws-kubeconfig-abcdef')!, kubeconfig, 'abcdef', '0123456789abcdef')).toBe(true);
  });
});
