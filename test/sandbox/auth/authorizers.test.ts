import { describe, expect, it } from 'vitest';
import type { KubeObject, RequestAttributes, UserInfo } from '../../../services/sandbox/src/kubesim/contracts.js';
import { authorizeRequest, buildAuthorizers, defaultRbacObjects } from '../../../services/sandbox/src/kubesim/auth/index.js';
import { MemoryReader } from './memory-reader.js';
import { authConfig } from './config.js';

const RBAC = 'rbac.authorization.k8s.io';

function resourceOf(object: KubeObject): string {
  return { ClusterRole: 'clusterroles', ClusterRoleBinding: 'clusterrolebindings', Role: 'roles', RoleBinding: 'rolebindings' }[object.kind] ?? 'unknown';
}

function seededReader(extra: KubeObject[] = []): MemoryReader {
  const reader = new MemoryReader();
  for (const object of [...defaultRbacObjects(), ...extra]) reader.put(RBAC, resourceOf(object), object);
  return reader;
}

function attrs(user: UserInfo, partial: Partial<RequestAttributes>): RequestAttributes {
  return {
    user,
    verb: 'get',
    resourceRequest: true,
    apiGroup: '',
    apiVersion: 'v1',
    resource: '',
    subresource: '',
    namespace: '',
    name: '',
    path: '',
    ...partial,
  };
}

const anonymous: UserInfo = { username: 'system:anonymous', groups: ['system:unauthenticated'] };
const bootstrapper: UserInfo = {
  username: 'system:bootstrap:abcdef',
  groups: ['system:bootstrappers', 'system:bootstrappers:kubeadm:default-node-token', 'system:authenticated'],
};
const alice: UserInfo = { username: 'alice', groups: ['system:authenticated'] };
const node1: UserInfo = { username: 'system:node:node-1', groups: ['system:nodes', 'system:authenticated'] };

const kubeadmObjects: KubeObject[] = [
  {
    apiVersion: `${RBAC}/v1`,
    kind: 'Role',
    metadata: { name: 'kubeadm:bootstrap-signer-clusterinfo', namespace: 'kube-public' },
    rules: [{ verbs: ['get'], apiGroups: [''], resources: ['configmaps'], resourceNames: ['cluster-info'] }],
  },
  {
    apiVersion: `${RBAC}/v1`,
    kind: 'RoleBinding',
    metadata: { name: 'kubeadm:bootstrap-signer-clusterinfo', namespace: 'kube-public' },
    roleRef: { apiGroup: RBAC, kind: 'Role', name: 'kubeadm:bootstrap-signer-clusterinfo' },
    subjects: [{ kind: 'User', name: 'system:anonymous' }],
  },
  {
    apiVersion: `${RBAC}/v1`,
    kind: 'ClusterRoleBinding',
    metadata: { name: 'kubeadm:kubelet-bootstrap' },
    roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'system:node-bootstrapper' },
    subjects: [{ kind: 'Group', name: 'system:bootstrappers:kubeadm:default-node-token' }],
  },
  {
    apiVersion: `${RBAC}/v1`,
    kind: 'ClusterRoleBinding',
    metadata: { name: 'kubeadm:node-autoapprove-bootstrap' },
    roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'system:certificates.k8s.io:certificatesigningrequests:nodeclient' },
    subjects: [{ kind: 'Group', name: 'system:bootstrappers:kubeadm:default-node-token' }],
  },
];

