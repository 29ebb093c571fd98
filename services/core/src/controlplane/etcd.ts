// etcd as a StatefulSet: stable member names give stable DNS names, certificates and volumes.
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { etcdPeerLeaf, etcdServerLeaf, type ClusterPki } from '../pki/cluster-pki.js';
import type { ComponentDefinition } from './component.js';
import {
  CONFIG_HASH_ANNOTATION,
  containerSecurity,
  podEnv,
  componentLabels,
  flagArguments,
  httpProbe,
  metadata,
  quorumOf,
  resources,
  selectorLabels,
  spreadOverNodes,
} from './common.js';
import { podsOf, policy, tcp } from './network-policies.js';
import { ETCD_PKI_DIR, SECRET, leaf, secret } from './secrets.js';
import { ETCD_CLIENT_PORT, ETCD_METRICS_PORT, ETCD_PEER_PORT, etcdMemberUrl, type ResolvedSpec } from './spec.js';

export const ETCD_SERVICE = 'etcd';
const ETCD_ROLE = 'database';
const DATA_VOLUME = 'data';
const DATA_MOUNT = '/var/lib/etcd';

export function etcdQuorum(members: number): number {
  return quorumOf(members);
}

/** `ca.crt` plus every member's server and peer pair; each pod picks its own via `$(POD_NAME)`. */
export function buildEtcdCerts(spec: ResolvedSpec, pki: ClusterPki): ISecret {
  const files: Record<string, string> = { 'ca.crt': pki.ca.etcd.certPem };
  for (let member = 0; member < spec.etcdMembers; member += 1) {
    files[`etcd-${member}-server.crt`] = leaf(pki, etcdServerLeaf(member)).certPem;
    files[`etcd-${member}-server.key`] = leaf(pki, etcdServerLeaf(member)).keyPem;
    files[`etcd-${member}-peer.crt`] = leaf(pki, etcdPeerLeaf(member)).certPem;
    files[`etcd-${member}-peer.key`] = leaf(pki, etcdPeerLeaf(member)).keyPem;
  }
  return secret(spec, SECRET.etcdCerts, files);
}

/** Clients are the apiserver only; members talk to each other on both ports. */
export function buildEtcdNetworkPolicy(spec: ResolvedSpec): INetworkPolicy {
  return policy(spec, 'etcd', {
    podSelector: podsOf(spec, 'etcd').podSelector ?? {},
    policyTypes: ['Ingress', 'Egress'],
    ingress: [
      { from: [podsOf(spec, 'kube-apiserver')], ports: [tcp(ETCD_CLIENT_PORT)] },
      { from: [podsOf(spec, 'etcd')], ports: [tcp(ETCD_CLIENT_PORT), tcp(ETCD_PEER_PORT)] },
    ],
    egress: [{ to: [podsOf(spec, 'etcd')], ports: [tcp(ETCD_CLIENT_PORT), tcp(ETCD_PEER_PORT)] }],
  });
}

export function buildEtcdService(spec: ResolvedSpec): IService {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: metadata(spec, ETCD_SERVICE, componentLabels(spec, 'etcd', ETCD_ROLE)),
    spec: {
      clusterIP: 'None',
      // Members must find each other by DNS before any of them is ready: readiness needs quorum.
      publishNotReadyAddresses: true,
      selector: selectorLabels(spec, 'etcd'),
      ports: [
        { name: 'client', port: ETCD_CLIENT_PORT, targetPort: ETCD_CLIENT_PORT, protocol: 'TCP' },
        { name: 'peer', port: ETCD_PEER_PORT, targetPort: ETCD_PEER_PORT, protocol: 'TCP' },
      ],
    },
  };
}

export function buildEtcdPdb(spec: ResolvedSpec): IPodDisruptionBudget {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: metadata(spec, 'etcd', componentLabels(spec, 'etcd', ETCD_ROLE)),
    spec: { minAvailable: etcdQuorum(spec.etcdMembers), selector: { matchLabels: selectorLabels(spec, 'etcd') } },
  };
}

