// The differential corpus: requests as data, sent in order to each server. Placeholders in a
// path or body are filled from that server's own earlier answers:
//   {{rv:ID}} metadata.resourceVersion of step ID's answer, {{continue:ID}} its list continue
//   token, {{name:ID}} its metadata.name (generated names), {{csr:CN}} a PKCS#10 request (base64).
// A body `{ from: ID, merge }` is step ID's answered object deep-merged with `merge` (updates
// send back what the server returned, as clients do).

export type IdentityName = 'admin' | 'alice' | 'node-a' | 'node-b' | 'bootstrap' | 'bootstrap-wrong' | 'bootstrap-expired' | 'anonymous' | 'bad-token';

export interface FromBody {
  from: string;
  merge: Record<string, unknown>;
}

export interface Step {
  id: string;
  as?: IdentityName;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  contentType?: string;
  body?: unknown;
  /** The answer is a watch stream (the path carries timeoutSeconds so it ends by itself). */
  watch?: boolean;
  /** Wait before sending: the real Node authorizer's graph follows the objects through an informer. */
  delayMs?: number;
  /** Instead of a request: compact the server's storage history up to now. */
  action?: 'compact';
}

const JSON_PATCH = 'application/json-patch+json';
const MERGE_PATCH = 'application/merge-patch+json';
const STRATEGIC = 'application/strategic-merge-patch+json';
const APPLY = 'application/apply-patch+yaml';
const RBAC_GROUP = 'rbac.authorization.k8s.io';

interface Kind {
  kind: string;
  apiVersion: string;
  plural: string;
  namespaced: boolean;
  /** The object's own fields besides metadata (name is the object name, for selectors). */
  fields(name: string): Record<string, unknown>;
  /** A create body that validation rejects (422). */
  invalid(name: string): Record<string, unknown>;
  strategic: Record<string, unknown>;
  /** Some spec field two managers fight over in server-side apply (besides a label). */
  contested?: (value: string) => Record<string, unknown>;
}

function base(kind: Kind): string {
  return kind.apiVersion === 'v1' ? '/api/v1' : `/apis/${kind.apiVersion}`;
}

export function collection(kind: Kind, namespace: string): string {
  return kind.namespaced ? `${base(kind)}/namespaces/${namespace}/${kind.plural}` : `${base(kind)}/${kind.plural}`;
}

const podSpec = (image = 'nginx:1.27') => ({ automountServiceAccountToken: false, containers: [{ name: 'c', image }] });
const template = (app: string) => ({ metadata: { labels: { app } }, spec: podSpec() });

