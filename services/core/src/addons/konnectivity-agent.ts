// The node side of the konnectivity tunnel: the apiserver runs in the seed and cannot reach pod
// or node addresses, so `kubectl logs/exec/port-forward`, webhooks and aggregated APIs go through
// agents that dial out to the konnectivity server beside each apiserver replica.
import type { IDaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import type { AddonDefinition, AddonSpec } from './addon.js';
import { LINUX_NODES, enforced, meta, podLabels, requireImage, serviceAccount } from './common.js';
import { KONNECTIVITY_AGENT_NAMESPACE, KONNECTIVITY_AGENT_SERVICE_ACCOUNT, KONNECTIVITY_AUDIENCE } from '../controlplane/konnectivity.js';
import { KONNECTIVITY_SERVER_IDENTITY } from '../pki/cluster-pki.js';
import { required } from '../model/errors.js';

const ADDON = 'konnectivity-agent';
const SELECTOR = { 'k8s-app': 'konnectivity-agent' };
// The server (controlplane/konnectivity.ts) accepts only this ServiceAccount's tokens for its audience.
export { KONNECTIVITY_AGENT_SERVICE_ACCOUNT, KONNECTIVITY_AUDIENCE };
/**
 * The identity the konnectivity server presents to the tenant apiserver to review agent tokens;
 * its `system:auth-delegator` binding is a tenant bootstrap object (bootstrap/tenant-objects.ts).
 */
export const KONNECTIVITY_SERVER_USER = KONNECTIVITY_SERVER_IDENTITY.commonName;
export const KONNECTIVITY_AGENT_HEALTH_PORT = 8093;
const ADMIN_PORT = 8094;
const TOKEN_DIR = '/var/run/secrets/tokens';
const TOKEN_FILE = 'konnectivity-agent-token';

export function konnectivityAgentArguments(spec: AddonSpec): string[] {
  const server = required(spec.konnectivity, 'konnectivity server of an enabled agent');
  return [
    '--logtostderr=true',
    // The projected service-account CA is the cluster CA, which signs the server's certificate.
    '--ca-cert=/var/run/secrets/kubernetes.io/serviceaccount/ca.crt',
    `--proxy-server-host=${server.host}`,
    `--proxy-server-port=${server.port}`,
    `--admin-server-port=${ADMIN_PORT}`,
    `--health-server-port=${KONNECTIVITY_AGENT_HEALTH_PORT}`,
    `--service-account-token-path=${TOKEN_DIR}/${TOKEN_FILE}`,
    // A node's own address goes to the agent on that node (the server's destHost strategy): nodes
    // behind different NATs need not reach each other. Anything else (pod and Service addresses of
    // webhooks and aggregated APIs) goes to any agent (defaultRoute).
    '--agent-identifiers=ipv4=$(HOST_IP)&default-route=true',
  ];
}

function daemonSet(spec: AddonSpec): IDaemonSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: meta(ADDON, 'konnectivity-agent', KONNECTIVITY_AGENT_NAMESPACE, SELECTOR),
    spec: {
      selector: { matchLabels: { ...SELECTOR } },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '10%' } },
      template: {
        metadata: { labels: podLabels(ADDON, SELECTOR) },
        spec: {
          priorityClassName: 'system-cluster-critical',
          serviceAccountName: KONNECTIVITY_AGENT_SERVICE_ACCOUNT,
          nodeSelector: { ...LINUX_NODES },
          // Every node, tainted or not, must stay reachable for logs and exec.
          tolerations: [{ operator: 'Exists' }],
          containers: [
            {
              name: 'konnectivity-agent',
              image: requireImage(spec, 'konnectivityAgent'),
              imagePullPolicy: 'IfNotPresent',
              command: ['/proxy-agent'],
              args: konnectivityAgentArguments(spec),
              env: [{ name: 'HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } }],
              resources: { requests: { cpu: '10m', memory: '30Mi' }, limits: { memory: '128Mi' } },
              ports: [{ name: 'health', containerPort: KONNECTIVITY_AGENT_HEALTH_PORT, protocol: 'TCP' }],
              livenessProbe: {
                httpGet: { path: '/healthz', port: KONNECTIVITY_AGENT_HEALTH_PORT, scheme: 'HTTP' },
                initialDelaySeconds: 15,
                timeoutSeconds: 15,
              },
              // Ready once connected to a server: the rollout the worker awaits means the tunnel is up.
              readinessProbe: { httpGet: { path: '/readyz', port: KONNECTIVITY_AGENT_HEALTH_PORT, scheme: 'HTTP' }, periodSeconds: 10, timeoutSeconds: 5 },
              securityContext: {
                allowPrivilegeEscalation: false,
                capabilities: { drop: ['ALL'] },
                readOnlyRootFilesystem: true,
                runAsNonRoot: true,
                runAsUser: 65534,
                seccompProfile: { type: 'RuntimeDefault' },
              },
              volumeMounts: [{ name: TOKEN_FILE, mountPath: TOKEN_DIR, readOnly: true }],
            },
          ],
          volumes: [
            {
              name: TOKEN_FILE,
              projected: { sources: [{ serviceAccountToken: { path: TOKEN_FILE, audience: KONNECTIVITY_AUDIENCE, expirationSeconds: 3600 } }] },
            },
          ],
        },
      },
    },
  };
}

export const konnectivityAgent: AddonDefinition = {
  name: ADDON,
  // Every control plane runs a konnectivity server (controlplane/konnectivity.ts).
  enabled: () => true,
  // Nothing until the seed says where agents reach the server: an agent without it would crash-loop.
  objects: (spec) =>
    spec.konnectivity === undefined
      ? []
      : [serviceAccount(ADDON, KONNECTIVITY_AGENT_SERVICE_ACCOUNT, KONNECTIVITY_AGENT_NAMESPACE), daemonSet(spec)].map(enforced),
  awaits: (spec) =>
    spec.konnectivity === undefined
      ? { readiness: 'unmet', reason: 'WaitingForTunnelEndpoint', message: 'the seed has not exposed the konnectivity server to the nodes yet' }
      : { kind: 'DaemonSet', namespace: KONNECTIVITY_AGENT_NAMESPACE, name: 'konnectivity-agent', readiness: 'daemonSetRolledOut' },
};
