// The seed side of the API-server-to-node tunnel: a konnectivity server beside each apiserver
// replica. The apiserver sends its `cluster` egress (kubelet logs/exec/proxy, Service-addressed
// webhooks and aggregated APIs) over gRPC on a unix socket the two containers share; the server
// forwards it to the agents that dialled in from the user cluster's nodes, which may sit behind
// NAT where the seed has no route. Everything the sidecar needs is built here; apiserver.ts
// only places it in its pod.
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import type { IVolume } from 'kubernetes-models/v1/Volume';
import type { IVolumeMount } from 'kubernetes-models/v1/VolumeMount';
import { stringify } from 'yaml';
import { LEAF, type ClusterPki } from '../pki/cluster-pki.js';
import { componentLabels, containerSecurity, httpProbe, metadata, podEnv, resources } from './common.js';
import { KUBECONFIG_FILE, kubeconfigSecret, leaf, secret } from './secrets.js';
import { internalServerUrl, type ResolvedSpec } from './spec.js';

/** Where agents connect (TLS, token-authenticated); the external Service exposes it. */
export const KONNECTIVITY_AGENT_PORT = 8132;
export const KONNECTIVITY_ADMIN_PORT = 8133;
/** Plain HTTP `/healthz` (the server runs) and `/readyz` (an agent is connected). */
export const KONNECTIVITY_HEALTH_PORT = 8134;
export const KONNECTIVITY_CONTAINER = 'konnectivity-server';

/** Shared by both containers (an emptyDir): the apiserver dials the socket the server creates. */
export const KONNECTIVITY_SOCKET_DIR = '/etc/kubernetes/konnectivity-server';
export const KONNECTIVITY_SOCKET = `${KONNECTIVITY_SOCKET_DIR}/konnectivity-server.socket`;
export const KONNECTIVITY_PKI_DIR = '/etc/kubernetes/konnectivity/pki';
export const KONNECTIVITY_KUBECONFIG_DIR = '/etc/kubernetes/konnectivity/kubeconfig';
export const EGRESS_CONFIG_DIR = '/etc/kubernetes/egress';
export const EGRESS_CONFIG_FILE = 'egress-selector-configuration.yaml';
export const EGRESS_CONFIG_PATH = `${EGRESS_CONFIG_DIR}/${EGRESS_CONFIG_FILE}`;

export const KONNECTIVITY_SECRET = {
  certs: 'konnectivity-server-certs',
  kubeconfig: 'konnectivity-server-kubeconfig',
} as const;
export const EGRESS_CONFIG_MAP = 'apiserver-egress-selector';

const AGENT_PORT_CERT = 'agent-port.crt';
const AGENT_PORT_KEY = 'agent-port.key';

/** Must match the agent add-on (addons/konnectivity-agent.ts): who may connect, with which token. */
export const KONNECTIVITY_AGENT_NAMESPACE = 'kube-system';
export const KONNECTIVITY_AGENT_SERVICE_ACCOUNT = 'konnectivity-agent';
export const KONNECTIVITY_AUDIENCE = 'system:konnectivity-server';

const VOLUME = { socket: 'konnectivity-socket', certs: 'konnectivity-certs', kubeconfig: 'konnectivity-kubeconfig', egress: 'egress-selector' } as const;

export function konnectivityServerArguments(spec: ResolvedSpec): string[] {
  return [
    `--uds-name=${KONNECTIVITY_SOCKET}`,
    // A socket file left by a restarted container would make the bind fail.
    '--delete-existing-uds-file=true',
    '--mode=grpc',
    // Over a unix socket the server takes no frontend TCP port.
    '--server-port=0',
    `--agent-port=${KONNECTIVITY_AGENT_PORT}`,
    // Bound to the pod IP like the apiserver: in the sandbox every replica shares one network namespace.
    '--agent-bind-address=$(POD_IP)',
    `--cluster-cert=${KONNECTIVITY_PKI_DIR}/${AGENT_PORT_CERT}`,
    `--cluster-key=${KONNECTIVITY_PKI_DIR}/${AGENT_PORT_KEY}`,
    `--admin-port=${KONNECTIVITY_ADMIN_PORT}`,
    '--admin-bind-address=$(POD_IP)',
    `--health-port=${KONNECTIVITY_HEALTH_PORT}`,
    '--health-bind-address=$(POD_IP)',
    `--agent-namespace=${KONNECTIVITY_AGENT_NAMESPACE}`,
    `--agent-service-account=${KONNECTIVITY_AGENT_SERVICE_ACCOUNT}`,
    `--authentication-audience=${KONNECTIVITY_AUDIENCE}`,
    `--kubeconfig=${KONNECTIVITY_KUBECONFIG_DIR}/${KUBECONFIG_FILE}`,
    // A node's own address goes to the agent that announced it; anything else to a default-route agent.
    '--proxy-strategies=destHost,defaultRoute',
    // Agents connect through the load-balancing Service until they hold one connection per replica.
    `--server-count=${spec.apiserverReplicas}`,
    '--keepalive-time=30s',
    '--v=2',
  ];
}