export const KINDS: Kind[] = [
  {
    kind: 'ConfigMap',
    apiVersion: 'v1',
    plural: 'configmaps',
    namespaced: true,
    fields: () => ({ data: { a: '1' } }),
    invalid: () => ({ data: { 'bad key!': 'x' } }),
    strategic: { data: { b: '2' } },
    contested: (v) => ({ data: { owned: v } }),
  },
  {
    kind: 'Secret',
    apiVersion: 'v1',
    plural: 'secrets',
    namespaced: true,
    fields: () => ({ type: 'Opaque', data: { a: 'MQ==' } }),
    invalid: () => ({ type: 'kubernetes.io/tls', data: { a: 'MQ==' } }),
    strategic: { data: { b: 'Mg==' } },
    contested: (v) => ({ data: { owned: Buffer.from(v).toString('base64') } }),
  },
  {
    kind: 'Service',
    apiVersion: 'v1',
    plural: 'services',
    namespaced: true,
    fields: (name) => ({ spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] } }),
    invalid: (name) => ({ spec: { selector: { app: name }, ports: [{ name: 'http', port: 0 }] } }),
    strategic: { spec: { ports: [{ name: 'https', port: 443, targetPort: 8443 }] } },
    contested: (v) => ({ spec: { sessionAffinity: v === 'a' ? 'ClientIP' : 'None' } }),
  },
  {
    kind: 'Endpoints',
    apiVersion: 'v1',
    plural: 'endpoints',
    namespaced: true,
    fields: () => ({ subsets: [{ addresses: [{ ip: '10.0.0.1' }], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }] }),
    invalid: () => ({ subsets: [{ addresses: [{ ip: 'not-an-ip' }], ports: [{ name: 'http', port: 80 }] }] }),
    strategic: { metadata: { annotations: { strategic: 'yes' } } },
  },
  {
    kind: 'EndpointSlice',
    apiVersion: 'discovery.k8s.io/v1',
    plural: 'endpointslices',
    namespaced: true,
    fields: () => ({ addressType: 'IPv4', endpoints: [{ addresses: ['10.0.0.1'] }], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }),
    invalid: () => ({ addressType: 'Bogus', endpoints: [] }),
    strategic: { metadata: { annotations: { strategic: 'yes' } } },
  },
  {
    kind: 'Deployment',
    apiVersion: 'apps/v1',
    plural: 'deployments',
    namespaced: true,
    fields: (name) => ({ spec: { replicas: 1, selector: { matchLabels: { app: name } }, template: template(name) } }),
    invalid: (name) => ({ spec: { replicas: 1, selector: { matchLabels: { app: name } }, template: template('other') } }),
    strategic: { spec: { template: { spec: { containers: [{ name: 'c', image: 'nginx:1.28' }] } } } },
    contested: (v) => ({ spec: { replicas: v === 'a' ? 2 : 3 } }),
  },
  {
    kind: 'StatefulSet',
    apiVersion: 'apps/v1',
    plural: 'statefulsets',
    namespaced: true,
    fields: (name) => ({ spec: { replicas: 1, serviceName: name, selector: { matchLabels: { app: name } }, template: template(name) } }),
    invalid: (name) => ({ spec: { replicas: -1, serviceName: name, selector: { matchLabels: { app: name } }, template: template(name) } }),
    strategic: { spec: { template: { spec: { containers: [{ name: 'c', image: 'nginx:1.28' }] } } } },
    contested: (v) => ({ spec: { replicas: v === 'a' ? 2 : 3 } }),
  },
  {
    kind: 'Pod',
    apiVersion: 'v1',
    plural: 'pods',
    namespaced: true,
    fields: () => ({ spec: podSpec() }),
    invalid: () => ({ spec: { automountServiceAccountToken: false, containers: [] } }),
    strategic: { spec: { containers: [{ name: 'c', image: 'nginx:1.28' }] } },
    contested: (v) => ({ spec: { activeDeadlineSeconds: v === 'a' ? 600 : 300 } }),
  },
  {
    kind: 'PodDisruptionBudget',
    apiVersion: 'policy/v1',
    plural: 'poddisruptionbudgets',
    namespaced: true,
    fields: (name) => ({ spec: { minAvailable: 1, selector: { matchLabels: { app: name } } } }),
    invalid: (name) => ({ spec: { minAvailable: -1, selector: { matchLabels: { app: name } } } }),
    strategic: { spec: { minAvailable: 2 } },
    contested: (v) => ({ spec: { minAvailable: v === 'a' ? 3 : 4 } }),
  },
  {
    kind: 'ServiceAccount',
    apiVersion: 'v1',
    plural: 'serviceaccounts',
    namespaced: true,
    fields: () => ({ automountServiceAccountToken: true }),
    invalid: () => ({ metadata: { name: 'Bad_Name' } }),
    strategic: { automountServiceAccountToken: false },
  },
  {
    kind: 'Role',
    apiVersion: `${RBAC_GROUP}/v1`,
    plural: 'roles',
    namespaced: true,
    fields: () => ({ rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }] }),
    invalid: () => ({ rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: [] }] }),
    strategic: { metadata: { annotations: { strategic: 'yes' } } },
  },
  {
    kind: 'RoleBinding',
    apiVersion: `${RBAC_GROUP}/v1`,
    plural: 'rolebindings',
    namespaced: true,
    fields: () => ({ roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: 'view' }, subjects: [{ kind: 'User', apiGroup: RBAC_GROUP, name: 'bob' }] }),
    invalid: () => ({ roleRef: { apiGroup: RBAC_GROUP, kind: 'Bogus', name: 'view' }, subjects: [{ kind: 'User', apiGroup: RBAC_GROUP, name: 'bob' }] }),
    strategic: { subjects: [{ kind: 'User', apiGroup: RBAC_GROUP, name: 'carol' }] },
  },
  {
    kind: 'NetworkPolicy',
    apiVersion: 'networking.k8s.io/v1',
    plural: 'networkpolicies',
    namespaced: true,
    fields: () => ({ spec: { podSelector: {}, policyTypes: ['Ingress'] } }),
    invalid: () => ({ spec: { podSelector: {}, policyTypes: ['Bogus'] } }),
    strategic: { spec: { policyTypes: ['Ingress', 'Egress'] } },
  },
  {
    kind: 'Lease',
    apiVersion: 'coordination.k8s.io/v1',
    plural: 'leases',
    namespaced: true,
    fields: () => ({ spec: { holderIdentity: 'a', leaseDurationSeconds: 40 } }),
    invalid: () => ({ spec: { holderIdentity: 'a', leaseDurationSeconds: 0 } }),
    strategic: { spec: { holderIdentity: 'b' } },
    contested: (v) => ({ spec: { holderIdentity: `holder-${v}` } }),
  },
  {
    kind: 'Namespace',
    apiVersion: 'v1',
    plural: 'namespaces',
    namespaced: false,
    fields: () => ({}),
    invalid: () => ({ metadata: { name: 'Bad_Name' } }),
    strategic: { metadata: { annotations: { strategic: 'yes' } } },
  },
  {
    kind: 'ClusterRole',
    apiVersion: `${RBAC_GROUP}/v1`,
    plural: 'clusterroles',
    namespaced: false,
    fields: () => ({ rules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['get'] }] }),
    invalid: () => ({ rules: [{ apiGroups: [''], resources: ['nodes'], verbs: [] }] }),
    strategic: { metadata: { annotations: { strategic: 'yes' } } },
  },
  {
    kind: 'ClusterRoleBinding',
    apiVersion: `${RBAC_GROUP}/v1`,
    plural: 'clusterrolebindings',
    namespaced: false,
    fields: () => ({
      roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: 'view' },
      subjects: [{ kind: 'Group', apiGroup: RBAC_GROUP, name: 'nobody' }],
    }),
    invalid: () => ({ roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: '' }, subjects: [] }),
    strategic: { metadata: { annotations: { strategic: 'yes' } } },
  },
  {
    kind: 'Node',
    apiVersion: 'v1',
    plural: 'nodes',
    namespaced: false,
    fields: () => ({ spec: { podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24'] } }),
    invalid: () => ({ spec: { podCIDR: 'bogus' } }),
    strategic: { spec: { unschedulable: true } },
    contested: (v) => ({ spec: { unschedulable: v === 'a' } }),
  },
  {
    kind: 'CertificateSigningRequest',
    apiVersion: 'certificates.k8s.io/v1',
    plural: 'certificatesigningrequests',
    namespaced: false,
    fields: () => ({ spec: { request: '{{csr:diff-user}}', signerName: 'kubernetes.io/kube-apiserver-client', usages: ['client auth'] } }),
    invalid: () => ({ spec: { request: '{{csr:diff-user}}', usages: ['client auth'] } }),
    strategic: { metadata: { annotations: { strategic: 'yes' } } },
  },
];

function object(
  kind: Kind,
  name: string,
  namespace: string,
  extra: Record<string, unknown> = {},
  labels: Record<string, string> = { diff: 'matrix' },
): Record<string, unknown> {
  const fields = kind.fields(name);
  return {
    apiVersion: kind.apiVersion,
    kind: kind.kind,
    metadata: { name, ...(kind.namespaced ? { namespace } : {}), labels },
    ...fields,
    ...extra,
  };
}

/** The CRUD / patch / apply matrix every kind goes through. */
function matrix(kind: Kind): Step[] {
  const ns = 'diff-crud';
  const name = `m-${kind.plural}`;
  const coll = collection(kind, ns);
  const item = `${coll}/${name}`;
  const id = (step: string) => `${kind.plural}:${step}`;
  const invalid = kind.invalid(name);
  const invalidMeta = (invalid.metadata ?? {}) as Record<string, unknown>;
  const invalidName = (invalidMeta.name as string | undefined) ?? `${name}-bad`;
  const steps: Step[] = [
    { id: id('create'), method: 'POST', path: coll, body: object(kind, name, ns) },
    { id: id('create-again'), method: 'POST', path: coll, body: object(kind, name, ns) },
    { id: id('create-dry-run'), method: 'POST', path: `${coll}?dryRun=All`, body: object(kind, `${name}-dry`, ns) },
    { id: id('get-dry-run'), method: 'GET', path: `${coll}/${name}-dry` },
    { id: id('get'), method: 'GET', path: item },
    { id: id('get-missing'), method: 'GET', path: `${coll}/missing` },
    { id: id('list-selector'), method: 'GET', path: `${coll}?labelSelector=diff%3Dmatrix` },
    { id: id('patch-merge'), method: 'PATCH', path: item, contentType: MERGE_PATCH, body: { metadata: { labels: { patched: 'merge' } } } },
    { id: id('patch-strategic'), method: 'PATCH', path: item, contentType: STRATEGIC, body: kind.strategic },
    { id: id('patch-json'), method: 'PATCH', path: item, contentType: JSON_PATCH, body: [{ op: 'add', path: '/metadata/labels/json', value: 'yes' }] },
    { id: id('patch-json-test-fails'), method: 'PATCH', path: item, contentType: JSON_PATCH, body: [{ op: 'test', path: '/metadata/name', value: 'other' }] },
    { id: id('patch-json-bad-path'), method: 'PATCH', path: item, contentType: JSON_PATCH, body: [{ op: 'replace', path: '/metadata/nothere/x', value: 'v' }] },
    { id: id('patch-missing'), method: 'PATCH', path: `${coll}/missing`, contentType: MERGE_PATCH, body: { metadata: { labels: { a: 'b' } } } },
    { id: id('patch-bad-content-type'), method: 'PATCH', path: item, contentType: 'text/plain', body: {} },
    { id: id('put-stale'), method: 'PUT', path: item, body: { from: id('create'), merge: { metadata: { labels: { put: 'stale' } } } } satisfies FromBody },
    { id: id('put'), method: 'PUT', path: item, body: { from: id('patch-json'), merge: { metadata: { labels: { put: 'yes' } } } } satisfies FromBody },
    { id: id('put-wrong-name'), method: 'PUT', path: item, body: { from: id('put'), merge: { metadata: { name: 'other-name' } } } satisfies FromBody },
    { id: id('put-missing'), method: 'PUT', path: `${coll}/missing`, body: object(kind, 'missing', ns) },
    {
      id: id('apply-a'),
      method: 'PATCH',
      path: `${item}?fieldManager=manager-a`,
      contentType: APPLY,
      body: { apiVersion: kind.apiVersion, kind: kind.kind, metadata: { name, labels: { owner: 'a' } }, ...(kind.contested?.('a') ?? {}) },
    },
    {
      id: id('apply-b-conflict'),
      method: 'PATCH',
      path: `${item}?fieldManager=manager-b`,
      contentType: APPLY,
      body: { apiVersion: kind.apiVersion, kind: kind.kind, metadata: { name, labels: { owner: 'b' } }, ...(kind.contested?.('b') ?? {}) },
    },
    {
      id: id('apply-b-force'),
      method: 'PATCH',
      path: `${item}?fieldManager=manager-b&force=true`,
      contentType: APPLY,
      body: { apiVersion: kind.apiVersion, kind: kind.kind, metadata: { name, labels: { owner: 'b' } }, ...(kind.contested?.('b') ?? {}) },
    },
    { id: id('apply-no-manager'), method: 'PATCH', path: item, contentType: APPLY, body: { apiVersion: kind.apiVersion, kind: kind.kind, metadata: { name } } },
    {
      id: id('create-invalid'),
      method: 'POST',
      path: coll,
      body: { ...object(kind, invalidName, ns), ...invalid, metadata: { ...(object(kind, invalidName, ns).metadata as object), ...invalidMeta } },
    },
    { id: id('apply-create'), method: 'PATCH', path: `${coll}/${name}-ssa?fieldManager=manager-a`, contentType: APPLY, body: object(kind, `${name}-ssa`, ns) },
    { id: id('get-after-apply-create'), method: 'GET', path: `${coll}/${name}-ssa` },
    { id: id('delete'), method: 'DELETE', path: item },
    { id: id('delete-again'), method: 'DELETE', path: item },
    { id: id('get-after-delete'), method: 'GET', path: item },
    { id: id('delete-ssa'), method: 'DELETE', path: `${coll}/${name}-ssa`, body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' } },
  ];
  return steps;
}

const ns = (name: string, labels: Record<string, string> = {}): Step => ({
  id: `setup:namespace:${name}`,
  method: 'POST',
  path: '/api/v1/namespaces',
  body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } },
});

/** Objects every section needs, created by the admin. */
function setup(): Step[] {
  return [
    ...['diff-crud', 'diff-rbac', 'diff-other', 'diff-page', 'diff-watch', 'diff-node', 'diff-valid', 'diff-sa'].map((name) => ns(name, { diff: 'ns' })),
    // The real apiserver's ServiceAccount admission wants the `default` account (no controller manager runs here).
    ...['diff-crud', 'diff-node', 'diff-valid'].map((name): Step => ({
      id: `setup:sa:${name}`,
      method: 'POST',
      path: `/api/v1/namespaces/${name}/serviceaccounts`,
      body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } },
    })),
  ];
}