export function etcdArguments(spec: ResolvedSpec): string[] {
  const initialCluster = Array.from({ length: spec.etcdMembers }, (_, member) => `etcd-${member}=${etcdMemberUrl(spec, member, ETCD_PEER_PORT)}`);
  const ownHost = `$(POD_NAME).${ETCD_SERVICE}.${spec.namespace}.svc.${spec.seedDnsDomain}`;
  // Listening on the pod IP only, not also on 127.0.0.1: the sandbox runs all members in one
  // network namespace, where a shared loopback port would collide.
  return flagArguments(spec, 'etcd', {
    name: '$(POD_NAME)',
    'data-dir': `${DATA_MOUNT}/data`,
    'listen-client-urls': `https://$(POD_IP):${ETCD_CLIENT_PORT}`,
    'advertise-client-urls': `https://${ownHost}:${ETCD_CLIENT_PORT}`,
    'listen-peer-urls': `https://$(POD_IP):${ETCD_PEER_PORT}`,
    'initial-advertise-peer-urls': `https://${ownHost}:${ETCD_PEER_PORT}`,
    'initial-cluster': initialCluster.join(','),
    'initial-cluster-token': spec.namespace,
    'initial-cluster-state': 'new',
    'listen-metrics-urls': `http://$(POD_IP):${ETCD_METRICS_PORT}`,
    'client-cert-auth': 'true',
    'trusted-ca-file': `${ETCD_PKI_DIR}/ca.crt`,
    'cert-file': `${ETCD_PKI_DIR}/$(POD_NAME)-server.crt`,
    'key-file': `${ETCD_PKI_DIR}/$(POD_NAME)-server.key`,
    'peer-client-cert-auth': 'true',
    'peer-trusted-ca-file': `${ETCD_PKI_DIR}/ca.crt`,
    'peer-cert-file': `${ETCD_PKI_DIR}/$(POD_NAME)-peer.crt`,
    'peer-key-file': `${ETCD_PKI_DIR}/$(POD_NAME)-peer.key`,
    'snapshot-count': '10000',
  });
}

export function buildEtcdStatefulSet(spec: ResolvedSpec, secretsHash: string): IStatefulSet {
  const labels = componentLabels(spec, 'etcd', ETCD_ROLE);
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: metadata(spec, 'etcd', labels),
    spec: {
      serviceName: ETCD_SERVICE,
      replicas: spec.etcdMembers,
      // All members must start together: with OrderedReady, etcd-0 waits for a quorum that the
      // members not yet started would provide.
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: selectorLabels(spec, 'etcd') },
      updateStrategy: { type: 'RollingUpdate' },
      template: {
        metadata: { labels: { ...labels }, annotations: { [CONFIG_HASH_ANNOTATION]: secretsHash } },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: 30,
          affinity: spreadOverNodes(spec, 'etcd'),
          containers: [
            {
              name: 'etcd',
              image: spec.version.images.etcd,
              command: ['etcd'],
              args: etcdArguments(spec),
              env: podEnv(),
              ports: [
                { name: 'client', containerPort: ETCD_CLIENT_PORT, protocol: 'TCP' },
                { name: 'peer', containerPort: ETCD_PEER_PORT, protocol: 'TCP' },
                { name: 'metrics', containerPort: ETCD_METRICS_PORT, protocol: 'TCP' },
              ],
              resources: resources('100m', '256Mi', '1', '1Gi'),
              // Liveness asks only about the local member so a lost quorum does not restart every
              // member; readiness asks the cluster.
              startupProbe: httpProbe('/health?serializable=true', ETCD_METRICS_PORT, 'HTTP', { periodSeconds: 5, failureThreshold: 60 }),
              livenessProbe: httpProbe('/health?serializable=true', ETCD_METRICS_PORT, 'HTTP', { periodSeconds: 10, failureThreshold: 8, timeoutSeconds: 15 }),
              readinessProbe: httpProbe('/health', ETCD_METRICS_PORT, 'HTTP', { periodSeconds: 5, failureThreshold: 3 }),
              securityContext: containerSecurity(),
              volumeMounts: [
                { name: DATA_VOLUME, mountPath: DATA_MOUNT },
                { name: 'certs', mountPath: ETCD_PKI_DIR, readOnly: true },
              ],
            },
          ],
          volumes: [{ name: 'certs', secret: { secretName: SECRET.etcdCerts, defaultMode: 0o400 } }],
        },
      },
      volumeClaimTemplates: [
        {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: { name: DATA_VOLUME, labels: { ...labels } },
          spec: {
            accessModes: ['ReadWriteOnce'],
            resources: { requests: { storage: spec.etcdStorageSize } },
            ...(spec.etcdStorageClassName ? { storageClassName: spec.etcdStorageClassName } : {}),
          },
        },
      ],
    },
  };
}

export const etcd: ComponentDefinition = {
  secrets: (spec, pki) => [buildEtcdCerts(spec, pki)],
  objects: (spec, secretsHash) => [buildEtcdService(spec), buildEtcdPdb(spec), buildEtcdStatefulSet(spec, secretsHash)],
  networkPolicies: (spec) => [buildEtcdNetworkPolicy(spec)],
  awaits: { kind: 'StatefulSet', name: 'etcd', readiness: 'statefulSetQuorum', condition: 'EtcdReady' },
};
