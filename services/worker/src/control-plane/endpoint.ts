// From a cluster row and its exposing Service to the endpoint users and nodes reach the
// apiserver at, and to the control-plane spec that follows from both.
import type { KubernetesObject } from '@kubernetes/client-node';
import { isCniPlugin, resolveAddonSpec, type AddonSpec } from '../../../core/src/addons/index.js';
import { KONNECTIVITY_SERVICE_PORT, type ControlPlaneSpec } from '../../../core/src/controlplane/index.js';
import { required } from '../../../core/src/index.js';
import type { ClusterRow } from '../../../db/src/index.js';

export interface Endpoint {
  host: string;
  port: number;
}

export function controlPlaneSpecOf(cluster: ClusterRow, endpoint: Endpoint): ControlPlaneSpec {
  return {
    clusterId: cluster.id,
    clusterName: cluster.name,
    version: cluster.version,
    serviceCidr: cluster.service_cidr,
    podCidr: cluster.pod_cidr,
    expose:
      cluster.expose_strategy === 'NodePort'
        ? { strategy: 'NodePort', ...(cluster.endpoint ? { nodePort: endpoint.port } : {}) }
        : { strategy: 'LoadBalancer' },
    endpoint,
    etcd: { members: cluster.etcd_replicas === 1 ? 1 : 3 },
  };
}

/**
 * The add-ons' input: the cluster's network settings and choices, where node agents reach the
 * apiserver and, once the seed exposes it, the konnectivity server.
 */
export function addonSpecOf(cluster: ClusterRow, endpoint: Endpoint, tunnel: Endpoint | undefined): AddonSpec {
  const cni = cluster.cni;
  return resolveAddonSpec({
    clusterId: cluster.id,
    version: cluster.version,
    podCidr: cluster.pod_cidr,
    serviceCidr: cluster.service_cidr,
    ...(cluster.network_mtu === null ? {} : { mtu: cluster.network_mtu }),
    apiserver: endpoint,
    konnectivity: tunnel,
    selection: {
      cni: required(isCniPlugin(cni) ? cni : undefined, `network plugin of cluster ${cluster.id}`),
      metricsServer: cluster.addons.metricsServer ?? false,
    },
  });
}

export function parseEndpoint(endpoint: string | null): Endpoint | undefined {
  if (!endpoint) return undefined;
  const url = new URL(endpoint);
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port) };
}

type ExposingService = KubernetesObject & {
  spec?: { type?: string; ports?: Array<{ name?: string; port?: number; nodePort?: number }> };
};

/**
 * Where the tunnel agents reach the konnectivity servers: the apiserver's endpoint host (the
 * load balancer's address, or the seed node) with the exposing Service's `konnectivity` port
 * (its node port under NodePort). Undefined while the Service has no such port allocated.
 */
export function tunnelEndpointOf(service: KubernetesObject, endpoint: Endpoint): Endpoint | undefined {
  const typed = service as ExposingService;
  const port = typed.spec?.ports?.find((candidate) => candidate.name === KONNECTIVITY_SERVICE_PORT);
  const number = typed.spec?.type === 'LoadBalancer' ? port?.port : port?.nodePort;
  return number ? { host: endpoint.host, port: number } : undefined;
}

/** The endpoint the exposing Service offers, or undefined while the seed has not assigned one. */
export function endpointOf(service: KubernetesObject, seedServerUrl: string): Endpoint | undefined {
  const typed = service as KubernetesObject & {
    spec?: { type?: string; ports?: Array<{ port?: number; nodePort?: number }> };
    status?: { loadBalancer?: { ingress?: Array<{ ip?: string; hostname?: string }> } };
  };
  const port = typed.spec?.ports?.[0];
  if (typed.spec?.type === 'LoadBalancer') {
    const ingress = typed.status?.loadBalancer?.ingress?.[0];
    const host = ingress?.ip ?? ingress?.hostname;
    return host && port?.port ? { host, port: port.port } : undefined;
  }
  // A NodePort answers on every seed node; the seed API's host is a node address we know
  // is reachable from here.
  if (!port?.nodePort) return undefined;
  return { host: new URL(seedServerUrl).hostname.replace(/^\[|\]$/g, ''), port: port.nodePort };
}
