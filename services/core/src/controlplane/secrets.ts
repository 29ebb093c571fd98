// What Secrets of the control plane share: their names, mount paths and file names, and how
// one is built. Each component builds its own Secrets in its file, so every component gets only
// what it needs: the scheduler never sees a CA key, the apiserver never sees ca.key.
import type { ISecret } from 'kubernetes-models/v1/Secret';
import { LEAF, type ClusterPki } from '../pki/cluster-pki.js';
import type { CertKeyPem } from '../pki/certificates.js';
import { DomainError } from '../model/errors.js';
import { renderKubeconfig } from '../pki/kubeconfig.js';
import { metadata } from './common.js';
import { externalServerUrl, type ResolvedSpec } from './spec.js';

export const SECRET = {
  etcdCerts: 'etcd-certs',
  apiserverCerts: 'apiserver-certs',
  controllerManagerCerts: 'controller-manager-certs',
  controllerManagerKubeconfig: 'controller-manager-kubeconfig',
  schedulerKubeconfig: 'scheduler-kubeconfig',
  adminKubeconfig: 'admin-kubeconfig',
  viewerKubeconfig: 'viewer-kubeconfig',
} as const;

export const PKI_DIR = '/etc/kubernetes/pki';
export const ETCD_PKI_DIR = '/etc/kubernetes/pki/etcd';
export const KUBECONFIG_DIR = '/etc/kubernetes/kubeconfig';
export const KUBECONFIG_FILE = 'kubeconfig';
export const KUBECONFIG_PATH = `${KUBECONFIG_DIR}/${KUBECONFIG_FILE}`;

/** File names inside the apiserver's and controller-manager's PKI directory, after kubeadm's. */
export const PKI_FILE = {
  ca: 'ca.crt',
  caKey: 'ca.key',
  apiserverCert: 'apiserver.crt',
  apiserverKey: 'apiserver.key',
  kubeletClientCert: 'apiserver-kubelet-client.crt',
  kubeletClientKey: 'apiserver-kubelet-client.key',
  etcdClientCert: 'apiserver-etcd-client.crt',
  etcdClientKey: 'apiserver-etcd-client.key',
  etcdCa: 'etcd-ca.crt',
  frontProxyCa: 'front-proxy-ca.crt',
  frontProxyClientCert: 'front-proxy-client.crt',
  frontProxyClientKey: 'front-proxy-client.key',
  serviceAccountPublicKey: 'sa.pub',
  serviceAccountPrivateKey: 'sa.key',
} as const;

export function secret(spec: ResolvedSpec, name: string, files: Record<string, string>): ISecret {
  const data = Object.fromEntries(Object.entries(files).map(([key, value]) => [key, Buffer.from(value, 'utf8').toString('base64')]));
  return { apiVersion: 'v1', kind: 'Secret', metadata: metadata(spec, name), type: 'Opaque', data };
}

/** A leaf certificate the PKI must already hold: ensureClusterPki issues every leaf a spec needs. */
export function leaf(pki: ClusterPki, name: string): CertKeyPem {
  const pair = pki.leaves[name];
  if (!pair) throw new DomainError('precondition', 'pki_leaf_missing', `the PKI has no ${name} certificate; run ensureClusterPki for this spec first`);
  return pair;
}

/** A Secret holding one kubeconfig for `role`, authenticated by the leaf `client`. */
export function kubeconfigSecret(spec: ResolvedSpec, pki: ClusterPki, name: string, role: string, server: string, client: string): ISecret {
  return secret(spec, name, {
    [KUBECONFIG_FILE]: renderKubeconfig({ clusterName: spec.clusterName, role, server, caCertPem: pki.ca.cluster.certPem, client: leaf(pki, client) }),
  });
}

/** The kubeconfigs handed to users (external endpoint); no component mounts them. */
export function buildAccessKubeconfigs(spec: ResolvedSpec, pki: ClusterPki): ISecret[] {
  return [
    kubeconfigSecret(spec, pki, SECRET.adminKubeconfig, 'admin', externalServerUrl(spec), LEAF.admin),
    kubeconfigSecret(spec, pki, SECRET.viewerKubeconfig, 'viewer', externalServerUrl(spec), LEAF.viewer),
  ];
}