function pagination(): Step[] {
  const coll = '/api/v1/namespaces/diff-page/configmaps';
  const steps: Step[] = [];
  for (let index = 0; index < 7; index += 1) {
    steps.push({
      id: `page:create-${index}`,
      method: 'POST',
      path: coll,
      body: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: `page-${index}`, labels: { page: 'yes', parity: index % 2 === 0 ? 'even' : 'odd', index: String(index) } },
        data: { i: String(index) },
      },
    });
  }
  steps.push(
    { id: 'page:list-all', method: 'GET', path: coll },
    { id: 'page:list-1', method: 'GET', path: `${coll}?limit=3` },
    { id: 'page:list-2', method: 'GET', path: `${coll}?limit=3&continue={{continue:page:list-1}}` },
    { id: 'page:list-3', method: 'GET', path: `${coll}?limit=3&continue={{continue:page:list-2}}` },
    { id: 'page:list-bad-continue', method: 'GET', path: `${coll}?limit=3&continue=not-a-token` },
    { id: 'page:list-limit-selector-1', method: 'GET', path: `${coll}?limit=2&labelSelector=parity%3Deven` },
    { id: 'page:list-limit-selector-2', method: 'GET', path: `${coll}?limit=2&labelSelector=parity%3Deven&continue={{continue:page:list-limit-selector-1}}` },
    { id: 'page:selector-in', method: 'GET', path: `${coll}?labelSelector=index+in+(1,3,5)` },
    { id: 'page:selector-notin', method: 'GET', path: `${coll}?labelSelector=index+notin+(1,3,5),page` },
    { id: 'page:selector-not-equal', method: 'GET', path: `${coll}?labelSelector=parity!%3Deven` },
    { id: 'page:selector-exists-not', method: 'GET', path: `${coll}?labelSelector=!parity` },
    { id: 'page:selector-double-equals', method: 'GET', path: `${coll}?labelSelector=parity%3D%3Dodd` },
    { id: 'page:selector-invalid', method: 'GET', path: `${coll}?labelSelector=parity%3D%3D%3Dodd` },
    { id: 'page:field-name', method: 'GET', path: `${coll}?fieldSelector=metadata.name%3Dpage-3` },
    { id: 'page:field-name-not', method: 'GET', path: `${coll}?fieldSelector=metadata.name!%3Dpage-3&labelSelector=parity%3Dodd` },
    { id: 'page:field-namespace', method: 'GET', path: `/api/v1/configmaps?fieldSelector=metadata.namespace%3Ddiff-page&labelSelector=index%3D4` },
    { id: 'page:field-unsupported', method: 'GET', path: `${coll}?fieldSelector=data.i%3D1` },
    { id: 'page:all-namespaces', method: 'GET', path: '/api/v1/configmaps?labelSelector=page%3Dyes,index%3D0' },
    { id: 'page:limit-invalid', method: 'GET', path: `${coll}?limit=-1` },
    { id: 'page:deletecollection', method: 'DELETE', path: `${coll}?labelSelector=parity%3Dodd` },
    { id: 'page:after-deletecollection', method: 'GET', path: coll },
    { id: 'page:namespaces-selector', method: 'GET', path: '/api/v1/namespaces?labelSelector=diff%3Dns' },
  );
  return steps;
}

function watches(): Step[] {
  const coll = '/api/v1/namespaces/diff-watch/configmaps';
  const cm = (name: string, labels: Record<string, string>, value: string) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, labels },
    data: { v: value },
  });
  const watch = (id: string, query: string): Step => ({ id, method: 'GET', path: `${coll}?watch=true&timeoutSeconds=1&${query}`, watch: true });
  return [
    { id: 'watch:start', method: 'GET', path: coll },
    { id: 'watch:create-w1', method: 'POST', path: coll, body: cm('w1', { watched: 'yes' }, '1') },
    { id: 'watch:update-w1', method: 'PATCH', path: `${coll}/w1`, contentType: MERGE_PATCH, body: { data: { v: '2' } } },
    { id: 'watch:create-w2', method: 'POST', path: coll, body: cm('w2', { watched: 'no' }, '1') },
    { id: 'watch:relabel-w1', method: 'PATCH', path: `${coll}/w1`, contentType: MERGE_PATCH, body: { metadata: { labels: { watched: 'no' } } } },
    { id: 'watch:delete-w2', method: 'DELETE', path: `${coll}/w2` },
    { id: 'watch:create-w3', method: 'POST', path: coll, body: cm('w3', { watched: 'yes' }, '3') },
    watch('watch:from-start', 'resourceVersion={{rv:watch:start}}'),
    watch('watch:resume', 'resourceVersion={{rv:watch:create-w2}}'),
    watch('watch:label-selector', 'resourceVersion={{rv:watch:start}}&labelSelector=watched%3Dyes'),
    watch('watch:field-selector', 'resourceVersion={{rv:watch:start}}&fieldSelector=metadata.name%3Dw2'),
    watch('watch:initial-state', ''),
    watch('watch:rv-zero', 'resourceVersion=0'),
    watch('watch:bookmarks', 'resourceVersion={{rv:watch:create-w3}}&allowWatchBookmarks=true'),
    { id: 'watch:bad-rv', method: 'GET', path: `${coll}?watch=true&timeoutSeconds=1&resourceVersion=abc`, watch: true },
    { id: 'watch:send-initial-events-invalid', method: 'GET', path: `${coll}?watch=true&timeoutSeconds=1&sendInitialEvents=true`, watch: true },
    { id: 'watch:compact', method: 'GET', path: coll, action: 'compact' },
    { id: 'watch:after-compaction', method: 'POST', path: coll, body: cm('w4', { watched: 'yes' }, '4') },
    // Older than the real watch cache's window (it starts at the list it made when the server came up).
    watch('watch:too-old', 'resourceVersion=1'),
    watch('watch:too-old-selector', 'resourceVersion=1&labelSelector=watched%3Dyes'),
    watch('watch:after-compaction-resume', 'resourceVersion={{rv:watch:after-compaction}}'),
    { id: 'watch:single-object', method: 'GET', path: `/api/v1/watch/namespaces/diff-watch/configmaps/w3?timeoutSeconds=1`, watch: true },
  ];
}

