// The order in which add-ons come up in a user cluster: networking first (nodes are NotReady
// until the network plugin runs, and nothing else schedules), then DNS, the tunnel (its agents
// may dial a hostname, so DNS first) and the optional add-ons that need the tunnel (the seed
// apiserver reaches an aggregated API such as metrics-server only through it). Adding an add-on
// is its builder file plus an entry here. A step whose add-ons are all disabled for a cluster is
// skipped: the worker neither applies nor awaits it, and reports its condition as not applicable.
import type { AddonStep } from './addon.js';
import { cilium } from './cilium.js';
import { coredns } from './coredns.js';
import { flannel } from './flannel.js';
import { konnectivityAgent } from './konnectivity-agent.js';
import { kubeProxy } from './kube-proxy.js';
import { metricsServer } from './metrics-server.js';
import { userNetworkPlugin } from './user-network-plugin.js';

export const ADDON_STEPS: readonly AddonStep[] = [
  { name: 'network', condition: 'NetworkReady', addons: [cilium, flannel, userNetworkPlugin, kubeProxy] },
  { name: 'dns', condition: 'DNSReady', addons: [coredns] },
  { name: 'tunnel', condition: 'TunnelReady', addons: [konnectivityAgent] },
  { name: 'metrics', condition: 'MetricsReady', addons: [metricsServer] },
];
