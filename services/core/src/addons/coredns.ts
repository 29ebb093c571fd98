// CoreDNS as kubeadm installs it (its addon/coredns phase): the `kube-dns` Service name and
// `k8s-app: kube-dns` label are what kubelets, NodeLocal DNSCache and monitoring look for.
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { AddonDefinition, AddonSpec } from './addon.js';
import {
  KUBE_SYSTEM,
  LINUX_NODES,
  clusterRole,
  clusterRoleBinding,
  configMap,
  enforced,
  meta,
  podLabels,
  requireImage,
  serviceAccount,
  serviceAccountSubject,
  userEditable,
} from './common.js';

const ADDON = 'coredns';
const SELECTOR = { 'k8s-app': 'kube-dns' };
export const COREDNS_CONFIGMAP = 'coredns';
export const KUBE_DNS_SERVICE = 'kube-dns';
const READY_PORT = 8181;
const HEALTH_PORT = 8080;
const METRICS_PORT = 9153;

/** kubeadm's Corefile for the cluster domain; the ConfigMap is the user's to extend afterwards. */
export function corefile(spec: AddonSpec): string {
  const domain = spec.dnsDomain;
  return `.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes ${domain} in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :${METRICS_PORT}
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30 {
       disable success ${domain}
       disable denial ${domain}
    }
    loop
    reload
    loadbalance
}
`;
}

function deployment(spec: AddonSpec): IDeployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(ADDON, 'coredns', KUBE_SYSTEM, SELECTOR),
    spec: {
      replicas: 2,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
      selector: { matchLabels: { ...SELECTOR } },
      template: {
        metadata: { labels: podLabels(ADDON, SELECTOR) },
        spec: {
          priorityClassName: 'system-cluster-critical',
          serviceAccountName: 'coredns',
          // The tolerations kubeadm gives CoreDNS; hosted clusters have no control-plane nodes, so it
          // only matters for users who taint their own nodes the kubeadm way.
          tolerations: [
            { key: 'CriticalAddonsOnly', operator: 'Exists' },
            { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' },
          ],
          nodeSelector: { ...LINUX_NODES },
          // Two replicas on one node would both go with it; preferred, so a one-node cluster still gets DNS.
          affinity: {
            podAntiAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [
                { weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { ...SELECTOR } } } },
              ],
            },
          },
          // kubeadm only prefers other nodes, so both replicas land on whichever node turns
          // Ready first and stay there. Required spreading holds the second replica for the
          // second node (tainted nodes count as domains), and one node still takes both.
          topologySpreadConstraints: [
            { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { ...SELECTOR } } },
          ],
          containers: [
            {
              name: 'coredns',
              image: requireImage(spec, 'coredns'),
              imagePullPolicy: 'IfNotPresent',
              args: ['-conf', '/etc/coredns/Corefile'],
              resources: { requests: { cpu: '100m', memory: '70Mi' }, limits: { memory: '170Mi' } },
              volumeMounts: [{ name: 'config-volume', mountPath: '/etc/coredns', readOnly: true }],
              ports: [
                { name: 'dns', containerPort: 53, protocol: 'UDP' },
                { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
                { name: 'metrics', containerPort: METRICS_PORT, protocol: 'TCP' },
              ],
              livenessProbe: {
                httpGet: { path: '/health', port: HEALTH_PORT, scheme: 'HTTP' },
                initialDelaySeconds: 60,
                timeoutSeconds: 5,
                successThreshold: 1,
                failureThreshold: 5,
              },
              readinessProbe: { httpGet: { path: '/ready', port: READY_PORT, scheme: 'HTTP' } },
              securityContext: {
                allowPrivilegeEscalation: false,
                capabilities: { add: ['NET_BIND_SERVICE'], drop: ['ALL'] },
                readOnlyRootFilesystem: true,
              },
            },
          ],
          // CoreDNS must not resolve through itself (`forward . /etc/resolv.conf` is the node's).
          dnsPolicy: 'Default',
          volumes: [{ name: 'config-volume', configMap: { name: COREDNS_CONFIGMAP, items: [{ key: 'Corefile', path: 'Corefile' }] } }],
        },
      },
    },
  };
}

function service(spec: AddonSpec): IService {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      ...meta(ADDON, KUBE_DNS_SERVICE, KUBE_SYSTEM, { ...SELECTOR, 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'CoreDNS' }),
      annotations: { 'prometheus.io/port': String(METRICS_PORT), 'prometheus.io/scrape': 'true' },
    },
    spec: {
      // The address every kubelet's clusterDNS already names.
      clusterIP: spec.clusterDnsIp,
      selector: { ...SELECTOR },
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
        { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
        { name: 'metrics', port: METRICS_PORT, protocol: 'TCP', targetPort: METRICS_PORT },
      ],
    },
  };
}

function disruptionBudget(): IPodDisruptionBudget {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: meta(ADDON, 'coredns', KUBE_SYSTEM, SELECTOR),
    spec: { maxUnavailable: 1, selector: { matchLabels: { ...SELECTOR } } },
  };
}

export const coredns: AddonDefinition = {
  name: ADDON,
  enabled: () => true,
  objects: (spec) => [
    enforced(serviceAccount(ADDON, 'coredns')),
    enforced(
      clusterRole(
        ADDON,
        'system:coredns',
        [
          { apiGroups: [''], resources: ['endpoints', 'services', 'pods', 'namespaces'], verbs: ['list', 'watch'] },
          { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
        ],
        { 'kubernetes.io/bootstrapping': 'rbac-defaults' },
      ),
    ),
    enforced(clusterRoleBinding(ADDON, 'system:coredns', 'system:coredns', [serviceAccountSubject('coredns')])),
    // Users add stub domains and rewrites to the Corefile; a pass keeps their edit.
    userEditable(configMap(ADDON, COREDNS_CONFIGMAP, KUBE_SYSTEM, { Corefile: corefile(spec) })),
    enforced(deployment(spec)),
    enforced(disruptionBudget()),
    enforced(service(spec)),
  ],
  awaits: () => ({ kind: 'Deployment', namespace: KUBE_SYSTEM, name: 'coredns', readiness: 'deploymentAvailable' }),
};