describe('RBAC with the bootstrap policy', () => {
  const chain = buildAuthorizers(authConfig({ authorizationModes: ['Node', 'RBAC'] }), seededReader(kubeadmObjects));
  const decide = async (attributes: RequestAttributes): Promise<string> => (await authorizeRequest(chain, attributes)).decision;

  it('lets everybody read health and version, but only authenticated users discovery', async () => {
    expect(await decide(attrs(anonymous, { resourceRequest: false, path: '/healthz' }))).toBe('allow');
    expect(await decide(attrs(anonymous, { resourceRequest: false, path: '/version' }))).toBe('allow');
    expect(await decide(attrs(anonymous, { resourceRequest: false, path: '/apis' }))).toBe('no-opinion');
    expect(await decide(attrs(alice, { resourceRequest: false, path: '/apis/apps/v1' }))).toBe('allow');
    expect(await decide(attrs(alice, { resourceRequest: false, verb: 'post', path: '/apis/apps/v1' }))).toBe('no-opinion');
  });

  it('lets anonymous get cluster-info only, by name', async () => {
    const clusterInfo = { resource: 'configmaps', namespace: 'kube-public', name: 'cluster-info' };
    expect(await decide(attrs(anonymous, clusterInfo))).toBe('allow');
    expect(await decide(attrs(anonymous, { ...clusterInfo, name: 'other' }))).toBe('no-opinion');
    expect(await decide(attrs(anonymous, { ...clusterInfo, verb: 'list', name: '' }))).toBe('no-opinion');
    expect(await decide(attrs(anonymous, { ...clusterInfo, namespace: 'kube-system' }))).toBe('no-opinion');
  });

  it('lets bootstrappers create CSRs and request node client certificates, nothing else', async () => {
    const csr = { apiGroup: 'certificates.k8s.io', apiVersion: 'v1', resource: 'certificatesigningrequests' };
    expect(await decide(attrs(bootstrapper, { ...csr, verb: 'create' }))).toBe('allow');
    expect(await decide(attrs(bootstrapper, { ...csr, verb: 'create', subresource: 'nodeclient' }))).toBe('allow');
    expect(await decide(attrs(bootstrapper, { ...csr, verb: 'create', subresource: 'selfnodeclient' }))).toBe('no-opinion');
    expect(await decide(attrs(bootstrapper, { ...csr, verb: 'delete', name: 'x' }))).toBe('no-opinion');
    expect(await decide(attrs(bootstrapper, { resource: 'secrets', namespace: 'kube-system', name: 'x' }))).toBe('no-opinion');
  });

  it('gives system:masters everything and users bound to cluster-admin everything', async () => {
    const root: UserInfo = { username: 'root', groups: ['system:masters', 'system:authenticated'] };
    expect(await decide(attrs(root, { verb: 'delete', resource: 'nodes', name: 'n' }))).toBe('allow');
    expect(await decide(attrs(root, { resourceRequest: false, verb: 'post', path: '/anything' }))).toBe('allow');
  });

  it('lets the controller manager and scheduler take their own leader-election Lease only', async () => {
    const kcm: UserInfo = { username: 'system:kube-controller-manager', groups: ['system:authenticated'] };
    const lease = { apiGroup: 'coordination.k8s.io', apiVersion: 'v1', resource: 'leases', namespace: 'kube-system' };
    expect(await decide(attrs(kcm, { ...lease, verb: 'update', name: 'kube-controller-manager' }))).toBe('allow');
    expect(await decide(attrs(kcm, { ...lease, verb: 'update', name: 'kube-scheduler' }))).toBe('no-opinion');
    expect(await decide(attrs(kcm, { verb: 'watch', apiGroup: 'apps', resource: 'deployments' }))).toBe('allow');
  });
});

describe('RBAC evaluation details', () => {
  const role = (name: string, rules: unknown[], namespace?: string, labels?: Record<string, string>): KubeObject => ({
    apiVersion: `${RBAC}/v1`,
    kind: namespace ? 'Role' : 'ClusterRole',
    metadata: { name, ...(namespace ? { namespace } : {}), ...(labels ? { labels } : {}) },
    rules,
  });
  const extra: KubeObject[] = [
    role('pod-logs', [{ verbs: ['get'], apiGroups: [''], resources: ['pods/log'] }]),
    role('any-status', [{ verbs: ['update'], apiGroups: ['*'], resources: ['*/status'] }]),
    role('metrics-reader', [{ verbs: ['get'], nonResourceURLs: ['/metrics/*'] }]),
    { ...role('monitoring', []), aggregationRule: { clusterRoleSelectors: [{ matchLabels: { 'example.com/aggregate-to-monitoring': 'true' } }] } },
    role('secrets-reader', [{ verbs: ['get'], apiGroups: [''], resources: ['secrets'] }], undefined, { 'example.com/aggregate-to-monitoring': 'true' }),
    {
      apiVersion: `${RBAC}/v1`,
      kind: 'RoleBinding',
      metadata: { name: 'ci-logs', namespace: 'ci' },
      roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'pod-logs' },
      subjects: [{ kind: 'ServiceAccount', name: 'builder' }],
    },
    {
      apiVersion: `${RBAC}/v1`,
      kind: 'ClusterRoleBinding',
      metadata: { name: 'bob-status' },
      roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'any-status' },
      subjects: [{ kind: 'User', name: 'bob' }],
    },
    {
      apiVersion: `${RBAC}/v1`,
      kind: 'ClusterRoleBinding',
      metadata: { name: 'bob-metrics' },
      roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'metrics-reader' },
      subjects: [{ kind: 'User', name: 'bob' }],
    },
    {
      apiVersion: `${RBAC}/v1`,
      kind: 'ClusterRoleBinding',
      metadata: { name: 'bob-monitoring' },
      roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'monitoring' },
      subjects: [{ kind: 'User', name: 'bob' }],
    },
  ];
  const chain = buildAuthorizers(authConfig({ authorizationModes: ['RBAC'] }), seededReader(extra));
  const decide = async (attributes: RequestAttributes): Promise<string> => (await authorizeRequest(chain, attributes)).decision;
  const builder: UserInfo = {
    username: 'system:serviceaccount:ci:builder',
    groups: ['system:serviceaccounts', 'system:serviceaccounts:ci', 'system:authenticated'],
  };
  const bob: UserInfo = { username: 'bob', groups: ['system:authenticated'] };

  it('matches resource/subresource exactly and ServiceAccount subjects in the binding namespace', async () => {
    expect(await decide(attrs(builder, { resource: 'pods', subresource: 'log', namespace: 'ci', name: 'p' }))).toBe('allow');
    expect(await decide(attrs(builder, { resource: 'pods', namespace: 'ci', name: 'p' }))).toBe('no-opinion');
    expect(await decide(attrs(builder, { resource: 'pods', subresource: 'log', namespace: 'prod', name: 'p' }))).toBe('no-opinion');
  });

  it('matches */subresource, trailing-star URLs and aggregated roles', async () => {
    expect(await decide(attrs(bob, { verb: 'update', apiGroup: 'apps', resource: 'deployments', subresource: 'status', namespace: 'x', name: 'd' }))).toBe(
      'allow',
    );
    expect(await decide(attrs(bob, { verb: 'update', apiGroup: 'apps', resource: 'deployments', namespace: 'x', name: 'd' }))).toBe('no-opinion');
    expect(await decide(attrs(bob, { resourceRequest: false, path: '/metrics/slis' }))).toBe('allow');
    expect(await decide(attrs(bob, { resourceRequest: false, path: '/metricsz' }))).toBe('no-opinion');
    expect(await decide(attrs(bob, { resource: 'secrets', namespace: 'any', name: 's' }))).toBe('allow');
  });

  it('AlwaysAllow allows and an empty chain is no-opinion', async () => {
    expect(
      (
        await authorizeRequest(
          buildAuthorizers(authConfig({ authorizationModes: ['AlwaysAllow'] }), seededReader()),
          attrs(bob, { verb: 'delete', resource: 'nodes' }),
        )
      ).decision,
    ).toBe('allow');
    expect((await authorizeRequest([], attrs(bob, { verb: 'delete', resource: 'nodes' }))).decision).toBe('no-opinion');
    expect(() => buildAuthorizers(authConfig({ authorizationModes: ['Webhook'] }), seededReader())).toThrow(/not a valid mode/);
  });
});

