import type { KubeObject } from '../contracts.js';
import type { PolicyRule } from './rbac.js';

// Mirrors plugin/pkg/auth/authorizer/rbac/bootstrappolicy (policy.go, controller_policy.go,
// namespace_policy.go): the objects the rbac/bootstrap-roles poststarthook reconciles.
const RBAC_API = 'rbac.authorization.k8s.io/v1';
const READ = ['get', 'list', 'watch'];
const READ_WRITE = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'];
const BOOTSTRAP_LABELS = { 'kubernetes.io/bootstrapping': 'rbac-defaults' };
const AUTOUPDATE = { 'rbac.authorization.kubernetes.io/autoupdate': 'true' };

function rule(verbs: string[], apiGroups: string[], resources: string[], resourceNames?: string[]): PolicyRule {
  return resourceNames ? { verbs, apiGroups, resources, resourceNames } : { verbs, apiGroups, resources };
}

function urlRule(verbs: string[], nonResourceURLs: string[]): PolicyRule {
  return { verbs, nonResourceURLs };
}

function clusterRole(name: string, rules: PolicyRule[], extraLabels: Record<string, string> = {}): KubeObject {
  return {
    apiVersion: RBAC_API,
    kind: 'ClusterRole',
    metadata: { name, labels: { ...BOOTSTRAP_LABELS, ...extraLabels }, annotations: { ...AUTOUPDATE } },
    rules,
  };
}

function aggregatedClusterRole(name: string, aggregateFrom: string[], rules: PolicyRule[], extraLabels: Record<string, string> = {}): KubeObject {
  return {
    ...clusterRole(name, rules, extraLabels),
    aggregationRule: {
      clusterRoleSelectors: aggregateFrom.map((label) => ({ matchLabels: { [label]: 'true' } })),
    },
  };
}

type SubjectSpec = { kind: 'User' | 'Group'; name: string } | { kind: 'ServiceAccount'; name: string; namespace: string };

function subjectOf(spec: SubjectSpec): Record<string, string> {
  return spec.kind === 'ServiceAccount'
    ? { kind: 'ServiceAccount', name: spec.name, namespace: spec.namespace }
    : { kind: spec.kind, apiGroup: 'rbac.authorization.k8s.io', name: spec.name };
}

function clusterRoleBinding(name: string, roleName: string, subjects: SubjectSpec[]): KubeObject {
  return {
    apiVersion: RBAC_API,
    kind: 'ClusterRoleBinding',
    metadata: { name, labels: { ...BOOTSTRAP_LABELS }, annotations: { ...AUTOUPDATE } },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: roleName },
    subjects: subjects.map(subjectOf),
  };
}

function role(namespace: string, name: string, rules: PolicyRule[]): KubeObject {
  return { apiVersion: RBAC_API, kind: 'Role', metadata: { name, namespace, labels: { ...BOOTSTRAP_LABELS }, annotations: { ...AUTOUPDATE } }, rules };
}

function roleBinding(namespace: string, name: string, roleName: string, subjects: SubjectSpec[]): KubeObject {
  return {
    apiVersion: RBAC_API,
    kind: 'RoleBinding',
    metadata: { name, namespace, labels: { ...BOOTSTRAP_LABELS }, annotations: { ...AUTOUPDATE } },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: roleName },
    subjects: subjects.map(subjectOf),
  };
}

const group = (name: string): SubjectSpec => ({ kind: 'Group', name });
const user = (name: string): SubjectSpec => ({ kind: 'User', name });
const controllerAccount = (name: string): SubjectSpec => ({ kind: 'ServiceAccount', name, namespace: 'kube-system' });