function rbac(): Step[] {
  const cms = '/api/v1/namespaces/diff-rbac/configmaps';
  return [
    { id: 'rbac:cm', method: 'POST', path: cms, body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'visible' }, data: { a: '1' } } },
    {
      id: 'rbac:role-reader',
      method: 'POST',
      path: '/apis/rbac.authorization.k8s.io/v1/namespaces/diff-rbac/roles',
      body: {
        apiVersion: `${RBAC_GROUP}/v1`,
        kind: 'Role',
        metadata: { name: 'cm-reader' },
        rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch'] }],
      },
    },
    {
      id: 'rbac:role-binder',
      method: 'POST',
      path: '/apis/rbac.authorization.k8s.io/v1/namespaces/diff-rbac/roles',
      body: {
        apiVersion: `${RBAC_GROUP}/v1`,
        kind: 'Role',
        metadata: { name: 'binder' },
        rules: [{ apiGroups: [RBAC_GROUP], resources: ['rolebindings', 'roles'], verbs: ['create', 'get'] }],
      },
    },
    { id: 'rbac:alice-before-binding', as: 'alice', method: 'GET', path: `${cms}/visible` },
    {
      id: 'rbac:bind-reader',
      method: 'POST',
      path: '/apis/rbac.authorization.k8s.io/v1/namespaces/diff-rbac/rolebindings',
      body: {
        apiVersion: `${RBAC_GROUP}/v1`,
        kind: 'RoleBinding',
        metadata: { name: 'alice-reader' },
        roleRef: { apiGroup: RBAC_GROUP, kind: 'Role', name: 'cm-reader' },
        subjects: [{ kind: 'Group', apiGroup: RBAC_GROUP, name: 'diff-users' }],
      },
    },
    {
      id: 'rbac:bind-binder',
      method: 'POST',
      path: '/apis/rbac.authorization.k8s.io/v1/namespaces/diff-rbac/rolebindings',
      body: {
        apiVersion: `${RBAC_GROUP}/v1`,
        kind: 'RoleBinding',
        metadata: { name: 'alice-binder' },
        roleRef: { apiGroup: RBAC_GROUP, kind: 'Role', name: 'binder' },
        subjects: [{ kind: 'User', apiGroup: RBAC_GROUP, name: 'alice' }],
      },
    },
    { id: 'rbac:alice-get', as: 'alice', method: 'GET', path: `${cms}/visible` },
    { id: 'rbac:alice-get-missing', as: 'alice', method: 'GET', path: `${cms}/missing` },
    { id: 'rbac:alice-list', as: 'alice', method: 'GET', path: cms },
    { id: 'rbac:alice-watch', as: 'alice', method: 'GET', path: `${cms}?watch=true&timeoutSeconds=1&resourceVersion={{rv:rbac:cm}}`, watch: true },
    { id: 'rbac:alice-create', as: 'alice', method: 'POST', path: cms, body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'nope' } } },
    { id: 'rbac:alice-update', as: 'alice', method: 'PUT', path: `${cms}/visible`, body: { from: 'rbac:cm', merge: { data: { a: '2' } } } satisfies FromBody },
    { id: 'rbac:alice-patch', as: 'alice', method: 'PATCH', path: `${cms}/visible`, contentType: MERGE_PATCH, body: { data: { a: '3' } } },
    { id: 'rbac:alice-delete', as: 'alice', method: 'DELETE', path: `${cms}/visible` },
    { id: 'rbac:alice-secrets', as: 'alice', method: 'GET', path: '/api/v1/namespaces/diff-rbac/secrets' },
    { id: 'rbac:alice-secret', as: 'alice', method: 'GET', path: '/api/v1/namespaces/diff-rbac/secrets/any' },
    { id: 'rbac:alice-other-namespace', as: 'alice', method: 'GET', path: '/api/v1/namespaces/diff-other/configmaps' },
    { id: 'rbac:alice-all-namespaces', as: 'alice', method: 'GET', path: '/api/v1/configmaps' },
    { id: 'rbac:alice-nodes', as: 'alice', method: 'GET', path: '/api/v1/nodes' },
    { id: 'rbac:alice-node', as: 'alice', method: 'GET', path: '/api/v1/nodes/node-a' },
    { id: 'rbac:alice-namespace', as: 'alice', method: 'GET', path: '/api/v1/namespaces/diff-rbac' },
    { id: 'rbac:alice-deployments', as: 'alice', method: 'GET', path: '/apis/apps/v1/namespaces/diff-rbac/deployments' },
    { id: 'rbac:alice-status-subresource', as: 'alice', method: 'GET', path: '/apis/apps/v1/namespaces/diff-rbac/deployments/x/status' },
    { id: 'rbac:alice-version', as: 'alice', method: 'GET', path: '/version' },
    { id: 'rbac:alice-nonresource', as: 'alice', method: 'GET', path: '/metrics' },
    {
      id: 'rbac:alice-ssar',
      as: 'alice',
      method: 'POST',
      path: '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: { resourceAttributes: { namespace: 'diff-rbac', verb: 'list', resource: 'configmaps' } },
      },
    },
    {
      id: 'rbac:alice-ssar-denied',
      as: 'alice',
      method: 'POST',
      path: '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: { resourceAttributes: { namespace: 'diff-rbac', verb: 'delete', resource: 'configmaps' } },
      },
    },
    {
      id: 'rbac:alice-ssr',
      as: 'alice',
      method: 'POST',
      path: '/apis/authentication.k8s.io/v1/selfsubjectreviews',
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
    },
    {
      id: 'rbac:admin-sar',
      method: 'POST',
      path: '/apis/authorization.k8s.io/v1/subjectaccessreviews',
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: { user: 'alice', groups: ['diff-users'], resourceAttributes: { namespace: 'diff-rbac', verb: 'get', resource: 'configmaps' } },
      },
    },
    {
      id: 'rbac:admin-sar-node',
      method: 'POST',
      path: '/apis/authorization.k8s.io/v1/subjectaccessreviews',
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: { user: 'system:node:node-a', groups: ['system:nodes'], resourceAttributes: { verb: 'get', resource: 'nodes', name: 'node-b' } },
      },
    },
    {
      id: 'rbac:admin-sar-invalid',
      method: 'POST',
      path: '/apis/authorization.k8s.io/v1/subjectaccessreviews',
      body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec: { resourceAttributes: { verb: 'get', resource: 'nodes' } } },
    },
    // Escalation prevention: alice may create rolebindings, but only to what she holds.
    {
      id: 'rbac:alice-bind-held',
      as: 'alice',
      method: 'POST',
      path: '/apis/rbac.authorization.k8s.io/v1/namespaces/diff-rbac/rolebindings',
      body: {
        apiVersion: `${RBAC_GROUP}/v1`,
        kind: 'RoleBinding',
        metadata: { name: 'bob-reader' },
        roleRef: { apiGroup: RBAC_GROUP, kind: 'Role', name: 'cm-reader' },
        subjects: [{ kind: 'User', apiGroup: RBAC_GROUP, name: 'bob' }],
      },
    },
    {
      id: 'rbac:alice-bind-escalate',
      as: 'alice',
      method: 'POST',
      path: '/apis/rbac.authorization.k8s.io/v1/namespaces/diff-rbac/rolebindings',
      body: {
        apiVersion: `${RBAC_GROUP}/v1`,
        kind: 'RoleBinding',
        metadata: { name: 'bob-admin' },
        roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: 'cluster-admin' },
        subjects: [{ kind: 'User', apiGroup: RBAC_GROUP, name: 'bob' }],
      },
    },
    {
      id: 'rbac:alice-role-escalate',
      as: 'alice',
      method: 'POST',
      path: '/apis/rbac.authorization.k8s.io/v1/namespaces/diff-rbac/roles',
      body: {
        apiVersion: `${RBAC_GROUP}/v1`,
        kind: 'Role',
        metadata: { name: 'secrets' },
        rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }],
      },
    },
    {
      id: 'rbac:alice-role-held',
      as: 'alice',
      method: 'POST',
      path: '/apis/rbac.authorization.k8s.io/v1/namespaces/diff-rbac/roles',
      body: {
        apiVersion: `${RBAC_GROUP}/v1`,
        kind: 'Role',
        metadata: { name: 'cm-get' },
        rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }],
      },
    },
    { id: 'rbac:anonymous-version', as: 'anonymous', method: 'GET', path: '/version' },
    { id: 'rbac:anonymous-healthz', as: 'anonymous', method: 'GET', path: '/healthz' },
    { id: 'rbac:anonymous-namespaces', as: 'anonymous', method: 'GET', path: '/api/v1/namespaces' },
    { id: 'rbac:anonymous-configmap', as: 'anonymous', method: 'GET', path: `${cms}/visible` },
    { id: 'rbac:bad-token', as: 'bad-token', method: 'GET', path: '/api/v1/namespaces' },
    { id: 'rbac:bad-token-version', as: 'bad-token', method: 'GET', path: '/version' },
    { id: 'rbac:admin-missing-resource', method: 'GET', path: '/api/v1/namespaces/diff-rbac/nothings' },
    { id: 'rbac:admin-missing-group', method: 'GET', path: '/apis/nothing.example.com/v1/things' },
    { id: 'rbac:version', method: 'GET', path: '/version' },
  ];
}

