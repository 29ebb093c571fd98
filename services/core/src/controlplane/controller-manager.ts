import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { flagArguments, resources } from './common.js';
import { buildControllerDeployment, kubeconfigFlags } from './controllers.js';
import { PKI_DIR, PKI_FILE, SECRET } from './secrets.js';
import { CONTROLLER_MANAGER_PORT, type ResolvedSpec } from './spec.js';

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
