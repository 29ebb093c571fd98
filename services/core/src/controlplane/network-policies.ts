// Default-deny for the control-plane namespace plus exactly the flows the components need. The
// apiserver is the hub every other component talks to, so its own policies belong to the
// namespace's frame here; each component adds the flows it needs itself (see component.ts).
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { INetworkPolicyPort } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyPort';
import type { INetworkPolicyPeer } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyPeer';
import { metadata, selectorLabels, type ComponentName } from './common.js';
import type { ComponentDefinition } from './component.js';
import { KONNECTIVITY_AGENT_PORT } from './konnectivity.js';
import { APISERVER_PORT, ETCD_CLIENT_PORT, type ResolvedSpec } from './spec.js';

export function policy(spec: ResolvedSpec, name: string, body: INetworkPolicy['spec']): INetworkPolicy {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: metadata(spec, name), spec: body };
}

export function podsOf(spec: ResolvedSpec, component: ComponentName): INetworkPolicyPeer {
  return { podSelector: { matchLabels: selectorLabels(spec, component) } };
}

export const tcp = (port: number): INetworkPolicyPort => ({ protocol: 'TCP', port });

/** The one flow a component that reaches the cluster only through the apiserver needs. */
export function egressToApiserver(spec: ResolvedSpec, name: string, component: ComponentName): INetworkPolicy {
  return policy(spec, name, {
    podSelector: podsOf(spec, component).podSelector ?? {},
    policyTypes: ['Egress'],
    egress: [{ to: [podsOf(spec, 'kube-apiserver')], ports: [tcp(APISERVER_PORT)] }],
  });
}

function framePolicies(spec: ResolvedSpec): INetworkPolicy[] {
  return [
    policy(spec, 'default-deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }),
    policy(spec, 'allow-dns', {
      podSelector: {},
      policyTypes: ['Egress'],
      egress: [
        {
          to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } } }],
          ports: [
            { protocol: 'UDP', port: 53 },
            { protocol: 'TCP', port: 53 },
          ],
        },
      ],
    }),
    // Users and worker nodes connect from anywhere, through the external Service; so do the
    // nodes' tunnel agents, to the konnectivity server in the same pods.
    policy(spec, 'apiserver-ingress', {
      podSelector: podsOf(spec, 'kube-apiserver').podSelector ?? {},
      policyTypes: ['Ingress'],
      ingress: [{ ports: [tcp(APISERVER_PORT), tcp(KONNECTIVITY_AGENT_PORT)] }],
    }),
    policy(spec, 'apiserver-egress', {
      podSelector: podsOf(spec, 'kube-apiserver').podSelector ?? {},
      policyTypes: ['Egress'],
      egress: [
        // Named separately: CNIs need not match in-cluster pod IPs by the ipBlock below.
        { to: [podsOf(spec, 'etcd')], ports: [tcp(ETCD_CLIENT_PORT)] },
        // The konnectivity server reviews agent tokens through the internal Service.
        { to: [podsOf(spec, 'kube-apiserver')], ports: [tcp(APISERVER_PORT)] },
        // Kubelets (logs, exec), admission webhooks and aggregated APIs live outside the seed.
        { to: [{ ipBlock: { cidr: '0.0.0.0/0' } }] },
      ],
    }),
  ];
}

export function buildNetworkPolicies(spec: ResolvedSpec, components: readonly ComponentDefinition[]): INetworkPolicy[] {
  return [...framePolicies(spec), ...components.flatMap((component) => component.networkPolicies?.(spec) ?? [])];
}
