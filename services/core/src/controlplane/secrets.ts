// Seed Secrets holding each component's certificates and kubeconfigs. Every component gets
// only what it needs: the scheduler never sees a CA key, the apiserver never sees ca.key.
import type { ISecret } from 'kubernetes-models/v1/Secret';
import { LEAF, etcdPeerLeaf, etcdServerLeaf, type ClusterPki } from '../pki/cluster-pki.js';
import { renderKubeconfig } from '../pki/kubeconfig.js';
import { metadata } from './common.js';
import { externalServerUrl, internalServerUrl, type ResolvedSpec } from './spec.js';

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

function secret(spec: ResolvedSpec, name: string, files: Record<string, string>): ISecret {
  const data = Object.fromEntries(Object.entries(files).map(([key, value]) => [key, Buffer.from(value, 'utf8').toString('base64')]));
  return { apiVersion: 'v1', kind: 'Secret', metadata: metadata(spec, name), type: 'Opaque', data };
}

export interface ControlPlaneSecrets {
  etcdCerts: ISecret;
  apiserverCerts: ISecret;
  controllerManagerCerts: ISecret;
  controllerManagerKubeconfig: ISecret;
  schedulerKubeconfig: ISecret;
  adminKubeconfig: ISecret;
  viewerKubeconfig: ISecret;
}

export function buildSecrets(spec: ResolvedSpec, pki: ClusterPki): ControlPlaneSecrets {
  const leaf = (name: string) => {
    const pair = pki.leaves[name];
    if (!pair) throw new Error(`the PKI has no ${name} certificate; run ensureClusterPki for this spec first`);
    return pair;
  };
  const etcdFiles: Record<string, string> = { 'ca.crt': pki.ca.etcd.certPem };
  for (let member = 0; member < spec.etcdMembers; member += 1) {
    etcdFiles[`etcd-${member}-server.crt`] = leaf(etcdServerLeaf(member)).certPem;
    etcdFiles[`etcd-${member}-server.key`] = leaf(etcdServerLeaf(member)).keyPem;
    etcdFiles[`etcd-${member}-peer.crt`] = leaf(etcdPeerLeaf(member)).certPem;
    etcdFiles[`etcd-${member}-peer.key`] = leaf(etcdPeerLeaf(member)).keyPem;
  }
  const kubeconfig = (role: string, server: string, client: string): Record<string, string> => ({
    [KUBECONFIG_FILE]: renderKubeconfig({ clusterName: spec.clusterName, role, server, caCertPem: pki.ca.cluster.certPem, client: leaf(client) }),
  });
  return {
    etcdCerts: secret(spec, SECRET.etcdCerts, etcdFiles),
    apiserverCerts: secret(spec, SECRET.apiserverCerts, {
      [PKI_FILE.ca]: pki.ca.cluster.certPem,
      [PKI_FILE.apiserverCert]: leaf(LEAF.apiserver).certPem,
      [PKI_FILE.apiserverKey]: leaf(LEAF.apiserver).keyPem,
      [PKI_FILE.kubeletClientCert]: leaf(LEAF.apiserverKubeletClient).certPem,
      [PKI_FILE.kubeletClientKey]: leaf(LEAF.apiserverKubeletClient).keyPem,
      [PKI_FILE.etcdCa]: pki.ca.etcd.certPem,
      [PKI_FILE.etcdClientCert]: leaf(LEAF.apiserverEtcdClient).certPem,
      [PKI_FILE.etcdClientKey]: leaf(LEAF.apiserverEtcdClient).keyPem,
      [PKI_FILE.frontProxyCa]: pki.ca.frontProxy.certPem,
      [PKI_FILE.frontProxyClientCert]: leaf(LEAF.frontProxyClient).certPem,
      [PKI_FILE.frontProxyClientKey]: leaf(LEAF.frontProxyClient).keyPem,
      [PKI_FILE.serviceAccountPublicKey]: pki.serviceAccount.publicKeyPem,
      [PKI_FILE.serviceAccountPrivateKey]: pki.serviceAccount.privateKeyPem,
    }),
    controllerManagerCerts: secret(spec, SECRET.controllerManagerCerts, {
      [PKI_FILE.ca]: pki.ca.cluster.certPem,
      [PKI_FILE.caKey]: pki.ca.cluster.keyPem,
      [PKI_FILE.serviceAccountPrivateKey]: pki.serviceAccount.privateKeyPem,
    }),
    controllerManagerKubeconfig: secret(
      spec,
      SECRET.controllerManagerKubeconfig,
      kubeconfig('controller-manager', internalServerUrl(spec), LEAF.controllerManager),
    ),
    schedulerKubeconfig: secret(spec, SECRET.schedulerKubeconfig, kubeconfig('scheduler', internalServerUrl(spec), LEAF.scheduler)),
    adminKubeconfig: secret(spec, SECRET.adminKubeconfig, kubeconfig('admin', externalServerUrl(spec), LEAF.admin)),
    viewerKubeconfig: secret(spec, SECRET.viewerKubeconfig, kubeconfig('viewer', externalServerUrl(spec), LEAF.viewer)),
  };
}