/** The kubelet's static rules; the Node authorizer and the (unbound) system:node role share them. */
export function nodeRules(): PolicyRule[] {
  return [
    rule(['create'], ['authentication.k8s.io'], ['tokenreviews']),
    rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews', 'localsubjectaccessreviews']),
    rule(READ, [''], ['services']),
    rule(['create', 'get', 'list', 'watch'], [''], ['nodes']),
    rule(['update', 'patch'], [''], ['nodes/status']),
    rule(['update', 'patch'], [''], ['nodes']),
    rule(['create', 'update', 'patch'], [''], ['events']),
    rule(READ, [''], ['pods']),
    rule(['create', 'delete'], [''], ['pods']),
    rule(['update', 'patch'], [''], ['pods/status']),
    rule(['create'], [''], ['pods/eviction']),
    rule(READ, [''], ['configmaps', 'secrets']),
    rule(['get'], [''], ['persistentvolumeclaims', 'persistentvolumes']),
    rule(['get'], [''], ['endpoints']),
    rule(['create', 'get', 'list', 'watch'], ['certificates.k8s.io'], ['certificatesigningrequests']),
    rule(['get', 'create', 'update', 'patch', 'delete'], ['coordination.k8s.io'], ['leases']),
    rule(['get'], ['storage.k8s.io'], ['volumeattachments']),
    rule(['create'], [''], ['serviceaccounts/token']),
    rule(['get', 'update', 'patch'], [''], ['persistentvolumeclaims/status']),
    rule(READ, ['storage.k8s.io'], ['csidrivers']),
    rule(['create', 'delete', 'get', 'patch', 'update'], ['storage.k8s.io'], ['csinodes']),
    rule(READ, ['node.k8s.io'], ['runtimeclasses']),
  ];
}

// The aggregate-to-* roles carry the rules; admin/edit/view collect them through aggregationRule.
function aggregateToViewRules(): PolicyRule[] {
  return [
    rule(
      READ,
      [''],
      [
        'pods',
        'replicationcontrollers',
        'replicationcontrollers/scale',
        'serviceaccounts',
        'services',
        'services/status',
        'endpoints',
        'persistentvolumeclaims',
        'persistentvolumeclaims/status',
        'configmaps',
      ],
    ),
    rule(
      READ,
      [''],
      [
        'limitranges',
        'resourcequotas',
        'bindings',
        'events',
        'pods/status',
        'resourcequotas/status',
        'namespaces/status',
        'replicationcontrollers/status',
        'pods/log',
      ],
    ),
    rule(READ, [''], ['namespaces']),
    rule(READ, ['discovery.k8s.io'], ['endpointslices']),
    rule(
      READ,
      ['apps'],
      [
        'controllerrevisions',
        'statefulsets',
        'deployments',
        'replicasets',
        'daemonsets',
        'statefulsets/scale',
        'deployments/scale',
        'replicasets/scale',
        'statefulsets/status',
        'deployments/status',
        'replicasets/status',
        'daemonsets/status',
      ],
    ),
    rule(READ, ['autoscaling'], ['horizontalpodautoscalers', 'horizontalpodautoscalers/status']),
    rule(READ, ['batch'], ['jobs', 'cronjobs', 'jobs/status', 'cronjobs/status']),
    rule(READ, ['policy'], ['poddisruptionbudgets', 'poddisruptionbudgets/status']),
    rule(READ, ['networking.k8s.io'], ['networkpolicies', 'ingresses', 'ingresses/status']),
  ];
}

function aggregateToEditRules(): PolicyRule[] {
  return [
    rule(['impersonate'], [''], ['serviceaccounts']),
    rule(['create', 'delete', 'deletecollection', 'patch', 'update'], [''], ['pods', 'pods/attach', 'pods/proxy', 'pods/exec', 'pods/portforward']),
    rule(['create'], [''], ['pods/eviction']),
    rule(
      ['create', 'delete', 'deletecollection', 'patch', 'update'],
      [''],
      [
        'replicationcontrollers',
        'replicationcontrollers/scale',
        'serviceaccounts',
        'services',
        'services/proxy',
        'persistentvolumeclaims',
        'configmaps',
        'secrets',
        'events',
      ],
    ),
    rule(['create'], [''], ['serviceaccounts/token']),
    rule(READ, [''], ['secrets', 'pods/attach', 'pods/proxy', 'pods/exec', 'pods/portforward', 'services/proxy']),
    rule(
      ['create', 'delete', 'deletecollection', 'patch', 'update'],
      ['apps'],
      ['statefulsets', 'daemonsets', 'deployments', 'replicasets', 'statefulsets/scale', 'deployments/scale', 'replicasets/scale', 'deployments/rollback'],
    ),
    rule(['create', 'delete', 'deletecollection', 'patch', 'update'], ['autoscaling'], ['horizontalpodautoscalers']),
    rule(['create', 'delete', 'deletecollection', 'patch', 'update'], ['batch'], ['jobs', 'cronjobs']),
    rule(['create', 'delete', 'deletecollection', 'patch', 'update'], ['policy'], ['poddisruptionbudgets']),
    rule(['create', 'delete', 'deletecollection', 'patch', 'update'], ['networking.k8s.io'], ['networkpolicies', 'ingresses']),
    rule(READ_WRITE, ['coordination.k8s.io'], ['leases']),
  ];
}

