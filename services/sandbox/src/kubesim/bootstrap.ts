// Objects the real kube-apiserver creates at startup: the system namespaces, the
// `kubernetes` Service and the bootstrap RBAC policy (plugin/pkg/auth/authorizer/rbac/bootstrappolicy).
import { defaultRbacObjects } from './auth/bootstrap-policy.js';
import type { KubeObject, UserInfo } from './contracts.js';
import { findResourceByPlural, type ResourceInfo } from './registry/resources.js';
import { ApiError } from './server/errors.js';
import type { ObjectStore, RequestContext } from './server/store.js';

const systemUser: UserInfo = { username: 'system:apiserver', groups: ['system:masters', 'system:authenticated'] };

function ctx(): RequestContext {
  return { user: systemUser, fieldManager: 'kube-apiserver', fieldValidation: 'Strict', dryRun: false, warnings: [] };
}

export async function bootstrapObjects(store: ObjectStore, options: { kubernetesServiceIp: string; securePort: number; rbac: boolean }): Promise<void> {
  const namespaces = findResourceByPlural('', 'namespaces') as ResourceInfo;
  for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
    await ensure(store, namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  }
  await ensure(store, findResourceByPlural('', 'services') as ResourceInfo, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
    spec: { type: 'ClusterIP', clusterIP: options.kubernetesServiceIp, ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: options.securePort }] },
  });
  if (!options.rbac) return;
  // The same default policy the real rbac/bootstrap-roles post-start hook creates.
  const plurals: Record<string, string> = {
    ClusterRole: 'clusterroles',
    ClusterRoleBinding: 'clusterrolebindings',
    Role: 'roles',
    RoleBinding: 'rolebindings',
  };
  for (const object of defaultRbacObjects()) {
    await ensure(store, findResourceByPlural('rbac.authorization.k8s.io', plurals[object.kind]) as ResourceInfo, object);
  }
}

/** Creates the object unless it exists, so a restart over existing storage is harmless. */
async function ensure(store: ObjectStore, info: ResourceInfo, object: KubeObject): Promise<void> {
  try {
    await store.create(info, object.metadata.namespace, object, ctx());
  } catch (error) {
    if (!(error instanceof ApiError && error.code === 409)) throw error;
  }
}