describe('Node authorizer', () => {
  const pod = (name: string, nodeName: string): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: {
      nodeName,
      containers: [{ name: 'c', envFrom: [{ configMapRef: { name: 'app-config' } }] }],
      volumes: [{ name: 'v', secret: { secretName: 'app-secret' } }],
    },
  });
  const reader = seededReader();
  reader.put('', 'pods', pod('mine', 'node-1'));
  reader.put('', 'pods', pod('theirs', 'node-2'));
  const chain = buildAuthorizers(authConfig({ authorizationModes: ['Node', 'RBAC'] }), reader);
  const decide = async (attributes: RequestAttributes): Promise<string> => (await authorizeRequest(chain, attributes)).decision;

  it("lets a kubelet manage its own Node, status and Lease but not another node's", async () => {
    expect(await decide(attrs(node1, { verb: 'create', resource: 'nodes' }))).toBe('allow');
    expect(await decide(attrs(node1, { verb: 'patch', resource: 'nodes', subresource: 'status', name: 'node-1' }))).toBe('allow');
    expect(await decide(attrs(node1, { verb: 'patch', resource: 'nodes', subresource: 'status', name: 'node-2' }))).toBe('no-opinion');
    const lease = { apiGroup: 'coordination.k8s.io', apiVersion: 'v1', resource: 'leases', namespace: 'kube-node-lease' };
    expect(await decide(attrs(node1, { ...lease, verb: 'update', name: 'node-1' }))).toBe('allow');
    expect(await decide(attrs(node1, { ...lease, verb: 'update', name: 'node-2' }))).toBe('no-opinion');
    expect(await decide(attrs(node1, { ...lease, verb: 'update', namespace: 'kube-system', name: 'node-1' }))).toBe('no-opinion');
  });

  it('lets a kubelet read pods bound to it and what they reference, not others', async () => {
    expect(await decide(attrs(node1, { resource: 'pods', namespace: 'default', name: 'mine' }))).toBe('allow');
    expect(await decide(attrs(node1, { resource: 'pods', namespace: 'default', name: 'theirs' }))).toBe('no-opinion');
    expect(await decide(attrs(node1, { resource: 'secrets', namespace: 'default', name: 'app-secret' }))).toBe('allow');
    expect(await decide(attrs(node1, { resource: 'configmaps', namespace: 'default', name: 'app-config' }))).toBe('allow');
    expect(await decide(attrs(node1, { resource: 'secrets', namespace: 'default', name: 'other' }))).toBe('no-opinion');
    expect(await decide(attrs(node1, { verb: 'create', apiGroup: 'certificates.k8s.io', resource: 'certificatesigningrequests' }))).toBe('allow');
    expect(await decide(attrs(node1, { verb: 'create', resource: 'events', namespace: 'default' }))).toBe('allow');
  });

  it('has no opinion about users that are not nodes', async () => {
    const impostor: UserInfo = { username: 'system:node:node-1', groups: ['system:authenticated'] };
    expect(await decide(attrs(impostor, { verb: 'patch', resource: 'nodes', subresource: 'status', name: 'node-1' }))).toBe('no-opinion');
  });
});
