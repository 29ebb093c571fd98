// Objects the tenant cluster needs before nodes can `kubeadm join` it. They mirror what
// `kubeadm init` creates in its `bootstrap-token` and `upload-config` phases, so an unmodified
// kubeadm on the node finds what it looks for.
import { stringify } from 'yaml';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IEndpoints } from 'kubernetes-models/v1/Endpoints';
import type { IEndpointSlice } from 'kubernetes-models/discovery.k8s.io/v1/EndpointSlice';
import type { IClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import type { IClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import type { IRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import type { IRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import type { ISubject } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Subject';
import { DomainError } from '../model/errors.js';
import { formatIpv4, parseCidr } from '../model/cidr.js';
import { KONNECTIVITY_SERVER_IDENTITY, VIEWER_IDENTITY } from '../pki/cluster-pki.js';
import { renderKubeconfig } from '../pki/kubeconfig.js';
import { PKI_FILE } from '../controlplane/secrets.js';
import {
  ETCD_CLIENT_PORT,
  etcdMemberUrl,
  externalServerUrl,
  isEndpointAddress,
  resolveSpec,
  type ControlPlaneSpec,
  type ResolvedSpec,
} from '../controlplane/spec.js';

export const BOOTSTRAPPERS_GROUP = 'system:bootstrappers:kubeadm:default-node-token';
export const NODES_GROUP = 'system:nodes';
export const CLUSTER_INFO_NAMESPACE = 'kube-public';
export const CLUSTER_INFO_CONFIGMAP = 'cluster-info';
export const KUBEADM_CONFIG_CONFIGMAP = 'kubeadm-config';
export const KUBELET_CONFIG_CONFIGMAP = 'kubelet-config';
export const NODE_CLIENT_CLUSTER_ROLE = 'system:certificates.k8s.io:certificatesigningrequests:nodeclient';
/**
 * The read-only kubeconfig's role: the built-in `view`, which the tenant's controller manager
 * fills by aggregation (so it also covers the user's own CRDs labelled aggregate-to-view).
 */
export const VIEWER_CLUSTER_ROLE = 'view';
export const SELF_NODE_CLIENT_CLUSTER_ROLE = 'system:certificates.k8s.io:certificatesigningrequests:selfnodeclient';
/** TokenReview, which the konnectivity server beside each apiserver replica needs for agent tokens. */
export const KONNECTIVITY_SERVER_CLUSTER_ROLE = 'system:auth-delegator';

// eslint-disable-next-line @typescript-eslint/no-deprecated -- v1 Endpoints is written deliberately (apiserver runs --endpoint-reconciler-type=none; older kube-proxy versions read it alongside the EndpointSlice)
export type TenantObject = IConfigMap | IRole | IRoleBinding | IClusterRole | IClusterRoleBinding | IEndpoints | IEndpointSlice;

const RBAC_API = 'rbac.authorization.k8s.io';
const MANAGED = { 'app.kubernetes.io/managed-by': 'harbormaster' };

const group = (name: string): ISubject => ({ kind: 'Group', apiGroup: RBAC_API, name });
const user = (name: string): ISubject => ({ kind: 'User', apiGroup: RBAC_API, name });

function clusterRoleBinding(name: string, clusterRole: string, subjects: ISubject[]): IClusterRoleBinding {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name, labels: MANAGED },
    roleRef: { apiGroup: RBAC_API, kind: 'ClusterRole', name: clusterRole },
    subjects,
  };
}

/** A Role allowing `get` on one ConfigMap, and its binding: kubeadm's pattern for every ConfigMap it publishes. */
function configMapReader(namespace: string, name: string, configMap: string, subjects: ISubject[]): [IRole, IRoleBinding] {
  return [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name, namespace, labels: MANAGED },
      rules: [{ apiGroups: [''], resources: ['configmaps'], resourceNames: [configMap], verbs: ['get'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name, namespace, labels: MANAGED },
      roleRef: { apiGroup: RBAC_API, kind: 'Role', name },
      subjects,
    },
  ];
}

function configMap(namespace: string, name: string, data: Record<string, string>): IConfigMap {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, labels: MANAGED }, data };
}

