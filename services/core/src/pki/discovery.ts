import { X509Certificate, createHash } from 'node:crypto';

/**
 * The `--discovery-token-ca-cert-hash` of a CA as `kubeadm join` checks it: SHA-256 over the
 * DER SubjectPublicKeyInfo of the CA certificate.
 */
export function discoveryTokenCaCertHash(caCertPem: string): string {
  const spki = new X509Certificate(caCertPem).publicKey.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}
