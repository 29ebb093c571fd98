// The input of the control-plane builders and its resolved form with every default applied.
import { parseIpv4 } from '../model/cidr.js';
import { findVersion, type KubernetesVersion } from '../versions.js';
import { DomainError } from '../model/errors.js';

export interface ControlPlaneSpec {
  /** DNS-label id; the control plane lives in seed namespace `cluster-<id>`. */
  clusterId: string;
  /** Human-facing name, used in kubeconfig names. */
  clusterName: string;
  /** A version from SUPPORTED_VERSIONS, e.g. "1.36.3". */
  version: string;
  serviceCidr: string;
  podCidr: string;
  expose: { strategy: 'NodePort'; nodePort?: number } | { strategy: 'LoadBalancer' };
  /**
   * Where users and nodes reach the apiserver: the LoadBalancer address or a seed node
   * address with the NodePort. `host` is a hostname or an IPv4 address.
   */
  endpoint: { host: string; port: number };
  etcd?: { members?: 1 | 3; storageSize?: string; storageClassName?: string };
  apiserverReplicas?: number;
  tenantDnsDomain?: string;
  seedDnsDomain?: string;
}

export interface ResolvedSpec {
  clusterId: string;
  clusterName: string;
  namespace: string;
  version: KubernetesVersion;
  serviceCidr: string;
  podCidr: string;
  expose: ControlPlaneSpec['expose'];
  endpoint: { host: string; port: number };
  etcdMembers: 1 | 3;
  etcdStorageSize: string;
  etcdStorageClassName: string | undefined;
  apiserverReplicas: number;
  tenantDnsDomain: string;
  seedDnsDomain: string;
}

export const APISERVER_PORT = 6443;
export const CONTROLLER_MANAGER_PORT = 10257;
export const SCHEDULER_PORT = 10259;
export const ETCD_CLIENT_PORT = 2379;
export const ETCD_PEER_PORT = 2380;
export const ETCD_METRICS_PORT = 2381;

export function isIpv4(value: string): boolean {
  return parseIpv4(value) !== undefined;
}

/**
 * Whether the apiserver accepts the address as an endpoint: Endpoints and EndpointSlices refuse
 * unspecified, loopback, link-local and link-local multicast addresses (its
 * ValidateNonSpecialIP: "may not be in the loopback range (127.0.0.0/8)" and so on).
 */
export function isEndpointAddress(value: string): boolean {
  if (!isIpv4(value)) return false;
  const [a, b, c] = value.split('.').map(Number) as [number, number, number, number];
  if (a === 0 || a === 127) return false;
  if (a === 169 && b === 254) return false;
  if (a === 224 && b === 0 && c === 0) return false;
  return true;
}

export function namespaceFor(clusterId: string): string {
  return `cluster-${clusterId}`;
}

export function resolveSpec(spec: ControlPlaneSpec): ResolvedSpec {
  const version = findVersion(spec.version);
  if (!version) throw new DomainError('precondition', 'version_unsupported', `Kubernetes ${spec.version} is not a supported version`);
  const etcdMembers = spec.etcd?.members ?? 3;
  if (etcdMembers !== 1 && etcdMembers !== 3) throw new DomainError('precondition', 'etcd_members_unsupported', 'etcd runs with 1 or 3 members');
  return {
    clusterId: spec.clusterId,
    clusterName: spec.clusterName,
    namespace: namespaceFor(spec.clusterId),
    version,
    serviceCidr: spec.serviceCidr,
    podCidr: spec.podCidr,
    expose: spec.expose,
    endpoint: spec.endpoint,
    etcdMembers,
    etcdStorageSize: spec.etcd?.storageSize ?? '2Gi',
    etcdStorageClassName: spec.etcd?.storageClassName,
    apiserverReplicas: spec.apiserverReplicas ?? 2,
    tenantDnsDomain: spec.tenantDnsDomain ?? 'cluster.local',
    seedDnsDomain: spec.seedDnsDomain ?? 'cluster.local',
  };
}

export function externalServerUrl(spec: ResolvedSpec): string {
  return `https://${spec.endpoint.host}:${spec.endpoint.port}`;
}

/** The in-seed address the controller-manager and scheduler use. */
export function internalServerUrl(spec: ResolvedSpec): string {
  return `https://apiserver.${spec.namespace}.svc.${spec.seedDnsDomain}:${APISERVER_PORT}`;
}

export function etcdMemberUrl(spec: ResolvedSpec, member: number, port: number): string {
  return `https://etcd-${member}.etcd.${spec.namespace}.svc.${spec.seedDnsDomain}:${port}`;
}
