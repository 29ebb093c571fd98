import { X509Certificate } from 'node:crypto';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import type { IClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import type { IRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import type { IRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import {
  BOOTSTRAPPERS_GROUP,
  buildKubernetesServiceEndpoints,
  buildTenantBootstrapObjects,
  clusterDnsIp,
  type TenantObject,
} from '../../../services/core/src/bootstrap/tenant-objects.js';
import { VIEWER_IDENTITY, type ClusterPki } from '../../../services/core/src/pki/index.js';
import { referencePki, referenceSpec } from './reference.js';

function find<K extends TenantObject['kind']>(objects: TenantObject[], kind: K, name: string, namespace?: string): Extract<TenantObject, { kind: K }> {
  const found = objects.find((object) => object.kind === kind && object.metadata?.name === name && object.metadata?.namespace === namespace);
  if (!found) throw new Error(`${kind} ${namespace ?? ''}/${name} not built`);
  return found as Extract<TenantObject, { kind: K }>;
}

/** A tiny RBAC evaluator over the built objects: can `subject` do `verb` on a named ConfigMap/resource? */
function allowed(
  objects: TenantObject[],
  subject: { user?: string; groups: string[] },
  request: { verb: string; resource: string; namespace?: string; name: string },
): boolean {
  const bindings = objects.filter(
    (object): object is IRoleBinding | IClusterRoleBinding => object.kind === 'RoleBinding' || object.kind === 'ClusterRoleBinding',
  );
  return bindings.some((binding) => {
    if (binding.kind === 'RoleBinding' && binding.metadata?.namespace !== request.namespace) return false;
    const bound = (binding.subjects ?? []).some(
      (candidate) => (candidate.kind === 'User' && candidate.name === subject.user) || (candidate.kind === 'Group' && subject.groups.includes(candidate.name)),
    );
    if (!bound) return false;
    const role = objects.find(
      (object): object is IRole =>
        (object.kind === 'Role' || object.kind === 'ClusterRole') &&
        object.kind === binding.roleRef.kind &&
        object.metadata?.name === binding.roleRef.name &&
        (object.kind === 'ClusterRole' || object.metadata?.namespace === binding.metadata?.namespace),
    );
    return (role?.rules ?? []).some(
      (rule) =>
        rule.verbs.includes(request.verb) &&
        (rule.resources ?? []).includes(request.resource) &&
        (!rule.resourceNames || rule.resourceNames.includes(request.name)),
    );
  });
}

describe('tenant bootstrap objects for kubeadm join', () => {
  let pki: ClusterPki;
  let objects: TenantObject[];
  beforeAll(async () => {
    pki = await referencePki();
    objects = buildTenantBootstrapObjects(referenceSpec('LoadBalancer'), pki.ca.cluster.certPem);
  });

  it('publishes cluster-info with the server and CA and no user', () => {
    const clusterInfo = find(objects, 'ConfigMap', 'cluster-info', 'kube-public');
    const kubeconfig = parse(clusterInfo.data?.kubeconfig ?? '') as {
      clusters: Array<{ name: string; cluster: { server: string; 'certificate-authority-data': string } }>;
      users: unknown[];
      contexts: unknown[];
      'current-context': string;
    };
    expect(kubeconfig.clusters).toHaveLength(1);
    // kubeadm's discovery reads the unnamed cluster, or the current context's: with a named
    // cluster and no context, real `kubeadm join` dies in discovery.
    expect(kubeconfig.clusters[0].name).toBe('');
    expect(kubeconfig.contexts).toEqual([]);
    expect(kubeconfig.clusters[0].cluster.server).toBe('https://k7x2m9.seed-1.harbormaster.example:6443');
    const ca = new X509Certificate(Buffer.from(kubeconfig.clusters[0].cluster['certificate-authority-data'], 'base64'));
    expect(ca.fingerprint256).toBe(new X509Certificate(pki.ca.cluster.certPem).fingerprint256);
    expect(kubeconfig.users).toEqual([]);
  });

  it('lets anonymous read cluster-info and nothing else', () => {
    const anonymous = { user: 'system:anonymous', groups: ['system:unauthenticated'] };
    expect(allowed(objects, anonymous, { verb: 'get', resource: 'configmaps', namespace: 'kube-public', name: 'cluster-info' })).toBe(true);
    expect(allowed(objects, anonymous, { verb: 'list', resource: 'configmaps', namespace: 'kube-public', name: 'cluster-info' })).toBe(false);
    expect(allowed(objects, anonymous, { verb: 'get', resource: 'configmaps', namespace: 'kube-public', name: 'other' })).toBe(false);
    expect(allowed(objects, anonymous, { verb: 'get', resource: 'configmaps', namespace: 'kube-system', name: 'kubeadm-config' })).toBe(false);
  });

  it('binds the bootstrap token group and nodes to the CSR roles', () => {
    const binding = (name: string) => find(objects, 'ClusterRoleBinding', name);
    expect(binding('kubeadm:kubelet-bootstrap').roleRef.name).toBe('system:node-bootstrapper');
    expect(binding('kubeadm:kubelet-bootstrap').subjects).toEqual([{ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: BOOTSTRAPPERS_GROUP }]);
    expect(binding('kubeadm:node-autoapprove-bootstrap').roleRef.name).toBe('system:certificates.k8s.io:certificatesigningrequests:nodeclient');
    expect(binding('kubeadm:node-autoapprove-bootstrap').subjects?.[0].name).toBe(BOOTSTRAPPERS_GROUP);
    expect(binding('kubeadm:node-autoapprove-certificate-rotation').roleRef.name).toBe('system:certificates.k8s.io:certificatesigningrequests:selfnodeclient');
    expect(binding('kubeadm:node-autoapprove-certificate-rotation').subjects?.[0].name).toBe('system:nodes');
  });

  it('lets joining nodes get nodes and read kubeadm-config and kubelet-config', () => {
    const bootstrapper = { user: 'system:bootstrap:abcdef', groups: ['system:bootstrappers', BOOTSTRAPPERS_GROUP] };
    const node = { user: 'system:node:worker-1', groups: ['system:nodes'] };
    for (const name of ['kubeadm-config', 'kubelet-config']) {
      for (const subject of [bootstrapper, node]) {
        expect(allowed(objects, subject, { verb: 'get', resource: 'configmaps', namespace: 'kube-system', name }), `${subject.user} ${name}`).toBe(true);
      }
      expect(allowed(objects, bootstrapper, { verb: 'update', resource: 'configmaps', namespace: 'kube-system', name })).toBe(false);
    }
    expect(allowed(objects, bootstrapper, { verb: 'get', resource: 'nodes', name: 'worker-1' })).toBe(true);
    expect(allowed(objects, bootstrapper, { verb: 'delete', resource: 'nodes', name: 'worker-1' })).toBe(false);
    expect(allowed(objects, bootstrapper, { verb: 'get', resource: 'configmaps', namespace: 'kube-system', name: 'extension-apiserver-authentication' })).toBe(
      false,
    );
  });

  it('uploads a ClusterConfiguration and a KubeletConfiguration matching the cluster', () => {
    const clusterConfiguration = parse(find(objects, 'ConfigMap', 'kubeadm-config', 'kube-system').data?.ClusterConfiguration ?? '') as Record<string, unknown>;
    expect(clusterConfiguration).toMatchObject({
      apiVersion: 'kubeadm.k8s.io/v1beta4',
      kind: 'ClusterConfiguration',
      kubernetesVersion: 'v1.36.3',
      controlPlaneEndpoint: 'k7x2m9.seed-1.harbormaster.example:6443',
      networking: { serviceSubnet: '10.96.0.0/12', podSubnet: '10.244.0.0/16', dnsDomain: 'cluster.local' },
    });
    const kubelet = parse(find(objects, 'ConfigMap', 'kubelet-config', 'kube-system').data?.kubelet ?? '') as Record<string, unknown>;
    expect(kubelet).toMatchObject({
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      kind: 'KubeletConfiguration',
      clusterDNS: ['10.96.0.10'],
      clusterDomain: 'cluster.local',
      authentication: { anonymous: { enabled: false }, webhook: { enabled: true } },
      authorization: { mode: 'Webhook' },
    });
    expect(clusterDnsIp('172.20.0.0/16')).toBe('172.20.0.10');
  });

  it('binds the viewer certificate group to the view ClusterRole', () => {
    const viewers = objects.filter(
      (object): object is IClusterRoleBinding =>
        object.kind === 'ClusterRoleBinding' && (object.subjects ?? []).some((subject) => VIEWER_IDENTITY.organizations.includes(subject.name)),
    );
    expect(viewers.map((binding) => binding.roleRef.name)).toEqual(['view']);
  });

  it('lets the konnectivity server review agent tokens, with one binding', () => {
    const bindings = objects.filter(
      (object): object is IClusterRoleBinding =>
        object.kind === 'ClusterRoleBinding' && (object.subjects ?? []).some((subject) => subject.name === 'system:konnectivity-server'),
    );
    expect(bindings).toHaveLength(1);
    expect(bindings[0]).toMatchObject({
      metadata: { name: 'system:konnectivity-server' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:auth-delegator' },
      subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'system:konnectivity-server' }],
    });
  });

  it('points the kubernetes Service at the external endpoint', () => {
    // The LoadBalancer reference cluster has a hostname endpoint: no addresses to publish yet.
    expect(objects.some((object) => object.kind === 'Endpoints' || object.kind === 'EndpointSlice')).toBe(false);
    const nodePortObjects = buildTenantBootstrapObjects(referenceSpec('NodePort'), pki.ca.cluster.certPem);
    const endpoints = find(nodePortObjects, 'Endpoints', 'kubernetes', 'default');
    expect(endpoints.subsets).toEqual([{ addresses: [{ ip: '192.0.2.10' }], ports: [{ name: 'https', port: 30443, protocol: 'TCP' }] }]);
    const slice = find(nodePortObjects, 'EndpointSlice', 'kubernetes', 'default');
    expect(slice.metadata?.labels?.['kubernetes.io/service-name']).toBe('kubernetes');
    expect(slice.endpoints.map((endpoint) => endpoint.addresses)).toEqual([['192.0.2.10']]);
    const resolved = buildKubernetesServiceEndpoints(referenceSpec('LoadBalancer'), ['198.51.100.7', '198.51.100.8']);
    expect(resolved[0].subsets?.[0].addresses?.map((address) => address.ip)).toEqual(['198.51.100.7', '198.51.100.8']);
    expect(resolved[1].ports?.[0].port).toBe(6443);
    expect(() => buildKubernetesServiceEndpoints(referenceSpec('LoadBalancer'), ['lb.example.com'])).toThrow(/IPv4/);
  });

  it('publishes no kubernetes Service endpoints on addresses the apiserver refuses (loopback, link-local)', () => {
    // The real kube-apiserver answers 422 "may not be in the loopback range" to such Endpoints.
    for (const host of ['127.0.0.1', '127.100.0.5', '169.254.1.1', '0.0.0.0', '224.0.0.5']) {
      const built = buildTenantBootstrapObjects(referenceSpec('NodePort', { endpoint: { host, port: 30443 } }), pki.ca.cluster.certPem);
      expect(
        built.some((object) => object.kind === 'Endpoints' || object.kind === 'EndpointSlice'),
        host,
      ).toBe(false);
      expect(() => buildKubernetesServiceEndpoints(referenceSpec('LoadBalancer'), [host]), host).toThrow(/loopback/);
    }
    const routable = buildTenantBootstrapObjects(referenceSpec('NodePort', { endpoint: { host: '10.0.0.7', port: 30443 } }), pki.ca.cluster.certPem);
    expect(routable.some((object) => object.kind === 'Endpoints')).toBe(true);
  });
});