/**
 * Only `cluster` egress is tunnelled: what the apiserver dials in the user cluster. Its etcd and
 * the control plane's own endpoints (URL webhooks, audit) stay direct.
 */
export function egressSelectorConfiguration(): Record<string, unknown> {
  return {
    apiVersion: 'apiserver.k8s.io/v1beta1',
    kind: 'EgressSelectorConfiguration',
    egressSelections: [
      { name: 'cluster', connection: { proxyProtocol: 'GRPC', transport: { uds: { udsName: KONNECTIVITY_SOCKET } } } },
      { name: 'controlplane', connection: { proxyProtocol: 'Direct' } },
      { name: 'etcd', connection: { proxyProtocol: 'Direct' } },
    ],
  };
}

export function buildEgressSelectorConfigMap(spec: ResolvedSpec): IConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: metadata(spec, EGRESS_CONFIG_MAP, componentLabels(spec, 'kube-apiserver')),
    data: { [EGRESS_CONFIG_FILE]: stringify(egressSelectorConfiguration()) },
  };
}

/** The agent port's serving certificate, and the kubeconfig it reviews agent tokens with (in-seed URL). */
export function buildKonnectivitySecrets(spec: ResolvedSpec, pki: ClusterPki): ISecret[] {
  return [
    secret(spec, KONNECTIVITY_SECRET.certs, {
      [AGENT_PORT_CERT]: leaf(pki, LEAF.konnectivityServer).certPem,
      [AGENT_PORT_KEY]: leaf(pki, LEAF.konnectivityServer).keyPem,
    }),
    kubeconfigSecret(spec, pki, KONNECTIVITY_SECRET.kubeconfig, 'konnectivity-server', internalServerUrl(spec), LEAF.konnectivityServerClient),
  ];
}

export function konnectivityServerContainer(spec: ResolvedSpec): IContainer {
  return {
    name: KONNECTIVITY_CONTAINER,
    image: spec.version.images.konnectivityServer,
    command: ['/proxy-server'],
    args: konnectivityServerArguments(spec),
    env: podEnv(),
    ports: [
      { name: 'konnectivity', containerPort: KONNECTIVITY_AGENT_PORT, protocol: 'TCP' },
      { name: 'konn-admin', containerPort: KONNECTIVITY_ADMIN_PORT, protocol: 'TCP' },
      { name: 'konn-health', containerPort: KONNECTIVITY_HEALTH_PORT, protocol: 'TCP' },
    ],
    resources: resources('20m', '64Mi', '1', '256Mi'),
    livenessProbe: httpProbe('/healthz', KONNECTIVITY_HEALTH_PORT, 'HTTP', { periodSeconds: 10, failureThreshold: 6, initialDelaySeconds: 10 }),
    // Not /readyz: it fails until an agent connects, and agents run on nodes that can only join
    // once this pod serves the apiserver; gating the pod on it would never let the cluster up.
    readinessProbe: httpProbe('/healthz', KONNECTIVITY_HEALTH_PORT, 'HTTP', { periodSeconds: 5, failureThreshold: 3 }),
    securityContext: containerSecurity(),
    volumeMounts: [
      { name: VOLUME.socket, mountPath: KONNECTIVITY_SOCKET_DIR },
      { name: VOLUME.certs, mountPath: KONNECTIVITY_PKI_DIR, readOnly: true },
      { name: VOLUME.kubeconfig, mountPath: KONNECTIVITY_KUBECONFIG_DIR, readOnly: true },
    ],
  };
}

/** What the apiserver container mounts to reach the server: the socket's directory and its egress configuration. */
export function apiserverKonnectivityMounts(): IVolumeMount[] {
  return [
    { name: VOLUME.socket, mountPath: KONNECTIVITY_SOCKET_DIR },
    { name: VOLUME.egress, mountPath: EGRESS_CONFIG_DIR, readOnly: true },
  ];
}

export function konnectivityVolumes(): IVolume[] {
  return [
    { name: VOLUME.socket, emptyDir: {} },
    { name: VOLUME.certs, secret: { secretName: KONNECTIVITY_SECRET.certs, defaultMode: 0o400 } },
    { name: VOLUME.kubeconfig, secret: { secretName: KONNECTIVITY_SECRET.kubeconfig, defaultMode: 0o400 } },
    { name: VOLUME.egress, configMap: { name: EGRESS_CONFIG_MAP } },
  ];
}
