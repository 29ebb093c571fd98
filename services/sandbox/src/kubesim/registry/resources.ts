// The resource table: what the simulated API server serves, shaped like the real discovery data.

export interface ResourceInfo {
  group: string; // '' for core
  version: string;
  kind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  /** Subresources served, e.g. status, scale, approval, eviction, binding, finalize. */
  subresources: string[];
  verbs: string[];
  /** Review kinds (SubjectAccessReview, TokenReview) are create-only and never stored. */
  virtual?: boolean;
  /** Field labels accepted in fieldSelector besides metadata.name / metadata.namespace. */
  fieldLabels: string[];
  /** kubernetes-models module path, e.g. `apps/v1/Deployment`. */
  modelPath: string;
  /** @kubernetes/client-node model class name, used to detect unknown fields. */
  clientModel: string;
  /** DNS-1123 rule for metadata.name: subdomain (most kinds), label (namespaces, services), path (RBAC). */
  nameRule: 'subdomain' | 'label' | 'path' | 'label-start-alpha';
  categories?: string[];
}

const storedVerbs = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

function resource(
  partial: Omit<ResourceInfo, 'verbs' | 'singular' | 'shortNames' | 'subresources' | 'fieldLabels' | 'modelPath' | 'clientModel' | 'nameRule'> &
    Partial<ResourceInfo>,
): ResourceInfo {
  const groupPath = partial.group === '' ? 'v1' : `${partial.group}/${partial.version}`;
  return {
    verbs: storedVerbs,
    singular: partial.kind.toLowerCase(),
    shortNames: [],
    subresources: [],
    fieldLabels: [],
    modelPath: `${groupPath}/${partial.kind}`,
    clientModel: `V1${partial.kind}`,
    nameRule: 'subdomain',
    ...partial,
  };
}

const podFieldLabels = [
  'spec.nodeName',
  'spec.restartPolicy',
  'spec.schedulerName',
  'spec.serviceAccountName',
  'spec.hostNetwork',
  'status.phase',
  'status.podIP',
  'status.nominatedNodeName',
];
const eventFieldLabels = [
  'involvedObject.kind',
  'involvedObject.namespace',
  'involvedObject.name',
  'involvedObject.uid',
  'involvedObject.apiVersion',
  'involvedObject.resourceVersion',
  'involvedObject.fieldPath',
  'reason',
  'reportingComponent',
  'source',
  'type',
];

