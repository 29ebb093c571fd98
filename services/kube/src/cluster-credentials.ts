// The sealed per-cluster secrets (the PKI) and the kubeconfigs derived from them. Shared by
// the worker, which writes them, and the api, which hands kubeconfigs out.
import { LEAF, renderKubeconfig, type ClusterPki } from '../../core/src/pki/index.js';
import { sealingContext, type SecretBox } from '../../core/src/index.js';

export interface ClusterSecrets {
  formatVersion: 1;
  pki: ClusterPki;
}

export type KubeconfigRole = 'admin' | 'viewer';

export function openClusterSecrets(box: SecretBox, clusterId: string, sealed: string | null): ClusterSecrets | undefined {
  if (!sealed) return undefined;
  return box.openJson<ClusterSecrets>(sealed, sealingContext.clusterSecrets(clusterId));
}

export function sealClusterSecrets(box: SecretBox, clusterId: string, secrets: ClusterSecrets): string {
  return box.sealJson(secrets, sealingContext.clusterSecrets(clusterId));
}

/** `https://host:port` as stored in `clusters.endpoint`. */
export function endpointUrl(host: string, port: number): string {
  return `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * A kubeconfig for the exposed endpoint. Names derive from server, CA and client certificate
 * (see kubeconfigNames), so two clusters, or two roles of one cluster, never share a name.
 */
export function clusterKubeconfig(input: { clusterName: string; endpoint: string; pki: ClusterPki; role: KubeconfigRole }): string {
  const leaf = (input.pki.leaves as Partial<ClusterPki['leaves']>)[input.role === 'admin' ? LEAF.admin : LEAF.viewer];
  // eslint-disable-next-line no-restricted-syntax -- the PKI is generated with every leaf; a missing one is corrupt state
  if (!leaf) throw new Error(`the stored PKI has no ${input.role} certificate`);
  return renderKubeconfig({ clusterName: input.clusterName, role: input.role, server: input.endpoint, caCertPem: input.pki.ca.cluster.certPem, client: leaf });
}
