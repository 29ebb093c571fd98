// The shape of one tenant add-on and of one step of the add-on sequence, the tenant-side twin
// of controlplane/component.ts. An add-on is a pure builder: the cluster's settings in, the
// objects to server-side apply into the user cluster out. The worker applies the steps in
// order, reports each step's condition (NetworkReady, DNSReady, TunnelReady, ...) and knows no
// add-on by name.
import type { KubernetesVersion } from '../versions.js';

/** The network plugins a cluster can be created with; `none` means the user brings one. */
export const CNI_PLUGINS = ['cilium', 'flannel', 'none'] as const;
export type CniPlugin = (typeof CNI_PLUGINS)[number];

/**
 * Cilium: its kube-proxy replacement spares a DaemonSet per node, it runs on any cloud network
 * (VXLAN), and it is what the peers default to for hosted control planes.
 */
export const DEFAULT_CNI: CniPlugin = 'cilium';

export function isCniPlugin(value: string): value is CniPlugin {
  return (CNI_PLUGINS as readonly string[]).includes(value);
}

/** What the user chose at create time (stored with the cluster). */
export interface AddonSelection {
  cni: CniPlugin;
  metricsServer: boolean;
}

/** The input of every add-on builder, resolved from the cluster's record. */
export interface AddonSpec {
  clusterId: string;
  version: KubernetesVersion;
  podCidr: string;
  serviceCidr: string;
  /** The tenth address of the service range, which the kubelet configuration announces. */
  clusterDnsIp: string;
  /** The tenant cluster domain, e.g. `cluster.local`. */
  dnsDomain: string;
  /** The pod network MTU; undefined lets the plugin derive it from the node's interface. */
  mtu: number | undefined;
  /**
   * Where node-side agents reach the apiserver before any Service works (no kube-proxy yet):
   * the cluster's external endpoint, as kubeadm's kube-proxy kubeconfig does.
   */
  apiserver: { host: string; port: number };
  /**
   * Where the tunnel agents dial the konnectivity server beside each apiserver replica (through
   * the cluster's endpoint strategy); undefined while the seed has not exposed it yet (no agent
   * is installed then, and the tunnel step waits).
   */
  konnectivity: { host: string; port: number } | undefined;
  selection: AddonSelection;
}

/** Any object an add-on applies into the user cluster. */
export interface TenantManifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/**
 * How the worker applies an object:
 * - `enforced`: server-side apply with force; a user's change is overwritten on the next pass;
 * - `userEditable`: server-side apply without force; fields another field manager took over
 *   (a user's `kubectl edit` of the CoreDNS Corefile) stay the user's, the rest is enforced,
 *   and a deleted object is created again.
 */
export type OwnershipPolicy = 'enforced' | 'userEditable';

export interface AddonObject {
  manifest: TenantManifest;
  ownership: OwnershipPolicy;
}

/**
 * How the worker reads an add-on's readiness in the user cluster:
 * - `daemonSetRolledOut`: every eligible node runs the current template, available (and there
 *   is at least one node);
 * - `deploymentAvailable`: the Deployment's `Available` condition;
 * - `nodesNetworkReady`: the Nodes themselves say their network is ready (no kubelet reports
 *   NetworkPluginNotReady), for a plugin the user installs and we cannot name;
 * - `unmet`: not ready without reading anything, because something the add-on needs from
 *   outside the user cluster is not known yet (its reason and message say what).
 */
export type AddonReadinessKind = 'daemonSetRolledOut' | 'deploymentAvailable' | 'nodesNetworkReady' | 'unmet';

export type AddonAwait =
  | { readiness: 'daemonSetRolledOut' | 'deploymentAvailable'; kind: 'DaemonSet' | 'Deployment'; namespace: string; name: string }
  | { readiness: 'nodesNetworkReady'; /** What the nodes wait for, for the condition's message. */ waitingFor: string }
  | { readiness: 'unmet'; reason: string; message: string };

export interface AddonDefinition {
  /** Stable id, also the `app.kubernetes.io/name` of its objects, e.g. `coredns`. */
  name: string;
  /** Whether the cluster runs it (e.g. kube-proxy not with cilium's replacement). */
  enabled(spec: AddonSpec): boolean;
  objects(spec: AddonSpec): AddonObject[];
  /** What says it is healthy; without it the add-on is applied and not waited on. */
  awaits?(spec: AddonSpec): AddonAwait;
}

/** One step of the add-on sequence: applied, then awaited, before the next. */
export interface AddonStep {
  /** The worker's events say `Applied<Name>Addons`, e.g. `AppliedNetworkAddons`. */
  name: string;
  /** The cluster condition that reports the step, e.g. `NetworkReady`. */
  condition: string;
  addons: readonly AddonDefinition[];
}