export const RESOURCES: ResourceInfo[] = [
  resource({
    group: '',
    version: 'v1',
    kind: 'Namespace',
    plural: 'namespaces',
    namespaced: false,
    shortNames: ['ns'],
    subresources: ['status', 'finalize'],
    fieldLabels: ['status.phase'],
    nameRule: 'label',
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
  }),
  resource({ group: '', version: 'v1', kind: 'Secret', plural: 'secrets', namespaced: true, fieldLabels: ['type'] }),
  resource({ group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true, shortNames: ['cm'] }),
  resource({
    group: '',
    version: 'v1',
    kind: 'Service',
    plural: 'services',
    namespaced: true,
    shortNames: ['svc'],
    subresources: ['status'],
    nameRule: 'label-start-alpha',
    verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
    categories: ['all'],
  }),
  resource({ group: '', version: 'v1', kind: 'Endpoints', plural: 'endpoints', singular: 'endpoints', namespaced: true, shortNames: ['ep'] }),
  resource({ group: 'discovery.k8s.io', version: 'v1', kind: 'EndpointSlice', plural: 'endpointslices', namespaced: true }),
  resource({ group: '', version: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts', namespaced: true, shortNames: ['sa'], subresources: ['token'] }),
  resource({
    group: '',
    version: 'v1',
    kind: 'Node',
    plural: 'nodes',
    namespaced: false,
    shortNames: ['no'],
    subresources: ['proxy', 'status'],
    fieldLabels: ['spec.unschedulable'],
  }),
  resource({
    group: '',
    version: 'v1',
    kind: 'Pod',
    plural: 'pods',
    namespaced: true,
    shortNames: ['po'],
    subresources: ['status', 'eviction', 'binding', 'log'],
    fieldLabels: podFieldLabels,
    categories: ['all'],
  }),
  resource({ group: '', version: 'v1', kind: 'Binding', plural: 'bindings', namespaced: true, virtual: true, verbs: ['create'] }),
  resource({
    group: '',
    version: 'v1',
    kind: 'Event',
    plural: 'events',
    namespaced: true,
    shortNames: ['ev'],
    fieldLabels: eventFieldLabels,
    clientModel: 'CoreV1Event',
  }),
  resource({
    group: '',
    version: 'v1',
    kind: 'PersistentVolumeClaim',
    plural: 'persistentvolumeclaims',
    namespaced: true,
    shortNames: ['pvc'],
    subresources: ['status'],
  }),
  resource({
    group: 'apps',
    version: 'v1',
    kind: 'Deployment',
    plural: 'deployments',
    namespaced: true,
    shortNames: ['deploy'],
    subresources: ['status', 'scale'],
    categories: ['all'],
  }),
  resource({
    group: 'apps',
    version: 'v1',
    kind: 'StatefulSet',
    plural: 'statefulsets',
    namespaced: true,
    shortNames: ['sts'],
    subresources: ['status', 'scale'],
    categories: ['all'],
  }),
  resource({
    group: 'apps',
    version: 'v1',
    kind: 'ReplicaSet',
    plural: 'replicasets',
    namespaced: true,
    shortNames: ['rs'],
    subresources: ['status', 'scale'],
    categories: ['all'],
  }),
  resource({
    group: 'apps',
    version: 'v1',
    kind: 'DaemonSet',
    plural: 'daemonsets',
    namespaced: true,
    shortNames: ['ds'],
    subresources: ['status'],
    categories: ['all'],
  }),
  resource({
    group: 'policy',
    version: 'v1',
    kind: 'PodDisruptionBudget',
    plural: 'poddisruptionbudgets',
    namespaced: true,
    shortNames: ['pdb'],
    subresources: ['status'],
  }),
  resource({ group: 'networking.k8s.io', version: 'v1', kind: 'NetworkPolicy', plural: 'networkpolicies', namespaced: true, shortNames: ['netpol'] }),
  resource({ group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'Role', plural: 'roles', namespaced: true, nameRule: 'path' }),
  resource({ group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'RoleBinding', plural: 'rolebindings', namespaced: true, nameRule: 'path' }),
  resource({ group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRole', plural: 'clusterroles', namespaced: false, nameRule: 'path' }),
  resource({
    group: 'rbac.authorization.k8s.io',
    version: 'v1',
    kind: 'ClusterRoleBinding',
    plural: 'clusterrolebindings',
    namespaced: false,
    nameRule: 'path',
  }),
  resource({
    group: 'certificates.k8s.io',
    version: 'v1',
    kind: 'CertificateSigningRequest',
    plural: 'certificatesigningrequests',
    namespaced: false,
    shortNames: ['csr'],
    subresources: ['status', 'approval'],
    fieldLabels: ['spec.signerName'],
  }),
  resource({ group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', plural: 'leases', namespaced: true }),
  // metrics-server registers its API here; kubesim stores it but aggregates nothing (see README).
  resource({ group: 'apiregistration.k8s.io', version: 'v1', kind: 'APIService', plural: 'apiservices', namespaced: false, subresources: ['status'] }),
  resource({
    group: 'authorization.k8s.io',
    version: 'v1',
    kind: 'SelfSubjectAccessReview',
    plural: 'selfsubjectaccessreviews',
    namespaced: false,
    virtual: true,
    verbs: ['create'],
  }),
  resource({
    group: 'authorization.k8s.io',
    version: 'v1',
    kind: 'SubjectAccessReview',
    plural: 'subjectaccessreviews',
    namespaced: false,
    virtual: true,
    verbs: ['create'],
  }),
  resource({
    group: 'authorization.k8s.io',
    version: 'v1',
    kind: 'LocalSubjectAccessReview',
    plural: 'localsubjectaccessreviews',
    namespaced: true,
    virtual: true,
    verbs: ['create'],
  }),
  resource({ group: 'authentication.k8s.io', version: 'v1', kind: 'TokenReview', plural: 'tokenreviews', namespaced: false, virtual: true, verbs: ['create'] }),
  resource({
    group: 'authentication.k8s.io',
    version: 'v1',
    kind: 'SelfSubjectReview',
    plural: 'selfsubjectreviews',
    namespaced: false,
    virtual: true,
    verbs: ['create'],
  }),
];

export function groupVersion(info: ResourceInfo): string {
  return info.group === '' ? info.version : `${info.group}/${info.version}`;
}

/** The name used in messages and etcd keys' neighbours: `deployments.apps`, `pods`. */
export function qualifiedResource(info: ResourceInfo): string {
  return info.group === '' ? info.plural : `${info.plural}.${info.group}`;
}

export function findResource(group: string, version: string, plural: string): ResourceInfo | undefined {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.plural === plural);
}

export function findResourceByPlural(group: string, plural: string): ResourceInfo | undefined {
  return RESOURCES.find((r) => r.group === group && r.plural === plural);
}

export function groupVersions(): Array<{ group: string; version: string }> {
  const seen = new Map<string, { group: string; version: string }>();
  for (const r of RESOURCES) seen.set(`${r.group}/${r.version}`, { group: r.group, version: r.version });
  return [...seen.values()];
}

/** The etcd key layout of the real kube-apiserver: /registry/<resource>/<namespace>/<name>. */
export function storageKey(info: ResourceInfo, namespace: string | undefined, name: string): string {
  return info.namespaced ? `/registry/${info.plural}/${namespace}/${name}` : `/registry/${info.plural}/${name}`;
}

export function storagePrefix(info: ResourceInfo, namespace?: string): string {
  return info.namespaced && namespace ? `/registry/${info.plural}/${namespace}/` : `/registry/${info.plural}/`;
}
