import { defaultRbacObjects } from '../../../services/sandbox/src/kubesim/auth/index.js';
import type { KubeClient } from '../../../services/sandbox/src/kubesim/controllers/client.js';

const RBAC = 'rbac.authorization.k8s.io';

/** Makes the server enforce exactly the policy auth/ exports, whatever it seeded itself. */
export async function applyDefaultRbac(admin: KubeClient): Promise<void> {
  for (const object of defaultRbacObjects()) {
    const plural = { ClusterRole: 'clusterroles', ClusterRoleBinding: 'clusterrolebindings', Role: 'roles', RoleBinding: 'rolebindings' }[object.kind]!;
    const base = object.metadata.namespace ? `/apis/${RBAC}/v1/namespaces/${object.metadata.namespace}/${plural}` : `/apis/${RBAC}/v1/${plural}`;
    const existing = await admin.getOptional(`${base}/${object.metadata.name}`);
    if (existing)
      await admin.request('PUT', `${base}/${object.metadata.name}`, {
        ...object,
        metadata: { ...object.metadata, resourceVersion: existing.metadata.resourceVersion },
      });
    else await admin.request('POST', base, object);
  }
}