/** kubeadm gives cluster DNS the tenth address of the service range. */
export function clusterDnsIp(serviceCidr: string): string {
  const cidr = parseCidr(serviceCidr);
  // eslint-disable-next-line no-restricted-syntax -- serviceCidr is validated when the cluster is created; an unparsable one is a broken invariant
  if (!cidr) throw new Error(`service CIDR ${serviceCidr} is not an IPv4 CIDR`);
  return formatIpv4(cidr.network + 10);
}

export function clusterConfiguration(spec: ResolvedSpec): Record<string, unknown> {
  return {
    apiVersion: spec.version.kubeadmApiVersion,
    kind: 'ClusterConfiguration',
    clusterName: spec.clusterId,
    kubernetesVersion: `v${spec.version.version}`,
    controlPlaneEndpoint: `${spec.endpoint.host}:${spec.endpoint.port}`,
    certificatesDir: '/etc/kubernetes/pki',
    imageRepository: 'registry.k8s.io',
    networking: { dnsDomain: spec.tenantDnsDomain, serviceSubnet: spec.serviceCidr, podSubnet: spec.podCidr },
    // The control plane runs in the seed; etcd is external to every tenant node.
    etcd: {
      external: {
        endpoints: Array.from({ length: spec.etcdMembers }, (_, member) => etcdMemberUrl(spec, member, ETCD_CLIENT_PORT)),
        caFile: `/etc/kubernetes/pki/${PKI_FILE.etcdCa}`,
        certFile: `/etc/kubernetes/pki/${PKI_FILE.etcdClientCert}`,
        keyFile: `/etc/kubernetes/pki/${PKI_FILE.etcdClientKey}`,
      },
    },
    apiServer: {},
    controllerManager: {},
    scheduler: {},
    dns: {},
  };
}

export function kubeletConfiguration(spec: ResolvedSpec): Record<string, unknown> {
  return {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: true, cacheTTL: '0s' },
      x509: { clientCAFile: '/etc/kubernetes/pki/ca.crt' },
    },
    authorization: { mode: 'Webhook', webhook: { cacheAuthorizedTTL: '0s', cacheUnauthorizedTTL: '0s' } },
    cgroupDriver: 'systemd',
    clusterDNS: [clusterDnsIp(spec.serviceCidr)],
    clusterDomain: spec.tenantDnsDomain,
    rotateCertificates: true,
    staticPodPath: '/etc/kubernetes/manifests',
  };
}

/** The `kubeconfig` value of `kube-public/cluster-info`: server and CA, no user. */
export function clusterInfoKubeconfig(spec: ControlPlaneSpec, caCertPem: string): string {
  const resolved = resolveSpec(spec);
  return renderKubeconfig({ clusterName: resolved.clusterName, role: 'cluster-info', server: externalServerUrl(resolved), caCertPem });
}

/**
 * Endpoints for the tenant's `default/kubernetes` Service. The apiserver runs with
 * `--endpoint-reconciler-type=none` because its pod IPs are unreachable from tenant nodes, so
 * the product points the Service at the external endpoint instead. Endpoints need IPs: for a
 * hostname endpoint the caller passes the addresses it resolved.
 */
