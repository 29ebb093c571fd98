// Deleting a control plane from its seed: the namespace goes, and with it (through the seed's
// namespace controller) the pods, the PVCs and so the data.
import type { KubernetesObject } from '@kubernetes/client-node';
import { namespaceFor } from '../../../core/src/controlplane/index.js';
import type { ClusterRow } from '../../../db/src/index.js';
import type { KubeClient } from '../../../kube/src/index.js';
import type { ClusterEvents } from '../../../platform/src/index.js';

/** Deletes the seed namespace; true once it is gone. */
export async function deleteSeedNamespace(seed: KubeClient, cluster: ClusterRow, events: ClusterEvents): Promise<boolean> {
  const ref = { apiVersion: 'v1', kind: 'Namespace', name: namespaceFor(cluster.id) };
  const existing = await seed.read<KubernetesObject & { status?: { phase?: string } }>(ref);
  if (!existing) return true;
  if (!existing.metadata?.deletionTimestamp) {
    await seed.delete(ref);
    await events.record({ clusterId: cluster.id, projectId: cluster.project_id, reason: 'NamespaceDeleting', message: `deleting seed namespace ${ref.name}` });
  }
  return false;
}