function nodes(): Step[] {
  const pods = '/api/v1/namespaces/diff-node/pods';
  const pod = (name: string, node: string, extra: Record<string, unknown> = {}) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: name } },
    spec: {
      nodeName: node,
      automountServiceAccountToken: false,
      containers: [{ name: 'c', image: 'nginx:1.27', env: [{ name: 'S', valueFrom: { secretKeyRef: { name: `${name}-secret`, key: 'k' } } }] }],
      ...extra,
    },
  });
  const nodeObject = (name: string, labels: Record<string, string> = {}) => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } },
  });
  const lease = (name: string) => ({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name },
    spec: { holderIdentity: name, leaseDurationSeconds: 40 },
  });
  return [
    { id: 'node:register-self', as: 'node-a', method: 'POST', path: '/api/v1/nodes', body: nodeObject('node-a') },
    { id: 'node:register-other', as: 'node-a', method: 'POST', path: '/api/v1/nodes', body: nodeObject('node-x') },
    { id: 'node:register-b', as: 'node-b', method: 'POST', path: '/api/v1/nodes', body: nodeObject('node-b') },
    {
      id: 'node:register-role-label',
      as: 'node-a',
      method: 'POST',
      path: '/api/v1/nodes',
      body: nodeObject('node-a', { 'node-role.kubernetes.io/control-plane': '' }),
    },
    { id: 'node:get-other', as: 'node-a', method: 'GET', path: '/api/v1/nodes/node-b' },
    { id: 'node:list', as: 'node-a', method: 'GET', path: '/api/v1/nodes?labelSelector=kubernetes.io%2Fhostname%3Dnode-a' },
    {
      id: 'node:status-self',
      as: 'node-a',
      method: 'PATCH',
      path: '/api/v1/nodes/node-a/status',
      contentType: STRATEGIC,
      body: {
        status: {
          conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'ok' }],
          addresses: [{ type: 'InternalIP', address: '10.1.0.1' }],
        },
      },
    },
    {
      id: 'node:status-other',
      as: 'node-a',
      method: 'PATCH',
      path: '/api/v1/nodes/node-b/status',
      contentType: STRATEGIC,
      body: { status: { conditions: [{ type: 'Ready', status: 'False' }] } },
    },
    {
      id: 'node:label-self',
      as: 'node-a',
      method: 'PATCH',
      path: '/api/v1/nodes/node-a',
      contentType: STRATEGIC,
      body: { metadata: { labels: { 'topology.kubernetes.io/zone': 'z1' } } },
    },
    {
      id: 'node:label-role-self',
      as: 'node-a',
      method: 'PATCH',
      path: '/api/v1/nodes/node-a',
      contentType: STRATEGIC,
      body: { metadata: { labels: { 'node-role.kubernetes.io/worker': '' } } },
    },
    {
      id: 'node:taint-self',
      as: 'node-a',
      method: 'PATCH',
      path: '/api/v1/nodes/node-a',
      contentType: STRATEGIC,
      body: { spec: { taints: [{ key: 'a', value: 'b', effect: 'NoSchedule' }] } },
    },
    { id: 'node:label-other', as: 'node-a', method: 'PATCH', path: '/api/v1/nodes/node-b', contentType: STRATEGIC, body: { metadata: { labels: { x: 'y' } } } },
    { id: 'node:delete-other', as: 'node-a', method: 'DELETE', path: '/api/v1/nodes/node-b' },
    {
      id: 'node:admin-label-role',
      method: 'PATCH',
      path: '/api/v1/nodes/node-a',
      contentType: STRATEGIC,
      body: { metadata: { labels: { 'node-role.kubernetes.io/worker': '' } } },
    },
    {
      id: 'node:secret-a',
      method: 'POST',
      path: '/api/v1/namespaces/diff-node/secrets',
      body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'pa-secret' }, stringData: { k: 'v' } },
    },
    {
      id: 'node:secret-b',
      method: 'POST',
      path: '/api/v1/namespaces/diff-node/secrets',
      body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'pb-secret' }, stringData: { k: 'v' } },
    },
    {
      id: 'node:secret-unref',
      method: 'POST',
      path: '/api/v1/namespaces/diff-node/secrets',
      body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'loose' }, stringData: { k: 'v' } },
    },
    { id: 'node:pod-a', method: 'POST', path: pods, body: pod('pa', 'node-a') },
    { id: 'node:pod-b', method: 'POST', path: pods, body: pod('pb', 'node-b') },
    { id: 'node:get-own-secret', as: 'node-a', method: 'GET', path: '/api/v1/namespaces/diff-node/secrets/pa-secret', delayMs: 1500 },
    { id: 'node:get-other-secret', as: 'node-a', method: 'GET', path: '/api/v1/namespaces/diff-node/secrets/pb-secret' },
    { id: 'node:get-loose-secret', as: 'node-a', method: 'GET', path: '/api/v1/namespaces/diff-node/secrets/loose' },
    { id: 'node:list-secrets', as: 'node-a', method: 'GET', path: '/api/v1/namespaces/diff-node/secrets' },
    { id: 'node:list-pods', as: 'node-a', method: 'GET', path: '/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-a' },
    { id: 'node:list-pods-namespace', as: 'node-a', method: 'GET', path: `${pods}?fieldSelector=spec.nodeName%3Dnode-a` },
    { id: 'node:get-own-pod', as: 'node-a', method: 'GET', path: `${pods}/pa` },
    { id: 'node:create-pod', as: 'node-a', method: 'POST', path: pods, body: pod('pn', 'node-a') },
    {
      id: 'node:create-mirror-pod',
      as: 'node-a',
      method: 'POST',
      path: pods,
      body: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: 'mirror-node-a',
          annotations: { 'kubernetes.io/config.mirror': 'x' },
          ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'node-a', uid: '{{uid:node:register-self}}', controller: true }],
        },
        spec: { nodeName: 'node-a', automountServiceAccountToken: false, containers: [{ name: 'c', image: 'nginx:1.27' }] },
      },
    },
    {
      id: 'node:create-mirror-pod-other',
      as: 'node-a',
      method: 'POST',
      path: pods,
      body: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'mirror-node-b', annotations: { 'kubernetes.io/config.mirror': 'x' } },
        spec: { nodeName: 'node-b', automountServiceAccountToken: false, containers: [{ name: 'c', image: 'nginx:1.27' }] },
      },
    },
    {
      id: 'node:pod-status-own',
      as: 'node-a',
      method: 'PATCH',
      path: `${pods}/pa/status`,
      contentType: STRATEGIC,
      body: { status: { phase: 'Running', podIP: '10.244.1.5', conditions: [{ type: 'Ready', status: 'True' }] } },
    },
    { id: 'node:pod-status-other', as: 'node-a', method: 'PATCH', path: `${pods}/pb/status`, contentType: STRATEGIC, body: { status: { phase: 'Running' } } },
    { id: 'node:pod-update-spec', as: 'node-a', method: 'PATCH', path: `${pods}/pa`, contentType: STRATEGIC, body: { metadata: { labels: { x: 'y' } } } },
    { id: 'node:pod-delete-other', as: 'node-a', method: 'DELETE', path: `${pods}/pb` },
    {
      id: 'node:pod-evict-own',
      as: 'node-a',
      method: 'POST',
      path: `${pods}/pa/eviction`,
      body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'pa' } },
    },
    { id: 'node:lease-own', as: 'node-a', method: 'POST', path: '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', body: lease('node-a') },
    { id: 'node:lease-other', as: 'node-a', method: 'POST', path: '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', body: lease('node-b') },
    {
      id: 'node:lease-own-renew',
      as: 'node-a',
      method: 'PATCH',
      path: '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-a',
      contentType: MERGE_PATCH,
      body: { spec: { leaseDurationSeconds: 41 } },
    },
    { id: 'node:lease-elsewhere', as: 'node-a', method: 'POST', path: '/apis/coordination.k8s.io/v1/namespaces/diff-node/leases', body: lease('node-a') },
    {
      id: 'node:event',
      as: 'node-a',
      method: 'POST',
      path: '/api/v1/namespaces/default/events',
      body: {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: 'node-a.1' },
        involvedObject: { kind: 'Node', name: 'node-a' },
        reason: 'Starting',
        message: 'x',
        type: 'Normal',
        source: { component: 'kubelet', host: 'node-a' },
      },
    },
    { id: 'node:configmap-unref', as: 'node-a', method: 'GET', path: '/api/v1/namespaces/diff-node/configmaps/none' },
    { id: 'node:namespaces', as: 'node-a', method: 'GET', path: '/api/v1/namespaces/diff-node' },
    { id: 'node:services', as: 'node-a', method: 'GET', path: '/api/v1/services?fieldSelector=metadata.namespace%3Ddiff-node' },
    {
      id: 'node:create-configmap',
      as: 'node-a',
      method: 'POST',
      path: '/api/v1/namespaces/diff-node/configmaps',
      body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } },
    },
    {
      id: 'node:csr',
      as: 'node-a',
      method: 'POST',
      path: '/apis/certificates.k8s.io/v1/certificatesigningrequests',
      body: {
        apiVersion: 'certificates.k8s.io/v1',
        kind: 'CertificateSigningRequest',
        metadata: { name: 'node-a-serving' },
        spec: { request: '{{csr:system:node:node-a}}', signerName: 'kubernetes.io/kubelet-serving', usages: ['digital signature', 'server auth'] },
      },
    },
    { id: 'node:csr-get', as: 'node-a', method: 'GET', path: '/apis/certificates.k8s.io/v1/certificatesigningrequests/node-a-serving' },
    {
      id: 'node:csr-approve-self',
      as: 'node-a',
      method: 'PUT',
      path: '/apis/certificates.k8s.io/v1/certificatesigningrequests/node-a-serving/approval',
      body: { from: 'node:csr', merge: { status: { conditions: [{ type: 'Approved', status: 'True', reason: 'Self', message: 'x' }] } } } satisfies FromBody,
    },
  ];
}