function aggregateToAdminRules(): PolicyRule[] {
  return [
    rule(['create'], ['authorization.k8s.io'], ['localsubjectaccessreviews']),
    rule(READ_WRITE, ['rbac.authorization.k8s.io'], ['roles', 'rolebindings']),
  ];
}

function controllerRoles(): { roles: KubeObject[]; bindings: KubeObject[] } {
  const eventRule = rule(['create', 'update', 'patch'], ['', 'events.k8s.io'], ['events']);
  const definitions: Array<[string, PolicyRule[]]> = [
    [
      'certificate-controller',
      [
        rule(['delete', 'get', 'list', 'watch'], ['certificates.k8s.io'], ['certificatesigningrequests']),
        rule(['update'], ['certificates.k8s.io'], ['certificatesigningrequests/status', 'certificatesigningrequests/approval']),
        rule(['approve'], ['certificates.k8s.io'], ['signers'], ['kubernetes.io/kube-apiserver-client-kubelet']),
        rule(
          ['sign'],
          ['certificates.k8s.io'],
          ['signers'],
          [
            'kubernetes.io/legacy-unknown',
            'kubernetes.io/kube-apiserver-client',
            'kubernetes.io/kube-apiserver-client-kubelet',
            'kubernetes.io/kubelet-serving',
          ],
        ),
        rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews']),
        eventRule,
      ],
    ],
    [
      'namespace-controller',
      [
        rule(['get', 'list', 'watch', 'delete'], [''], ['namespaces']),
        rule(['update'], [''], ['namespaces/finalize', 'namespaces/status']),
        rule(['get', 'list', 'delete', 'deletecollection'], ['*'], ['*']),
      ],
    ],
    ['generic-garbage-collector', [rule(['get', 'list', 'watch', 'patch', 'update', 'delete'], ['*'], ['*']), eventRule]],
    ['service-account-controller', [rule(['create'], [''], ['serviceaccounts']), eventRule]],
    ['root-ca-cert-publisher', [rule(['create', 'update'], [''], ['configmaps']), eventRule]],
    [
      'node-controller',
      [
        rule(['get', 'list', 'update', 'delete', 'patch'], [''], ['nodes']),
        rule(['patch', 'update'], [''], ['nodes/status']),
        rule(['patch', 'update'], [''], ['pods/status']),
        rule(['list', 'delete'], [''], ['pods']),
        eventRule,
      ],
    ],
    // The workload controllers kubesim's controller manager runs (controllers/deployment.ts, …).
    [
      'deployment-controller',
      [
        rule(['get', 'list', 'watch', 'update'], ['extensions', 'apps'], ['deployments']),
        rule(['update'], ['extensions', 'apps'], ['deployments/status']),
        rule(['update'], ['extensions', 'apps'], ['deployments/finalizers']),
        rule(['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'], ['extensions', 'apps'], ['replicasets']),
        rule(['get', 'list', 'watch', 'update'], [''], ['pods']),
        eventRule,
      ],
    ],
    [
      'replicaset-controller',
      [
        rule(['get', 'list', 'watch', 'update'], ['extensions', 'apps'], ['replicasets']),
        rule(['update'], ['extensions', 'apps'], ['replicasets/status']),
        rule(['update'], ['extensions', 'apps'], ['replicasets/finalizers']),
        rule(['list', 'watch', 'patch', 'create', 'delete'], [''], ['pods']),
        eventRule,
      ],
    ],
    [
      'statefulset-controller',
      [
        rule(['list', 'watch'], [''], ['pods']),
        rule(['list', 'watch'], ['apps'], ['statefulsets']),
        rule(['update'], ['apps'], ['statefulsets/status']),
        rule(['update'], ['apps'], ['statefulsets/finalizers']),
        rule(['get', 'create', 'delete', 'update', 'patch'], [''], ['pods']),
        rule(['get', 'create', 'delete', 'update', 'patch', 'list', 'watch'], ['apps'], ['controllerrevisions']),
        rule(['get', 'create'], [''], ['persistentvolumeclaims']),
        rule(['update', 'patch'], [''], ['persistentvolumeclaims']),
        eventRule,
      ],
    ],
    [
      'daemon-set-controller',
      [
        rule(['get', 'list', 'watch'], ['extensions', 'apps'], ['daemonsets']),
        rule(['update'], ['extensions', 'apps'], ['daemonsets/status']),
        rule(['update'], ['extensions', 'apps'], ['daemonsets/finalizers']),
        rule(['list', 'watch'], [''], ['nodes']),
        rule(['list', 'watch', 'create', 'delete', 'patch'], [''], ['pods']),
        rule(['create'], [''], ['pods/binding']),
        rule(['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], ['apps'], ['controllerrevisions']),
        eventRule,
      ],
    ],
    [
      'endpoint-controller',
      [
        rule(['get', 'list', 'watch'], [''], ['services', 'pods']),
        rule(['get', 'list', 'create', 'update', 'delete'], [''], ['endpoints']),
        rule(['create'], [''], ['endpoints/restricted']),
        eventRule,
      ],
    ],
  ];
  const roles = definitions.map(([name, rules]) => clusterRole(`system:controller:${name}`, rules));
  const bindings = definitions.map(([name]) => clusterRoleBinding(`system:controller:${name}`, `system:controller:${name}`, [controllerAccount(name)]));
  return { roles, bindings };
}

/** Every object the real apiserver's rbac/bootstrap-roles poststarthook creates that kubesim models. */
export function defaultRbacObjects(): KubeObject[] {
  const viewRules = aggregateToViewRules();
  const editRules = aggregateToEditRules();
  const adminRules = aggregateToAdminRules();
  const clusterRoles: KubeObject[] = [
    clusterRole('cluster-admin', [rule(['*'], ['*'], ['*']), urlRule(['*'], ['*'])]),
    clusterRole('system:discovery', [
      urlRule(['get'], ['/api', '/api/*', '/apis', '/apis/*', '/healthz', '/livez', '/openapi', '/openapi/*', '/readyz', '/version', '/version/']),
    ]),
    clusterRole('system:basic-user', [
      rule(['create'], ['authorization.k8s.io'], ['selfsubjectaccessreviews', 'selfsubjectrulesreviews']),
      rule(['create'], ['authentication.k8s.io'], ['selfsubjectreviews']),
    ]),
    clusterRole('system:public-info-viewer', [urlRule(['get'], ['/healthz', '/livez', '/readyz', '/version', '/version/'])]),
    clusterRole('system:monitoring', [urlRule(['get'], ['/metrics', '/metrics/slis', '/livez', '/readyz', '/healthz', '/livez/*', '/readyz/*', '/healthz/*'])]),
    // Pre-filled with the aggregated rules, as the clusterrole-aggregation controller leaves them.
    aggregatedClusterRole('admin', ['rbac.authorization.k8s.io/aggregate-to-admin'], [...viewRules, ...editRules, ...adminRules]),
    aggregatedClusterRole('edit', ['rbac.authorization.k8s.io/aggregate-to-edit'], [...viewRules, ...editRules], {
      'rbac.authorization.k8s.io/aggregate-to-admin': 'true',
    }),
    aggregatedClusterRole('view', ['rbac.authorization.k8s.io/aggregate-to-view'], viewRules, { 'rbac.authorization.k8s.io/aggregate-to-edit': 'true' }),
    clusterRole('system:aggregate-to-admin', adminRules, { 'rbac.authorization.k8s.io/aggregate-to-admin': 'true' }),
    clusterRole('system:aggregate-to-edit', editRules, { 'rbac.authorization.k8s.io/aggregate-to-edit': 'true' }),
    clusterRole('system:aggregate-to-view', viewRules, { 'rbac.authorization.k8s.io/aggregate-to-view': 'true' }),
    clusterRole('system:node', nodeRules()),
    clusterRole('system:node-proxier', [
      rule(['list', 'watch'], [''], ['services', 'endpoints']),
      rule(['get', 'list', 'watch'], [''], ['nodes']),
      rule(['create', 'update', 'patch'], ['', 'events.k8s.io'], ['events']),
      rule(['list', 'watch'], ['discovery.k8s.io'], ['endpointslices']),
    ]),
    clusterRole('system:node-bootstrapper', [rule(['create', 'get', 'list', 'watch'], ['certificates.k8s.io'], ['certificatesigningrequests'])]),
    clusterRole('system:certificates.k8s.io:certificatesigningrequests:nodeclient', [
      rule(['create'], ['certificates.k8s.io'], ['certificatesigningrequests/nodeclient']),
    ]),
    clusterRole('system:certificates.k8s.io:certificatesigningrequests:selfnodeclient', [
      rule(['create'], ['certificates.k8s.io'], ['certificatesigningrequests/selfnodeclient']),
    ]),
    clusterRole('system:certificates.k8s.io:kube-apiserver-client-approver', [
      rule(['approve'], ['certificates.k8s.io'], ['signers'], ['kubernetes.io/kube-apiserver-client']),
    ]),
    clusterRole('system:certificates.k8s.io:kube-apiserver-client-kubelet-approver', [
      rule(['approve'], ['certificates.k8s.io'], ['signers'], ['kubernetes.io/kube-apiserver-client-kubelet']),
    ]),
    clusterRole('system:certificates.k8s.io:kubelet-serving-approver', [
      rule(['approve'], ['certificates.k8s.io'], ['signers'], ['kubernetes.io/kubelet-serving']),
    ]),
    clusterRole('system:certificates.k8s.io:legacy-unknown-approver', [
      rule(['approve'], ['certificates.k8s.io'], ['signers'], ['kubernetes.io/legacy-unknown']),
    ]),
    clusterRole('system:kube-controller-manager', [
      rule(['create', 'patch', 'update'], ['', 'events.k8s.io'], ['events']),
      rule(['create'], ['coordination.k8s.io'], ['leases']),
      rule(['get', 'update'], ['coordination.k8s.io'], ['leases'], ['kube-controller-manager']),
      rule(['create'], [''], ['secrets', 'serviceaccounts']),
      rule(['delete'], [''], ['secrets']),
      rule(['get'], [''], ['configmaps', 'namespaces', 'secrets', 'serviceaccounts']),
      rule(['update'], [''], ['secrets', 'serviceaccounts']),
      rule(['create'], ['authentication.k8s.io'], ['tokenreviews']),
      rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews']),
      rule(['list', 'watch'], ['*'], ['*']),
      rule(['create'], [''], ['serviceaccounts/token']),
    ]),
    clusterRole('system:kube-scheduler', [
      rule(['create', 'patch', 'update'], ['', 'events.k8s.io'], ['events']),
      rule(['create'], ['coordination.k8s.io'], ['leases']),
      rule(['get', 'update'], ['coordination.k8s.io'], ['leases'], ['kube-scheduler']),
      rule(READ, [''], ['nodes']),
      rule(['get', 'list', 'watch', 'delete'], [''], ['pods']),
      rule(['create'], [''], ['bindings', 'pods/binding']),
      rule(['patch', 'update'], [''], ['pods/status']),
      rule(READ, [''], ['replicationcontrollers', 'services']),
      rule(READ, ['apps', 'extensions'], ['replicasets']),
      rule(READ, ['apps'], ['statefulsets']),
      rule(READ, ['policy'], ['poddisruptionbudgets']),
      rule(READ, [''], ['persistentvolumeclaims', 'persistentvolumes']),
      rule(['create'], ['authentication.k8s.io'], ['tokenreviews']),
      rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews']),
      rule(READ, ['storage.k8s.io'], ['csinodes']),
      rule(READ, [''], ['namespaces']),
      rule(READ, ['storage.k8s.io'], ['csidrivers']),
      rule(READ, ['storage.k8s.io'], ['csistoragecapacities']),
    ]),
    clusterRole('system:volume-scheduler', [
      rule(['get', 'list', 'patch', 'update', 'watch'], [''], ['persistentvolumes']),
      rule(READ, ['storage.k8s.io'], ['storageclasses']),
      rule(['get', 'list', 'patch', 'update', 'watch'], [''], ['persistentvolumeclaims']),
    ]),
    clusterRole('system:auth-delegator', [
      rule(['create'], ['authentication.k8s.io'], ['tokenreviews']),
      rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews']),
    ]),
    clusterRole('system:kubelet-api-admin', [
      rule(READ, [''], ['nodes']),
      rule(['proxy'], [''], ['nodes']),
      rule(['*'], [''], ['nodes/log', 'nodes/metrics', 'nodes/proxy', 'nodes/stats']),
    ]),
    clusterRole('system:service-account-issuer-discovery', [urlRule(['get'], ['/.well-known/openid-configuration', '/openid/v1/jwks'])]),
    clusterRole('system:node-problem-detector', [
      rule(['get'], [''], ['nodes']),
      rule(['patch'], [''], ['nodes/status']),
      rule(['create', 'patch', 'update'], ['', 'events.k8s.io'], ['events']),
    ]),
    clusterRole('system:kube-dns', [rule(['list', 'watch'], [''], ['endpoints', 'services'])]),
  ];
  const clusterRoleBindings: KubeObject[] = [
    clusterRoleBinding('cluster-admin', 'cluster-admin', [group('system:masters')]),
    clusterRoleBinding('system:monitoring', 'system:monitoring', [group('system:monitoring')]),
    clusterRoleBinding('system:discovery', 'system:discovery', [group('system:authenticated')]),
    clusterRoleBinding('system:basic-user', 'system:basic-user', [group('system:authenticated')]),
    clusterRoleBinding('system:public-info-viewer', 'system:public-info-viewer', [group('system:authenticated'), group('system:unauthenticated')]),
    // Since 1.8 the binding exists without subjects; the Node authorizer grants kubelets instead.
    { ...clusterRoleBinding('system:node', 'system:node', []), subjects: undefined },
    clusterRoleBinding('system:node-proxier', 'system:node-proxier', [user('system:kube-proxy')]),
    clusterRoleBinding('system:kube-controller-manager', 'system:kube-controller-manager', [user('system:kube-controller-manager')]),
    clusterRoleBinding('system:kube-scheduler', 'system:kube-scheduler', [user('system:kube-scheduler')]),
    clusterRoleBinding('system:volume-scheduler', 'system:volume-scheduler', [user('system:kube-scheduler')]),
    clusterRoleBinding('system:kube-dns', 'system:kube-dns', [{ kind: 'ServiceAccount', name: 'kube-dns', namespace: 'kube-system' }]),
    clusterRoleBinding('system:service-account-issuer-discovery', 'system:service-account-issuer-discovery', [group('system:serviceaccounts')]),
  ];
  const controllers = controllerRoles();
  const namespaced: KubeObject[] = [
    role('kube-public', 'system:controller:bootstrap-signer', [
      rule(['get', 'list', 'watch'], [''], ['configmaps']),
      rule(['update'], [''], ['configmaps'], ['cluster-info']),
      rule(['create', 'update', 'patch'], ['', 'events.k8s.io'], ['events']),
    ]),
    roleBinding('kube-public', 'system:controller:bootstrap-signer', 'system:controller:bootstrap-signer', [controllerAccount('bootstrap-signer')]),
    role('kube-system', 'system:controller:bootstrap-signer', [rule(['get', 'list', 'watch'], [''], ['secrets'])]),
    roleBinding('kube-system', 'system:controller:bootstrap-signer', 'system:controller:bootstrap-signer', [controllerAccount('bootstrap-signer')]),
    role('kube-system', 'system:controller:token-cleaner', [
      rule(['delete', 'get', 'list', 'watch'], [''], ['secrets']),
      rule(['create', 'update', 'patch'], ['', 'events.k8s.io'], ['events']),
    ]),
    roleBinding('kube-system', 'system:controller:token-cleaner', 'system:controller:token-cleaner', [controllerAccount('token-cleaner')]),
    role('kube-system', 'extension-apiserver-authentication-reader', [
      rule(['get', 'list', 'watch'], [''], ['configmaps'], ['extension-apiserver-authentication']),
    ]),
    roleBinding('kube-system', 'system::extension-apiserver-authentication-reader', 'extension-apiserver-authentication-reader', [
      user('system:kube-controller-manager'),
      user('system:kube-scheduler'),
    ]),
    role('kube-system', 'system::leader-locking-kube-controller-manager', [
      rule(['create', 'get', 'list', 'update', 'watch'], ['coordination.k8s.io'], ['leases']),
      rule(['create', 'get', 'list', 'update', 'watch'], ['coordination.k8s.io'], ['leasecandidates']),
    ]),
    roleBinding('kube-system', 'system::leader-locking-kube-controller-manager', 'system::leader-locking-kube-controller-manager', [
      controllerAccount('kube-controller-manager'),
    ]),
    role('kube-system', 'system::leader-locking-kube-scheduler', [
      rule(['create', 'get', 'list', 'update', 'watch'], ['coordination.k8s.io'], ['leases']),
      rule(['create', 'get', 'list', 'update', 'watch'], ['coordination.k8s.io'], ['leasecandidates']),
    ]),
    roleBinding('kube-system', 'system::leader-locking-kube-scheduler', 'system::leader-locking-kube-scheduler', [controllerAccount('kube-scheduler')]),
  ];
  return [...clusterRoles, ...controllers.roles, ...clusterRoleBindings, ...controllers.bindings, ...namespaced].map((object) =>
    structuredClone(stripUndefined(object)),
  );
}

function stripUndefined(object: KubeObject): KubeObject {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as KubeObject;
}
