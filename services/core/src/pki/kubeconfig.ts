// Kubeconfig rendering. Client libraries cache credentials by cluster/user name, so every
// kubeconfig gets names derived from its own server, CA and credential.
import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import type { CertKeyPem } from './certificates.js';

export interface KubeconfigInput {
  clusterName: string;
  /** What the credential is for, e.g. `admin`, `viewer`, `controller-manager`. */
  role: string;
  server: string;
  caCertPem: string;
  /** Omitted for discovery kubeconfigs such as `cluster-info`. */
  client?: CertKeyPem;
}

export interface KubeconfigNames {
  cluster: string;
  user: string;
  context: string;
}

const base64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

export function kubeconfigNames(input: KubeconfigInput): KubeconfigNames {
  const shortId = createHash('sha256')
    .update(input.server)
    .update('\0')
    .update(input.caCertPem)
    .update('\0')
    .update(input.client?.certPem ?? '')
    .digest('hex')
    .slice(0, 8);
  const cluster = `hm-${input.clusterName}-${shortId}`;
  const user = `hm-${input.clusterName}-${input.role}-${shortId}`;
  return { cluster, user, context: user };
}

export interface KubeconfigDocument {
  apiVersion: 'v1';
  kind: 'Config';
  clusters: Array<{ name: string; cluster: { server: string; 'certificate-authority-data': string } }>;
  users: Array<{ name: string; user: { 'client-certificate-data': string; 'client-key-data': string } }>;
  contexts: Array<{ name: string; context: { cluster: string; user: string } }>;
  'current-context': string;
  preferences: Record<string, never>;
}

export function kubeconfigDocument(input: KubeconfigInput): KubeconfigDocument {
  const names = kubeconfigNames(input);
  const cluster = { server: input.server, 'certificate-authority-data': base64(input.caCertPem) };
  if (!input.client) {
    // kubeadm's cluster-info kubeconfig: one unnamed cluster and nothing else. kubeadm's
    // discovery (GetClusterFromKubeConfig) reads only the unnamed cluster or the current
    // context's; a named cluster without a context makes `kubeadm join` fail.
    return { apiVersion: 'v1', kind: 'Config', clusters: [{ name: '', cluster }], users: [], contexts: [], 'current-context': '', preferences: {} };
  }
  const clusters = [{ name: names.cluster, cluster }];
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters,
    users: [
      {
        name: names.user,
        user: { 'client-certificate-data': base64(input.client.certPem), 'client-key-data': base64(input.client.keyPem) },
      },
    ],
    contexts: [{ name: names.context, context: { cluster: names.cluster, user: names.user } }],
    'current-context': names.context,
    preferences: {},
  };
}

export function renderKubeconfig(input: KubeconfigInput): string {
  return stringify(kubeconfigDocument(input), { lineWidth: 0 });
}