function bootstrap(): Step[] {
  const secrets = '/api/v1/namespaces/kube-system/secrets';
  const csrs = '/apis/certificates.k8s.io/v1/certificatesigningrequests';
  const token = (id: string, secret: string, extra: Record<string, string> = {}) => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: `bootstrap-token-${id}` },
    type: 'bootstrap.kubernetes.io/token',
    stringData: {
      'token-id': id,
      'token-secret': secret,
      'usage-bootstrap-authentication': 'true',
      'usage-bootstrap-signing': 'true',
      'auth-extra-groups': 'system:bootstrappers:kubeadm:default-node-token',
      ...extra,
    },
  });
  const csr = (name: string, cn: string, signerName = 'kubernetes.io/kube-apiserver-client-kubelet', usages = ['digital signature', 'client auth']) => ({
    apiVersion: 'certificates.k8s.io/v1',
    kind: 'CertificateSigningRequest',
    metadata: { name },
    spec: { request: `{{csr:${cn}}}`, signerName, usages },
  });
  const condition = (type: string) => ({ status: { conditions: [{ type, status: 'True', reason: `Diff${type}`, message: 'by the differential suite' }] } });
  return [
    { id: 'bootstrap:token', method: 'POST', path: secrets, body: token('abcdef', '0123456789abcdef') },
    { id: 'bootstrap:token-expired', method: 'POST', path: secrets, body: token('zzzzzz', '0123456789abcdef', { expiration: '2020-01-01T00:00:00Z' }) },
    {
      id: 'bootstrap:token-bad-name',
      method: 'POST',
      path: secrets,
      body: { ...token('yyyyyy', '0123456789abcdef'), metadata: { name: 'bootstrap-token-nope' } },
    },
    { id: 'bootstrap:token-get', method: 'GET', path: `${secrets}/bootstrap-token-abcdef` },
    {
      id: 'bootstrap:binding',
      method: 'POST',
      path: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
      body: {
        apiVersion: `${RBAC_GROUP}/v1`,
        kind: 'ClusterRoleBinding',
        metadata: { name: 'kubeadm:kubelet-bootstrap' },
        roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: 'system:node-bootstrapper' },
        subjects: [{ kind: 'Group', apiGroup: RBAC_GROUP, name: 'system:bootstrappers:kubeadm:default-node-token' }],
      },
    },
    {
      id: 'bootstrap:autoapprove',
      method: 'POST',
      path: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
      body: {
        apiVersion: `${RBAC_GROUP}/v1`,
        kind: 'ClusterRoleBinding',
        metadata: { name: 'kubeadm:node-autoapprove-bootstrap' },
        roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: 'system:certificates.k8s.io:certificatesigningrequests:nodeclient' },
        subjects: [{ kind: 'Group', apiGroup: RBAC_GROUP, name: 'system:bootstrappers:kubeadm:default-node-token' }],
      },
    },
    {
      id: 'bootstrap:cluster-info',
      method: 'POST',
      path: '/api/v1/namespaces/kube-public/configmaps',
      body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cluster-info' }, data: { kubeconfig: 'apiVersion: v1\nkind: Config\nclusters: []\n' } },
    },
    { id: 'bootstrap:cluster-info-anonymous-denied', as: 'anonymous', method: 'GET', path: '/api/v1/namespaces/kube-public/configmaps/cluster-info' },
    {
      id: 'bootstrap:cluster-info-role',
      method: 'POST',
      path: '/apis/rbac.authorization.k8s.io/v1/namespaces/kube-public/roles',
      body: {
        apiVersion: `${RBAC_GROUP}/v1`,
        kind: 'Role',
        metadata: { name: 'kubeadm:bootstrap-signer-clusterinfo' },
        rules: [{ apiGroups: [''], resources: ['configmaps'], resourceNames: ['cluster-info'], verbs: ['get'] }],
      },
    },
    {
      id: 'bootstrap:cluster-info-binding',
      method: 'POST',
      path: '/apis/rbac.authorization.k8s.io/v1/namespaces/kube-public/rolebindings',
      body: {
        apiVersion: `${RBAC_GROUP}/v1`,
        kind: 'RoleBinding',
        metadata: { name: 'kubeadm:bootstrap-signer-clusterinfo' },
        roleRef: { apiGroup: RBAC_GROUP, kind: 'Role', name: 'kubeadm:bootstrap-signer-clusterinfo' },
        subjects: [{ kind: 'User', apiGroup: RBAC_GROUP, name: 'system:anonymous' }],
      },
    },
    { id: 'bootstrap:cluster-info-anonymous', as: 'anonymous', method: 'GET', path: '/api/v1/namespaces/kube-public/configmaps/cluster-info' },
    { id: 'bootstrap:cluster-info-anonymous-list', as: 'anonymous', method: 'GET', path: '/api/v1/namespaces/kube-public/configmaps' },
    {
      id: 'bootstrap:whoami',
      as: 'bootstrap',
      method: 'POST',
      path: '/apis/authentication.k8s.io/v1/selfsubjectreviews',
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
    },
    { id: 'bootstrap:wrong-secret', as: 'bootstrap-wrong', method: 'GET', path: '/api/v1/namespaces/default' },
    { id: 'bootstrap:expired', as: 'bootstrap-expired', method: 'GET', path: '/api/v1/namespaces/default' },
    { id: 'bootstrap:csr-create', as: 'bootstrap', method: 'POST', path: csrs, body: csr('node-csr-c', 'system:node:node-c') },
    { id: 'bootstrap:csr-get', as: 'bootstrap', method: 'GET', path: `${csrs}/node-csr-c` },
    { id: 'bootstrap:csr-list', as: 'bootstrap', method: 'GET', path: `${csrs}?fieldSelector=metadata.name%3Dnode-csr-c` },
    {
      id: 'bootstrap:csr-watch',
      as: 'bootstrap',
      method: 'GET',
      path: `${csrs}?watch=true&timeoutSeconds=1&fieldSelector=metadata.name%3Dnode-csr-c`,
      watch: true,
    },
    { id: 'bootstrap:csr-delete', as: 'bootstrap', method: 'DELETE', path: `${csrs}/node-csr-c` },
    {
      id: 'bootstrap:csr-approve-self',
      as: 'bootstrap',
      method: 'PUT',
      path: `${csrs}/node-csr-c/approval`,
      body: { from: 'bootstrap:csr-get', merge: condition('Approved') } satisfies FromBody,
    },
    { id: 'bootstrap:nodes', as: 'bootstrap', method: 'GET', path: '/api/v1/nodes' },
    { id: 'bootstrap:secrets', as: 'bootstrap', method: 'GET', path: secrets },
    {
      id: 'bootstrap:csr-masters',
      as: 'bootstrap',
      method: 'POST',
      path: csrs,
      body: csr('node-csr-masters', 'masters-user', 'kubernetes.io/kube-apiserver-client', ['client auth']),
    },
    { id: 'bootstrap:csr-legacy-signer', method: 'POST', path: csrs, body: csr('legacy', 'diff-user', 'kubernetes.io/legacy-unknown', ['client auth']) },
    { id: 'bootstrap:csr-bad-usages', method: 'POST', path: csrs, body: csr('bad-usages', 'diff-user', 'kubernetes.io/kube-apiserver-client', ['bogus']) },
    {
      id: 'bootstrap:csr-bad-request',
      method: 'POST',
      path: csrs,
      body: {
        ...csr('bad-request', 'diff-user'),
        spec: { request: Buffer.from('not a csr').toString('base64'), signerName: 'kubernetes.io/kube-apiserver-client', usages: ['client auth'] },
      },
    },
    {
      id: 'bootstrap:csr-missing-signer',
      method: 'POST',
      path: csrs,
      body: { ...csr('no-signer', 'diff-user'), spec: { request: '{{csr:diff-user}}', usages: ['client auth'] } },
    },
    { id: 'bootstrap:csr-kubelet-cn-mismatch', as: 'bootstrap', method: 'POST', path: csrs, body: csr('wrong-cn', 'diff-user') },
    {
      id: 'bootstrap:csr-admin-approve',
      method: 'PUT',
      path: `${csrs}/node-csr-c/approval`,
      body: { from: 'bootstrap:csr-get', merge: condition('Approved') } satisfies FromBody,
    },
    { id: 'bootstrap:csr-admin-get-approved', method: 'GET', path: `${csrs}/node-csr-c` },
    {
      id: 'bootstrap:csr-admin-deny-too',
      method: 'PUT',
      path: `${csrs}/node-csr-c/approval`,
      body: {
        from: 'bootstrap:csr-admin-get-approved',
        merge: {
          status: {
            conditions: [
              { type: 'Approved', status: 'True', reason: 'DiffApproved', message: 'by the differential suite' },
              { type: 'Denied', status: 'True', reason: 'DiffDenied', message: 'x' },
            ],
          },
        },
      } satisfies FromBody,
    },
    { id: 'bootstrap:csr-second', as: 'bootstrap', method: 'POST', path: csrs, body: csr('node-csr-d', 'system:node:node-d') },
    {
      id: 'bootstrap:csr-admin-deny',
      method: 'PUT',
      path: `${csrs}/node-csr-d/approval`,
      body: { from: 'bootstrap:csr-second', merge: condition('Denied') } satisfies FromBody,
    },
    {
      id: 'bootstrap:csr-admin-patch-approval',
      method: 'PATCH',
      path: `${csrs}/node-csr-c/approval`,
      contentType: MERGE_PATCH,
      body: { status: { conditions: [{ type: 'Failed', status: 'True', reason: 'X', message: 'x' }] } },
    },
    {
      id: 'bootstrap:csr-approve-missing',
      method: 'PUT',
      path: `${csrs}/missing/approval`,
      body: {
        apiVersion: 'certificates.k8s.io/v1',
        kind: 'CertificateSigningRequest',
        metadata: { name: 'missing' },
        spec: { request: '{{csr:diff-user}}', signerName: 'kubernetes.io/kube-apiserver-client', usages: ['client auth'] },
        ...condition('Approved'),
      },
    },
    {
      id: 'bootstrap:csr-alice-approve',
      as: 'alice',
      method: 'PUT',
      path: `${csrs}/node-csr-d/approval`,
      body: { from: 'bootstrap:csr-second', merge: condition('Approved') } satisfies FromBody,
    },
    {
      id: 'bootstrap:csr-status-certificate',
      method: 'PATCH',
      path: `${csrs}/node-csr-c/status`,
      contentType: MERGE_PATCH,
      body: { status: { certificate: Buffer.from('not a certificate').toString('base64') } },
    },
    { id: 'bootstrap:csr-update-spec', method: 'PATCH', path: `${csrs}/node-csr-c`, contentType: MERGE_PATCH, body: { spec: { usages: ['server auth'] } } },
    { id: 'bootstrap:token-delete', method: 'DELETE', path: `${secrets}/bootstrap-token-abcdef` },
    { id: 'bootstrap:after-delete', as: 'bootstrap', method: 'GET', path: csrs, delayMs: 1500 },
  ];
}