// eslint-disable-next-line @typescript-eslint/no-deprecated -- v1 Endpoints is written deliberately (apiserver runs --endpoint-reconciler-type=none; older kube-proxy versions read it alongside the EndpointSlice)
export function buildKubernetesServiceEndpoints(input: ControlPlaneSpec, addresses: readonly string[]): [IEndpoints, IEndpointSlice] {
  const spec = resolveSpec(input);
  const invalid = addresses.filter((address) => !isEndpointAddress(address));
  if (addresses.length === 0 || invalid.length > 0)
    // 'precondition', not 'validation': the worker retries it (the endpoint may resolve differently later).
    throw new DomainError(
      'precondition',
      'endpoint_addresses_invalid',
      `kubernetes Service endpoints need IPv4 addresses the apiserver accepts (not loopback or link-local), got ${addresses.join(', ') || 'none'}`,
    );
  const port = spec.endpoint.port;
  return [
    {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'kubernetes', namespace: 'default', labels: MANAGED },
      subsets: [{ addresses: addresses.map((ip) => ({ ip })), ports: [{ name: 'https', port, protocol: 'TCP' }] }],
    },
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        // The apiserver's own reconciler uses this name; keeping it avoids a second slice.
        name: 'kubernetes',
        namespace: 'default',
        labels: { ...MANAGED, 'kubernetes.io/service-name': 'kubernetes', 'endpointslice.kubernetes.io/managed-by': 'harbormaster.dev' },
      },
      addressType: 'IPv4',
      endpoints: addresses.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
      ports: [{ name: 'https', port, protocol: 'TCP' }],
    },
  ];
}

/**
 * Everything node join needs, plus the `kubernetes` Service endpoints when the external
 * endpoint is an IP (see buildKubernetesServiceEndpoints for hostname endpoints). An endpoint
 * on a loopback or link-local address (the local sandbox's) cannot be an Endpoints address, and
 * no node could reach it through the Service anyway, so the Service is left without endpoints.
 */
export function buildTenantBootstrapObjects(input: ControlPlaneSpec, caCertPem: string): TenantObject[] {
  const spec = resolveSpec(input);
  const endpoints = isEndpointAddress(spec.endpoint.host) ? buildKubernetesServiceEndpoints(input, [spec.endpoint.host]) : [];
  const joiners = [group(BOOTSTRAPPERS_GROUP), group(NODES_GROUP)];
  return [
    configMap(CLUSTER_INFO_NAMESPACE, CLUSTER_INFO_CONFIGMAP, { kubeconfig: clusterInfoKubeconfig(input, caCertPem) }),
    ...configMapReader(CLUSTER_INFO_NAMESPACE, 'kubeadm:bootstrap-signer-clusterinfo', CLUSTER_INFO_CONFIGMAP, [user('system:anonymous')]),
    clusterRoleBinding('kubeadm:kubelet-bootstrap', 'system:node-bootstrapper', [group(BOOTSTRAPPERS_GROUP)]),
    clusterRoleBinding('kubeadm:node-autoapprove-bootstrap', NODE_CLIENT_CLUSTER_ROLE, [group(BOOTSTRAPPERS_GROUP)]),
    clusterRoleBinding('kubeadm:node-autoapprove-certificate-rotation', SELF_NODE_CLIENT_CLUSTER_ROLE, [group(NODES_GROUP)]),
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'kubeadm:get-nodes', labels: MANAGED },
      rules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['get'] }],
    },
    clusterRoleBinding('kubeadm:get-nodes', 'kubeadm:get-nodes', [group(BOOTSTRAPPERS_GROUP)]),
    configMap('kube-system', KUBEADM_CONFIG_CONFIGMAP, { ClusterConfiguration: stringify(clusterConfiguration(spec)) }),
    ...configMapReader('kube-system', 'kubeadm:nodes-kubeadm-config', KUBEADM_CONFIG_CONFIGMAP, joiners),
    configMap('kube-system', KUBELET_CONFIG_CONFIGMAP, { kubelet: stringify(kubeletConfiguration(spec)) }),
    ...configMapReader('kube-system', 'kubeadm:kubelet-config', KUBELET_CONFIG_CONFIGMAP, joiners),
    // The viewer kubeconfig's certificate carries this group.
    clusterRoleBinding('harbormaster:viewers', VIEWER_CLUSTER_ROLE, VIEWER_IDENTITY.organizations.map(group)),
    // Every control plane runs a konnectivity server, whether or not agents have connected yet.
    clusterRoleBinding(KONNECTIVITY_SERVER_IDENTITY.commonName, KONNECTIVITY_SERVER_CLUSTER_ROLE, [user(KONNECTIVITY_SERVER_IDENTITY.commonName)]),
    ...endpoints,
  ];
}
