// metrics-server as its upstream components.yaml installs it: the resource-metrics API behind
// `kubectl top` and the HorizontalPodAutoscaler. The seed apiserver reaches it through the
// konnectivity tunnel, which is why its step comes after the tunnel's.
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IAPIService } from 'kubernetes-models/apiregistration.k8s.io/v1/APIService';
import type { IService } from 'kubernetes-models/v1/Service';
import type { AddonDefinition, AddonSpec } from './addon.js';
import {
  KUBE_SYSTEM,
  LINUX_NODES,
  clusterRole,
  clusterRoleBinding,
  enforced,
  meta,
  podLabels,
  requireImage,
  roleBinding,
  serviceAccount,
  serviceAccountSubject,
} from './common.js';

const ADDON = 'metrics-server';
const SELECTOR = { 'k8s-app': 'metrics-server' };
const SECURE_PORT = 10250;

export function metricsServerArguments(): string[] {
  return [
    '--cert-dir=/tmp',
    `--secure-port=${SECURE_PORT}`,
    '--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname',
    '--kubelet-use-node-status-port',
    '--metric-resolution=15s',
  ];
}

function deployment(spec: AddonSpec): IDeployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(ADDON, 'metrics-server', KUBE_SYSTEM, SELECTOR),
    spec: {
      selector: { matchLabels: { ...SELECTOR } },
      strategy: { rollingUpdate: { maxUnavailable: 0 } },
      template: {
        metadata: { labels: podLabels(ADDON, SELECTOR) },
        spec: {
          priorityClassName: 'system-cluster-critical',
          serviceAccountName: 'metrics-server',
          nodeSelector: { ...LINUX_NODES },
          containers: [
            {
              name: 'metrics-server',
              image: requireImage(spec, 'metricsServer'),
              imagePullPolicy: 'IfNotPresent',
              args: metricsServerArguments(),
              ports: [{ name: 'https', containerPort: SECURE_PORT, protocol: 'TCP' }],
              livenessProbe: { httpGet: { path: '/livez', port: 'https', scheme: 'HTTPS' }, periodSeconds: 10, failureThreshold: 3 },
              readinessProbe: { httpGet: { path: '/readyz', port: 'https', scheme: 'HTTPS' }, initialDelaySeconds: 20, periodSeconds: 10, failureThreshold: 3 },
              resources: { requests: { cpu: '100m', memory: '200Mi' } },
              securityContext: {
                allowPrivilegeEscalation: false,
                capabilities: { drop: ['ALL'] },
                readOnlyRootFilesystem: true,
                runAsNonRoot: true,
                runAsUser: 1000,
                seccompProfile: { type: 'RuntimeDefault' },
              },
              volumeMounts: [{ name: 'tmp-dir', mountPath: '/tmp' }],
            },
          ],
          volumes: [{ name: 'tmp-dir', emptyDir: {} }],
        },
      },
    },
  };
}

function service(): IService {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(ADDON, 'metrics-server', KUBE_SYSTEM, SELECTOR),
    spec: { selector: { ...SELECTOR }, ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 'https' }] },
  };
}

function apiService(): IAPIService {
  return {
    apiVersion: 'apiregistration.k8s.io/v1',
    kind: 'APIService',
    metadata: meta(ADDON, 'v1beta1.metrics.k8s.io', undefined, SELECTOR),
    spec: {
      group: 'metrics.k8s.io',
      version: 'v1beta1',
      groupPriorityMinimum: 100,
      versionPriority: 100,
      // As upstream: metrics-server serves a self-signed certificate it generates at start.
      insecureSkipTLSVerify: true,
      service: { name: 'metrics-server', namespace: KUBE_SYSTEM },
    },
  };
}

export const metricsServer: AddonDefinition = {
  name: ADDON,
  enabled: (spec) => spec.selection.metricsServer,
  objects: (spec) =>
    [
      serviceAccount(ADDON, 'metrics-server', KUBE_SYSTEM, SELECTOR),
      clusterRole(
        ADDON,
        'system:aggregated-metrics-reader',
        [{ apiGroups: ['metrics.k8s.io'], resources: ['pods', 'nodes'], verbs: ['get', 'list', 'watch'] }],
        {
          ...SELECTOR,
          'rbac.authorization.k8s.io/aggregate-to-admin': 'true',
          'rbac.authorization.k8s.io/aggregate-to-edit': 'true',
          'rbac.authorization.k8s.io/aggregate-to-view': 'true',
        },
      ),
      clusterRole(
        ADDON,
        'system:metrics-server',
        [
          { apiGroups: [''], resources: ['nodes/metrics'], verbs: ['get'] },
          { apiGroups: [''], resources: ['pods', 'nodes'], verbs: ['get', 'list', 'watch'] },
        ],
        SELECTOR,
      ),
      roleBinding(ADDON, 'metrics-server-auth-reader', KUBE_SYSTEM, { kind: 'Role', name: 'extension-apiserver-authentication-reader' }, [
        serviceAccountSubject('metrics-server'),
      ]),
      clusterRoleBinding(ADDON, 'metrics-server:system:auth-delegator', 'system:auth-delegator', [serviceAccountSubject('metrics-server')]),
      clusterRoleBinding(ADDON, 'system:metrics-server', 'system:metrics-server', [serviceAccountSubject('metrics-server')]),
      service(),
      deployment(spec),
      apiService(),
    ].map(enforced),
  awaits: () => ({ kind: 'Deployment', namespace: KUBE_SYSTEM, name: 'metrics-server', readiness: 'deploymentAvailable' }),
};