function validation(): Step[] {
  const coll = '/api/v1/namespaces/diff-valid';
  const deploy = (name: string, spec: Record<string, unknown>) => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name }, spec });
  return [
    {
      id: 'valid:unknown-field-strict',
      method: 'POST',
      path: `${coll}/configmaps?fieldValidation=Strict`,
      body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'strict' }, data: { a: '1' }, bogus: true },
    },
    {
      id: 'valid:unknown-field-warn',
      method: 'POST',
      path: `${coll}/configmaps?fieldValidation=Warn`,
      body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'warn' }, data: { a: '1' }, bogus: true },
    },
    {
      id: 'valid:bad-field-validation',
      method: 'POST',
      path: `${coll}/configmaps?fieldValidation=Maybe`,
      body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'maybe' } },
    },
    {
      id: 'valid:namespace-mismatch',
      method: 'POST',
      path: `${coll}/configmaps`,
      body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'mismatch', namespace: 'diff-other' } },
    },
    { id: 'valid:kind-mismatch', method: 'POST', path: `${coll}/configmaps`, body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'kind' } } },
    { id: 'valid:no-name', method: 'POST', path: `${coll}/configmaps`, body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: {} } },
    {
      id: 'valid:generate-name',
      method: 'POST',
      path: `${coll}/configmaps`,
      body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'gen-' } },
    },
    { id: 'valid:generate-name-get', method: 'GET', path: `${coll}/configmaps/{{name:valid:generate-name}}` },
    { id: 'valid:long-name', method: 'POST', path: `${coll}/configmaps`, body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x'.repeat(254) } } },
    {
      id: 'valid:bad-label',
      method: 'POST',
      path: `${coll}/configmaps`,
      body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'bad-label', labels: { 'bad key': 'v' } } },
    },
    {
      id: 'valid:bad-label-value',
      method: 'POST',
      path: `${coll}/configmaps`,
      body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'bad-label-value', labels: { k: 'not valid!' } } },
    },
    { id: 'valid:malformed-json', method: 'POST', path: `${coll}/configmaps`, body: '{"apiVersion": "v1", "kind": ' },
    {
      id: 'valid:wrong-type',
      method: 'POST',
      path: `${coll}/configmaps`,
      body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'wrong-type' }, data: { a: 1 } },
    },
    {
      id: 'valid:missing-namespace',
      method: 'POST',
      path: '/api/v1/namespaces/diff-nowhere/configmaps',
      body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } },
    },
    {
      id: 'valid:secret-immutable',
      method: 'POST',
      path: `${coll}/secrets`,
      body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'frozen' }, immutable: true, stringData: { a: 'b' } },
    },
    { id: 'valid:secret-immutable-change', method: 'PATCH', path: `${coll}/secrets/frozen`, contentType: MERGE_PATCH, body: { stringData: { a: 'c' } } },
    { id: 'valid:secret-type-change', method: 'PATCH', path: `${coll}/secrets/frozen`, contentType: MERGE_PATCH, body: { type: 'kubernetes.io/tls' } },
    {
      id: 'valid:secret-tls',
      method: 'POST',
      path: `${coll}/secrets`,
      body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'tls' }, type: 'kubernetes.io/tls', data: { 'tls.crt': 'eA==', 'tls.key': 'eA==' } },
    },
    {
      id: 'valid:secret-sa-token',
      method: 'POST',
      path: `${coll}/secrets`,
      body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sa-token' }, type: 'kubernetes.io/service-account-token' },
    },
    {
      id: 'valid:secret-bad-base64',
      method: 'POST',
      path: `${coll}/secrets`,
      body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'b64' }, data: { a: '***' } },
    },
    {
      id: 'valid:service',
      method: 'POST',
      path: `${coll}/services`,
      body: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'svc' },
        spec: { type: 'NodePort', selector: { app: 'x' }, ports: [{ port: 80, targetPort: 80 }] },
      },
    },
    {
      id: 'valid:service-clusterip-change',
      method: 'PATCH',
      path: `${coll}/services/svc`,
      contentType: MERGE_PATCH,
      body: { spec: { clusterIP: '10.96.0.200', clusterIPs: ['10.96.0.200'] } },
    },
    {
      id: 'valid:service-fixed-ip',
      method: 'POST',
      path: `${coll}/services`,
      body: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'fixed' }, spec: { clusterIP: '10.96.0.100', ports: [{ port: 80 }] } },
    },
    {
      id: 'valid:service-ip-taken',
      method: 'POST',
      path: `${coll}/services`,
      body: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'taken' }, spec: { clusterIP: '10.96.0.100', ports: [{ port: 80 }] } },
    },
    {
      id: 'valid:service-ip-outside',
      method: 'POST',
      path: `${coll}/services`,
      body: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'outside' }, spec: { clusterIP: '192.168.0.1', ports: [{ port: 80 }] } },
    },
    {
      id: 'valid:service-headless',
      method: 'POST',
      path: `${coll}/services`,
      body: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'headless' }, spec: { clusterIP: 'None', selector: { app: 'x' }, ports: [{ port: 80 }] } },
    },
    {
      id: 'valid:service-nodeport-fixed',
      method: 'POST',
      path: `${coll}/services`,
      body: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'np' }, spec: { type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] } },
    },
    {
      id: 'valid:service-nodeport-taken',
      method: 'POST',
      path: `${coll}/services`,
      body: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'np2' }, spec: { type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] } },
    },
    {
      id: 'valid:service-nodeport-range',
      method: 'POST',
      path: `${coll}/services`,
      body: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'np3' }, spec: { type: 'NodePort', ports: [{ port: 80, nodePort: 80 }] } },
    },
    {
      id: 'valid:service-duplicate-port',
      method: 'POST',
      path: `${coll}/services`,
      body: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'dup' },
        spec: {
          ports: [
            { name: 'a', port: 80 },
            { name: 'a', port: 81 },
          ],
        },
      },
    },
    {
      id: 'valid:service-external-name',
      method: 'POST',
      path: `${coll}/services`,
      body: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'ext' }, spec: { type: 'ExternalName', externalName: 'example.com' } },
    },
    {
      id: 'valid:deploy',
      method: 'POST',
      path: `${coll}/deployments`.replace('/api/v1', '/apis/apps/v1'),
      body: deploy('d', { replicas: 2, selector: { matchLabels: { app: 'd' } }, template: template('d') }),
    },
    {
      id: 'valid:deploy-selector-change',
      method: 'PATCH',
      path: '/apis/apps/v1/namespaces/diff-valid/deployments/d',
      contentType: MERGE_PATCH,
      body: { spec: { selector: { matchLabels: { app: 'e' } }, template: { metadata: { labels: { app: 'e' } } } } },
    },
    {
      id: 'valid:deploy-no-selector',
      method: 'POST',
      path: '/apis/apps/v1/namespaces/diff-valid/deployments',
      body: deploy('nosel', { template: template('d') }),
    },
    {
      id: 'valid:deploy-bad-image',
      method: 'POST',
      path: '/apis/apps/v1/namespaces/diff-valid/deployments',
      body: deploy('noimage', {
        selector: { matchLabels: { app: 'd' } },
        template: { metadata: { labels: { app: 'd' } }, spec: { containers: [{ name: 'c' }] } },
      }),
    },
    { id: 'valid:deploy-scale-get', method: 'GET', path: '/apis/apps/v1/namespaces/diff-valid/deployments/d/scale' },
    {
      id: 'valid:deploy-scale-patch',
      method: 'PATCH',
      path: '/apis/apps/v1/namespaces/diff-valid/deployments/d/scale',
      contentType: MERGE_PATCH,
      body: { spec: { replicas: 3 } },
    },
    {
      id: 'valid:deploy-scale-negative',
      method: 'PATCH',
      path: '/apis/apps/v1/namespaces/diff-valid/deployments/d/scale',
      contentType: MERGE_PATCH,
      body: { spec: { replicas: -3 } },
    },
    {
      id: 'valid:deploy-status',
      method: 'PATCH',
      path: '/apis/apps/v1/namespaces/diff-valid/deployments/d/status',
      contentType: MERGE_PATCH,
      body: { status: { replicas: 3, readyReplicas: 2, availableReplicas: 2, updatedReplicas: 3, observedGeneration: 1 } },
    },
    {
      id: 'valid:deploy-status-spec-ignored',
      method: 'PATCH',
      path: '/apis/apps/v1/namespaces/diff-valid/deployments/d/status',
      contentType: MERGE_PATCH,
      body: { spec: { replicas: 9 } },
    },
    {
      id: 'valid:deploy-status-invalid',
      method: 'PATCH',
      path: '/apis/apps/v1/namespaces/diff-valid/deployments/d/status',
      contentType: MERGE_PATCH,
      body: { status: { readyReplicas: -1 } },
    },
    {
      id: 'valid:deploy-spec-ignores-status',
      method: 'PATCH',
      path: '/apis/apps/v1/namespaces/diff-valid/deployments/d',
      contentType: MERGE_PATCH,
      body: { status: { replicas: 7 } },
    },
    { id: 'valid:deploy-get', method: 'GET', path: '/apis/apps/v1/namespaces/diff-valid/deployments/d' },
    {
      id: 'valid:sts-update-forbidden',
      method: 'POST',
      path: '/apis/apps/v1/namespaces/diff-valid/statefulsets',
      body: {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name: 's' },
        spec: { serviceName: 's', selector: { matchLabels: { app: 's' } }, template: template('s') },
      },
    },
    {
      id: 'valid:sts-service-name-change',
      method: 'PATCH',
      path: '/apis/apps/v1/namespaces/diff-valid/statefulsets/s',
      contentType: MERGE_PATCH,
      body: { spec: { serviceName: 'other' } },
    },
    {
      id: 'valid:sts-scale',
      method: 'PATCH',
      path: '/apis/apps/v1/namespaces/diff-valid/statefulsets/s/scale',
      contentType: MERGE_PATCH,
      body: { spec: { replicas: 2 } },
    },
    {
      id: 'valid:pod',
      method: 'POST',
      path: `${coll}/pods`,
      body: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', labels: { app: 'p' } }, spec: podSpec() },
    },
    {
      id: 'valid:pod-change-container-name',
      method: 'PATCH',
      path: `${coll}/pods/p`,
      contentType: JSON_PATCH,
      body: [{ op: 'replace', path: '/spec/containers/0/name', value: 'd' }],
    },
    {
      id: 'valid:pod-change-image',
      method: 'PATCH',
      path: `${coll}/pods/p`,
      contentType: JSON_PATCH,
      body: [{ op: 'replace', path: '/spec/containers/0/image', value: 'nginx:1.29' }],
    },
    {
      id: 'valid:pod-bind',
      method: 'POST',
      path: `${coll}/pods/p/binding`,
      body: { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'p' }, target: { apiVersion: 'v1', kind: 'Node', name: 'node-a' } },
    },
    {
      id: 'valid:pod-bind-again',
      method: 'POST',
      path: `${coll}/pods/p/binding`,
      body: { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'p' }, target: { apiVersion: 'v1', kind: 'Node', name: 'node-b' } },
    },
    {
      id: 'valid:pod-status',
      method: 'PATCH',
      path: `${coll}/pods/p/status`,
      contentType: STRATEGIC,
      body: { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } },
    },
    {
      id: 'valid:pdb',
      method: 'POST',
      path: '/apis/policy/v1/namespaces/diff-valid/poddisruptionbudgets',
      body: {
        apiVersion: 'policy/v1',
        kind: 'PodDisruptionBudget',
        metadata: { name: 'pdb' },
        spec: { minAvailable: 1, selector: { matchLabels: { app: 'p' } } },
      },
    },
    {
      id: 'valid:pdb-both',
      method: 'POST',
      path: '/apis/policy/v1/namespaces/diff-valid/poddisruptionbudgets',
      body: {
        apiVersion: 'policy/v1',
        kind: 'PodDisruptionBudget',
        metadata: { name: 'pdb2' },
        spec: { minAvailable: 1, maxUnavailable: 1, selector: { matchLabels: { app: 'p' } } },
      },
    },
    {
      id: 'valid:pdb-percent',
      method: 'POST',
      path: '/apis/policy/v1/namespaces/diff-valid/poddisruptionbudgets',
      body: {
        apiVersion: 'policy/v1',
        kind: 'PodDisruptionBudget',
        metadata: { name: 'pdb3' },
        spec: { maxUnavailable: '150%', selector: { matchLabels: { app: 'none' } } },
      },
    },
    {
      id: 'valid:evict-blocked',
      method: 'POST',
      path: `${coll}/pods/p/eviction`,
      body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'p' } },
    },
    {
      id: 'valid:evict-missing',
      method: 'POST',
      path: `${coll}/pods/nope/eviction`,
      body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'nope' } },
    },
    {
      id: 'valid:evict-name-mismatch',
      method: 'POST',
      path: `${coll}/pods/p/eviction`,
      body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'q' } },
    },
    {
      id: 'valid:pdb-status',
      method: 'PATCH',
      path: '/apis/policy/v1/namespaces/diff-valid/poddisruptionbudgets/pdb/status',
      contentType: MERGE_PATCH,
      body: { status: { observedGeneration: 1, disruptionsAllowed: 1, currentHealthy: 2, desiredHealthy: 1, expectedPods: 2 } },
    },
    {
      id: 'valid:evict-allowed',
      method: 'POST',
      path: `${coll}/pods/p/eviction`,
      body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'p' } },
    },
    { id: 'valid:pod-after-evict', method: 'GET', path: `${coll}/pods/p` },
    {
      id: 'valid:delete-precondition',
      method: 'DELETE',
      path: `${coll}/secrets/tls`,
      body: { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { uid: 'not-the-uid' } },
    },
    {
      id: 'valid:delete-precondition-rv',
      method: 'DELETE',
      path: `${coll}/secrets/tls`,
      body: { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { resourceVersion: '1' } },
    },
    {
      id: 'valid:delete-bad-propagation',
      method: 'DELETE',
      path: `${coll}/secrets/tls`,
      body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Sideways' },
    },
    { id: 'valid:delete-dry-run', method: 'DELETE', path: `${coll}/secrets/tls?dryRun=All` },
    { id: 'valid:after-dry-delete', method: 'GET', path: `${coll}/secrets/tls` },
    {
      id: 'valid:delete-foreground',
      method: 'DELETE',
      path: `${coll}/secrets/tls`,
      body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Foreground' },
    },
    { id: 'valid:after-foreground', method: 'GET', path: `${coll}/secrets/tls` },
    {
      id: 'valid:owner-ref',
      method: 'POST',
      path: `${coll}/configmaps`,
      body: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: 'owned',
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'd', uid: '{{uid:valid:deploy}}', controller: true, blockOwnerDeletion: true }],
        },
      },
    },
    {
      id: 'valid:owner-ref-two-controllers',
      method: 'POST',
      path: `${coll}/configmaps`,
      body: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: 'owned2',
          ownerReferences: [
            { apiVersion: 'apps/v1', kind: 'Deployment', name: 'd', uid: 'u1', controller: true },
            { apiVersion: 'apps/v1', kind: 'Deployment', name: 'e', uid: 'u2', controller: true },
          ],
        },
      },
    },
    {
      id: 'valid:finalizer',
      method: 'POST',
      path: `${coll}/configmaps`,
      body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'fin', finalizers: ['example.com/hold'] } },
    },
    { id: 'valid:finalizer-delete', method: 'DELETE', path: `${coll}/configmaps/fin` },
    { id: 'valid:finalizer-get', method: 'GET', path: `${coll}/configmaps/fin` },
    { id: 'valid:finalizer-update-terminating', method: 'PATCH', path: `${coll}/configmaps/fin`, contentType: MERGE_PATCH, body: { data: { a: 'b' } } },
    {
      id: 'valid:finalizer-add-terminating',
      method: 'PATCH',
      path: `${coll}/configmaps/fin`,
      contentType: JSON_PATCH,
      body: [{ op: 'add', path: '/metadata/finalizers/-', value: 'example.com/more' }],
    },
    { id: 'valid:finalizer-release', method: 'PATCH', path: `${coll}/configmaps/fin`, contentType: MERGE_PATCH, body: { metadata: { finalizers: null } } },
    { id: 'valid:finalizer-gone', method: 'GET', path: `${coll}/configmaps/fin` },
    { id: 'valid:namespace-delete', method: 'DELETE', path: '/api/v1/namespaces/diff-other' },
    {
      id: 'valid:namespace-terminating-create',
      method: 'POST',
      path: '/api/v1/namespaces/diff-other/configmaps',
      body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'late' } },
    },
    { id: 'valid:namespace-terminating-get', method: 'GET', path: '/api/v1/namespaces/diff-other' },
    { id: 'valid:namespace-delete-system', method: 'DELETE', path: '/api/v1/namespaces/kube-system' },
    { id: 'valid:namespace-finalize-get', method: 'GET', path: '/api/v1/namespaces/default/finalize' },
    {
      id: 'valid:sa-token',
      method: 'POST',
      path: '/api/v1/namespaces/diff-valid/serviceaccounts/default/token',
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 600 } },
    },
    {
      id: 'valid:sa-token-missing',
      method: 'POST',
      path: '/api/v1/namespaces/diff-valid/serviceaccounts/nobody/token',
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} },
    },
    {
      id: 'valid:sa-token-short',
      method: 'POST',
      path: '/api/v1/namespaces/diff-valid/serviceaccounts/default/token',
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 60 } },
    },
    {
      id: 'valid:pod-no-sa',
      method: 'POST',
      path: '/api/v1/namespaces/diff-sa/pods',
      body: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: podSpec() },
    },
    {
      id: 'valid:pod-missing-sa',
      method: 'POST',
      path: `${coll}/pods`,
      body: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p2' }, spec: { ...podSpec(), serviceAccountName: 'nobody' } },
    },
    { id: 'valid:method-not-allowed', method: 'PUT', path: `${coll}/configmaps`, body: {} },
    { id: 'valid:cluster-scoped-in-namespace', method: 'GET', path: `${coll}/nodes` },
  ];
}

export function corpus(): Step[] {
  return [...setup(), ...KINDS.flatMap(matrix), ...pagination(), ...watches(), ...rbac(), ...nodes(), ...bootstrap(), ...validation()];
}
