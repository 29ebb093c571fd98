// What one pass of the node pool reconciler carries from step to step, and the small helpers the
// steps share.
import type { NodePhase } from '../../../core/src/index.js';
import { conditionsFrom } from '../../../core/src/state/cluster-summary.js';
import type { PlannedNode, RolloutTarget } from '../../../core/src/state/node-pool-plan.js';
import type { CloudDriver } from '../../../clouds/src/index.js';
import type { ClusterRow, NodePoolRow, NodeRow, OperationRow } from '../../../db/src/index.js';
import type { TenantNodes } from './tenant-nodes.js';

/** Cloud calls in flight per pool; the per-account rate limit sits underneath. */
export const CLOUD_PARALLELISM = 8;

export interface Tenant {
  nodes: TenantNodes;
  /** host:port as nodes reach the apiserver. */
  endpoint: string;
  caCertHash: string;
}

export interface PassContext {
  pool: NodePoolRow;
  cluster: ClusterRow;
  driver: CloudDriver;
  tenant: Tenant | undefined;
  /** The cluster is being deleted: its tenant goes with it, so nothing is drained. */
  clusterGoing: boolean;
  desired: number;
  /** Set while an open rollout may take its next step (the control plane runs its version). */
  rollout: RolloutTarget | undefined;
  /** Something is still moving that no row shows (a drain, an unreadable tenant): poll again. */
  wait: boolean;
}

export const JOINING_PHASES: readonly NodePhase[] = ['Provisioning', 'Joining'];

export function plannedOf(row: NodeRow): PlannedNode {
  const ready = conditionsFrom(row.conditions).find((condition) => condition.type === 'Ready');
  return {
    id: row.id,
    phase: row.phase as NodePhase,
    createdAt: row.created_at,
    replacesNodeId: row.replaces_node_id,
    kubeletVersion: row.kubelet_version,
    nodeReady: ready ? ready.status === 'True' : undefined,
  };
}

export const bareVersion = (version: string): string => version.replace(/^v/, '');

export const rolloutVersion = (operation: OperationRow): string | undefined => {
  const version = (operation.target as { version?: unknown }).version;
  return typeof version === 'string' ? bareVersion(version) : undefined;
};

/** Runs `work` over `items` with at most `limit` in flight. */
export async function forEachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++];
      await work(item);
    }
  });
  await Promise.all(lanes);
}
