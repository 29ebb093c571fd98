// kube-apiserver as a Deployment: stateless, so replicas roll one at a time behind the Services.
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import { FRONT_PROXY_CLIENT_NAME, LEAF, type ClusterPki } from '../pki/cluster-pki.js';
import type { ComponentDefinition } from './component.js';
import {
  CONFIG_HASH_ANNOTATION,
  containerSecurity,
  podEnv,
  componentLabels,
  flagArguments,
  httpProbe,
  metadata,
  resources,
  selectorLabels,
  spreadOverNodes,
} from './common.js';
import { buildExternalApiserverService, buildInternalApiserverService } from './expose.js';
import {
  EGRESS_CONFIG_PATH,
  apiserverKonnectivityMounts,
  buildEgressSelectorConfigMap,
  buildKonnectivitySecrets,
  konnectivityServerContainer,
  konnectivityVolumes,
} from './konnectivity.js';
import { PKI_DIR, PKI_FILE, SECRET, leaf, secret } from './secrets.js';
import { APISERVER_PORT, ETCD_CLIENT_PORT, etcdMemberUrl, type ResolvedSpec } from './spec.js';

export const ADMISSION_PLUGINS = ['NodeRestriction'];

export function serviceAccountIssuer(spec: ResolvedSpec): string {
  return `https://kubernetes.default.svc.${spec.tenantDnsDomain}`;
}

export function apiserverArguments(spec: ResolvedSpec): string[] {
  const pki = (file: string): string => `${PKI_DIR}/${file}`;
  const etcdServers = Array.from({ length: spec.etcdMembers }, (_, member) => etcdMemberUrl(spec, member, ETCD_CLIENT_PORT));
  return flagArguments(spec, 'apiserver', {
    // Bound to the pod IP: in the sandbox every replica shares one network namespace.
    'advertise-address': '$(POD_IP)',
    'bind-address': '$(POD_IP)',
    'secure-port': String(APISERVER_PORT),
    'etcd-servers': etcdServers.join(','),
    'etcd-cafile': pki(PKI_FILE.etcdCa),
    'etcd-certfile': pki(PKI_FILE.etcdClientCert),
    'etcd-keyfile': pki(PKI_FILE.etcdClientKey),
    'client-ca-file': pki(PKI_FILE.ca),
    'tls-cert-file': pki(PKI_FILE.apiserverCert),
    'tls-private-key-file': pki(PKI_FILE.apiserverKey),
    'kubelet-client-certificate': pki(PKI_FILE.kubeletClientCert),
    'kubelet-client-key': pki(PKI_FILE.kubeletClientKey),
    'kubelet-preferred-address-types': 'InternalIP,ExternalIP,Hostname',
    'proxy-client-cert-file': pki(PKI_FILE.frontProxyClientCert),
    'proxy-client-key-file': pki(PKI_FILE.frontProxyClientKey),
    'requestheader-client-ca-file': pki(PKI_FILE.frontProxyCa),
    'requestheader-allowed-names': FRONT_PROXY_CLIENT_NAME,
    'requestheader-username-headers': 'X-Remote-User',
    'requestheader-group-headers': 'X-Remote-Group',
    'requestheader-extra-headers-prefix': 'X-Remote-Extra-',
    'service-account-issuer': serviceAccountIssuer(spec),
    'service-account-key-file': pki(PKI_FILE.serviceAccountPublicKey),
    'service-account-signing-key-file': pki(PKI_FILE.serviceAccountPrivateKey),
    'service-cluster-ip-range': spec.serviceCidr,
    'authorization-mode': 'Node,RBAC',
    'enable-admission-plugins': ADMISSION_PLUGINS.join(','),
    'enable-bootstrap-token-auth': 'true',
    'allow-privileged': 'true',
    // The tenant `kubernetes` Service points at the external endpoint, which no replica knows.
    'endpoint-reconciler-type': 'none',
    // Nodes may sit behind NAT: what it dials in the user cluster goes through the konnectivity sidecar.
    'egress-selector-config-file': EGRESS_CONFIG_PATH,
    profiling: 'false',
  });
}

