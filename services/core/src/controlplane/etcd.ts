// etcd as a StatefulSet: stable member names give stable DNS names, certificates and volumes.
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
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
import { ETCD_PKI_DIR, SECRET } from './secrets.js';
import { ETCD_CLIENT_PORT, ETCD_METRICS_PORT, ETCD_PEER_PORT, etcdMemberUrl, type ResolvedSpec } from './spec.js';

export const ETCD_SERVICE = 'etcd';
const DATA_VOLUME = 'data';
const DATA_MOUNT = '/var/lib/etcd';

export function etcdQuorum(members: number): number {
  return Math.floor(members / 2) + 1;
}

export function buildEtcdService(spec: ResolvedSpec): IService {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: metadata(spec, ETCD_SERVICE, componentLabels(spec, 'etcd')),
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
    metadata: metadata(spec, 'etcd', componentLabels(spec, 'etcd')),
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
  const labels = componentLabels(spec, 'etcd');
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
