// Default-deny for the control-plane namespace plus exactly the flows the components need.
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { INetworkPolicyPort } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyPort';
import type { INetworkPolicyPeer } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyPeer';
import { metadata, selectorLabels, type ComponentName } from './common.js';
import { APISERVER_PORT, ETCD_CLIENT_PORT, ETCD_PEER_PORT, type ResolvedSpec } from './spec.js';

function policy(spec: ResolvedSpec, name: string, body: INetworkPolicy['spec']): INetworkPolicy {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: metadata(spec, name), spec: body };
}

function pods(spec: ResolvedSpec, component: ComponentName): INetworkPolicyPeer {
  return { podSelector: { matchLabels: selectorLabels(spec, component) } };
}

const tcp = (port: number): INetworkPolicyPort => ({ protocol: 'TCP', port });

export function buildNetworkPolicies(spec: ResolvedSpec): INetworkPolicy[] {
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
    // Users and worker nodes connect from anywhere, through the external Service.
    policy(spec, 'apiserver-ingress', {
      podSelector: pods(spec, 'kube-apiserver').podSelector ?? {},
      policyTypes: ['Ingress'],
      ingress: [{ ports: [tcp(APISERVER_PORT)] }],
    }),
    policy(spec, 'apiserver-egress', {
      podSelector: pods(spec, 'kube-apiserver').podSelector ?? {},
      policyTypes: ['Egress'],
      egress: [
        // Named separately: CNIs need not match in-cluster pod IPs by the ipBlock below.
        { to: [pods(spec, 'etcd')], ports: [tcp(ETCD_CLIENT_PORT)] },
        // Kubelets (logs, exec), admission webhooks and aggregated APIs live outside the seed.
        { to: [{ ipBlock: { cidr: '0.0.0.0/0' } }] },
      ],
    }),
    policy(spec, 'etcd', {
      podSelector: pods(spec, 'etcd').podSelector ?? {},
      policyTypes: ['Ingress', 'Egress'],
      ingress: [
        { from: [pods(spec, 'kube-apiserver')], ports: [tcp(ETCD_CLIENT_PORT)] },
        { from: [pods(spec, 'etcd')], ports: [tcp(ETCD_CLIENT_PORT), tcp(ETCD_PEER_PORT)] },
      ],
      egress: [{ to: [pods(spec, 'etcd')], ports: [tcp(ETCD_CLIENT_PORT), tcp(ETCD_PEER_PORT)] }],
    }),
    policy(spec, 'controller-manager-egress', {
      podSelector: pods(spec, 'kube-controller-manager').podSelector ?? {},
      policyTypes: ['Egress'],
      egress: [{ to: [pods(spec, 'kube-apiserver')], ports: [tcp(APISERVER_PORT)] }],
    }),
    policy(spec, 'scheduler-egress', {
      podSelector: pods(spec, 'kube-scheduler').podSelector ?? {},
      policyTypes: ['Egress'],
      egress: [{ to: [pods(spec, 'kube-apiserver')], ports: [tcp(APISERVER_PORT)] }],
    }),
  ];
}
