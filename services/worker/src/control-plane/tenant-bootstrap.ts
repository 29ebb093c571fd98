// The objects node join needs inside the tenant cluster (bootstrap-token RBAC, cluster-info,
// kubeadm ConfigMaps), applied through the tenant API once the control plane is up.
import type { KubernetesObject, V1ClusterRole } from '@kubernetes/client-node';
import { buildTenantBootstrapObjects, VIEWER_CLUSTER_ROLE } from '../../../core/src/bootstrap/tenant-objects.js';
import type { ControlPlaneSpec } from '../../../core/src/controlplane/index.js';
import { KubeClient, describeApiError, type ClusterSecrets } from '../../../kube/src/index.js';
import type { ClusterStatus } from './cluster-status.js';
import { objectKey } from './seed-applier.js';

/** A tenant object the apiserver refused; the pass fails and the job retries. */
export class TenantApplyError extends Error {
  constructor(object: KubernetesObject, cause: unknown) {
    super(`tenant apply of ${object.kind} ${object.metadata?.name} failed: ${describeApiError(cause)}`, { cause });
    this.name = 'TenantApplyError';
  }
}

export { VIEWER_CLUSTER_ROLE };

/**
 * Applies the tenant bootstrap objects; `seen` holds the resourceVersions applied before, to
 * tell a repair from a no-op for the `AppliedTenantBootstrap` event. An aborted `signal` stops
 * it before the next object and cuts the request in flight (its sockets are closed).
 */
export async function applyTenantObjects(
  spec: ControlPlaneSpec,
  adminKubeconfig: string,
  secrets: ClusterSecrets,
  seen: Map<string, string>,
  status: ClusterStatus,
  signal: AbortSignal = new AbortController().signal,
): Promise<{ viewerRoleAggregated: boolean }> {
  const tenant = KubeClient.fromYaml(adminKubeconfig);
  const cut = (): void => tenant.close();
  signal.addEventListener('abort', cut, { once: true });
  const objects = buildTenantBootstrapObjects(spec, secrets.pki.ca.cluster.certPem);
  const changed: string[] = [];
  // A pass uses the tenant client for a handful of calls; its pooled connection must not outlive it.
  try {
    for (const object of objects) {
      signal.throwIfAborted();
      try {
        const result = await tenant.apply(object as KubernetesObject);
        const key = `tenant:${objectKey(result)}`;
        if (seen.get(key) !== result.metadata?.resourceVersion) changed.push(`${result.kind}/${result.metadata?.name}`);
        seen.set(key, result.metadata?.resourceVersion ?? '');
      } catch (error) {
        signal.throwIfAborted();
        throw new TenantApplyError(object as KubernetesObject, error);
      }
    }
    signal.throwIfAborted();
    if (changed.length > 0)
      status.event('AppliedTenantBootstrap', `applied ${changed.length} tenant object(s): ${changed.slice(0, 6).join(', ')}${changed.length > 6 ? ', …' : ''}`);
    const viewer = await tenant.read<V1ClusterRole>({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name: VIEWER_CLUSTER_ROLE });
    return { viewerRoleAggregated: (viewer?.rules?.length ?? 0) > 0 };
  } finally {
    signal.removeEventListener('abort', cut);
    tenant.close();
  }
}
