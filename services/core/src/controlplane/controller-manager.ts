// kube-controller-manager: signs kubelet CSRs and runs bootstrapsigner/tokencleaner for node join.
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import { LEAF, type ClusterPki } from '../pki/cluster-pki.js';
import { flagArguments, resources } from './common.js';
import type { ComponentDefinition } from './component.js';
import { buildControllerDeployment, kubeconfigFlags } from './controllers.js';
import { egressToApiserver } from './network-policies.js';
import { PKI_DIR, PKI_FILE, SECRET, kubeconfigSecret, secret } from './secrets.js';
import { CONTROLLER_MANAGER_PORT, internalServerUrl, type ResolvedSpec } from './spec.js';

export function controllerManagerArguments(spec: ResolvedSpec): string[] {
  const pki = (file: string): string => `${PKI_DIR}/${file}`;
  return flagArguments(spec, 'controllerManager', {
    ...kubeconfigFlags(),
    'bind-address': '$(POD_IP)',
    'secure-port': String(CONTROLLER_MANAGER_PORT),
    // bootstrapsigner signs cluster-info for joining nodes; tokencleaner removes expired tokens.
    controllers: '*,bootstrapsigner,tokencleaner',
    'cluster-signing-cert-file': pki(PKI_FILE.ca),
    'cluster-signing-key-file': pki(PKI_FILE.caKey),
    'root-ca-file': pki(PKI_FILE.ca),
    'service-account-private-key-file': pki(PKI_FILE.serviceAccountPrivateKey),
    'use-service-account-credentials': 'true',
    'leader-elect': 'true',
    'allocate-node-cidrs': 'true',
    'cluster-cidr': spec.podCidr,
    'service-cluster-ip-range': spec.serviceCidr,
    'cluster-name': spec.clusterId,
    profiling: 'false',
  });
}

export function buildControllerManagerDeployment(spec: ResolvedSpec, secretsHash: string): IDeployment {
  return buildControllerDeployment(spec, {
    component: 'kube-controller-manager',
    image: spec.version.images.controllerManager,
    args: controllerManagerArguments(spec),
    healthPort: CONTROLLER_MANAGER_PORT,
    kubeconfigSecret: SECRET.controllerManagerKubeconfig,
    extraMounts: [{ volume: { name: 'certs', secret: { secretName: SECRET.controllerManagerCerts, defaultMode: 0o400 } }, mountPath: PKI_DIR }],
    secretsHash,
    resources: resources('100m', '256Mi', '1', '1Gi'),
  });
}

/** Signing kubelet certificates needs the cluster CA's key; signing service-account tokens, sa.key. */
export function buildControllerManagerSecrets(spec: ResolvedSpec, pki: ClusterPki): ISecret[] {
  return [
    secret(spec, SECRET.controllerManagerCerts, {
      [PKI_FILE.ca]: pki.ca.cluster.certPem,
      [PKI_FILE.caKey]: pki.ca.cluster.keyPem,
      [PKI_FILE.serviceAccountPrivateKey]: pki.serviceAccount.privateKeyPem,
    }),
    kubeconfigSecret(spec, pki, SECRET.controllerManagerKubeconfig, 'controller-manager', internalServerUrl(spec), LEAF.controllerManager),
  ];
}

export const controllerManager: ComponentDefinition = {
  secrets: buildControllerManagerSecrets,
  objects: (spec, secretsHash) => [buildControllerManagerDeployment(spec, secretsHash)],
  networkPolicies: (spec) => [egressToApiserver(spec, 'controller-manager-egress', 'kube-controller-manager')],
  awaits: { kind: 'Deployment', name: 'kube-controller-manager', readiness: 'deploymentRolledOut', condition: 'ControllerManagerReady' },
};