export function buildApiserverDeployment(spec: ResolvedSpec, secretsHash: string): IDeployment {
  const labels = componentLabels(spec, 'kube-apiserver');
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: metadata(spec, 'kube-apiserver', labels),
    spec: {
      replicas: spec.apiserverReplicas,
      selector: { matchLabels: selectorLabels(spec, 'kube-apiserver') },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels: { ...labels }, annotations: { [CONFIG_HASH_ANNOTATION]: secretsHash } },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: 30,
          affinity: spreadOverNodes(spec, 'kube-apiserver'),
          containers: [
            {
              name: 'kube-apiserver',
              image: spec.version.images.apiserver,
              command: ['kube-apiserver'],
              args: apiserverArguments(spec),
              env: podEnv(),
              ports: [{ name: 'https', containerPort: APISERVER_PORT, protocol: 'TCP' }],
              resources: resources('200m', '512Mi', '2', '2Gi'),
              startupProbe: httpProbe('/livez', APISERVER_PORT, 'HTTPS', { periodSeconds: 5, failureThreshold: 60 }),
              livenessProbe: httpProbe('/livez', APISERVER_PORT, 'HTTPS', { periodSeconds: 10, failureThreshold: 8, timeoutSeconds: 15 }),
              readinessProbe: httpProbe('/readyz', APISERVER_PORT, 'HTTPS', { periodSeconds: 5, failureThreshold: 3 }),
              securityContext: containerSecurity(),
              volumeMounts: [{ name: 'certs', mountPath: PKI_DIR, readOnly: true }, ...apiserverKonnectivityMounts()],
            },
            konnectivityServerContainer(spec),
          ],
          volumes: [{ name: 'certs', secret: { secretName: SECRET.apiserverCerts, defaultMode: 0o400 } }, ...konnectivityVolumes()],
        },
      },
    },
  };
}

export function buildApiserverPdb(spec: ResolvedSpec): IPodDisruptionBudget {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: metadata(spec, 'kube-apiserver', componentLabels(spec, 'kube-apiserver')),
    spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(spec, 'kube-apiserver') } },
  };
}

export function buildApiserverCerts(spec: ResolvedSpec, pki: ClusterPki): ISecret {
  return secret(spec, SECRET.apiserverCerts, {
    [PKI_FILE.ca]: pki.ca.cluster.certPem,
    [PKI_FILE.apiserverCert]: leaf(pki, LEAF.apiserver).certPem,
    [PKI_FILE.apiserverKey]: leaf(pki, LEAF.apiserver).keyPem,
    [PKI_FILE.kubeletClientCert]: leaf(pki, LEAF.apiserverKubeletClient).certPem,
    [PKI_FILE.kubeletClientKey]: leaf(pki, LEAF.apiserverKubeletClient).keyPem,
    [PKI_FILE.etcdCa]: pki.ca.etcd.certPem,
    [PKI_FILE.etcdClientCert]: leaf(pki, LEAF.apiserverEtcdClient).certPem,
    [PKI_FILE.etcdClientKey]: leaf(pki, LEAF.apiserverEtcdClient).keyPem,
    [PKI_FILE.frontProxyCa]: pki.ca.frontProxy.certPem,
    [PKI_FILE.frontProxyClientCert]: leaf(pki, LEAF.frontProxyClient).certPem,
    [PKI_FILE.frontProxyClientKey]: leaf(pki, LEAF.frontProxyClient).keyPem,
    [PKI_FILE.serviceAccountPublicKey]: pki.serviceAccount.publicKeyPem,
    [PKI_FILE.serviceAccountPrivateKey]: pki.serviceAccount.privateKeyPem,
  });
}

/**
 * Its network policies are the namespace's frame (network-policies.ts): everything talks to it.
 * Its pod carries the konnectivity server (konnectivity.ts), whose Secrets roll it too.
 */
export const apiserver: ComponentDefinition = {
  secrets: (spec, pki) => [buildApiserverCerts(spec, pki), ...buildKonnectivitySecrets(spec, pki)],
  objects: (spec, secretsHash) => [
    buildInternalApiserverService(spec),
    buildExternalApiserverService(spec),
    buildApiserverPdb(spec),
    buildEgressSelectorConfigMap(spec),
    buildApiserverDeployment(spec, secretsHash),
  ],
  awaits: { kind: 'Deployment', name: 'kube-apiserver', readiness: 'apiserverReadyz', condition: 'APIServerReady' },
};
