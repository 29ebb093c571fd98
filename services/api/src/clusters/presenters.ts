import {
  conditionsFrom,
  summarizeCluster,
  summarizePool,
  nodeIsReady,
  type ClusterSummary,
  type PoolSummaryInput,
} from '../../../core/src/state/cluster-summary.js';
import type { ClusterRow, NodePoolRow, NodeRow, OperationRow, ClusterEventRow } from '../../../db/src/index.js';

/** What a pool's part of the status model reads of its rows (the listing selects no more). */
export type SummaryPoolRow = Pick<NodePoolRow, 'id' | 'cluster_id' | 'name' | 'replicas' | 'deletion_requested_at' | 'conditions'>;
export type SummaryNodeRow = Pick<NodeRow, 'pool_id' | 'phase' | 'conditions'>;

export const poolSummaryInput = (row: SummaryPoolRow, nodes: readonly SummaryNodeRow[]): PoolSummaryInput => ({
  id: row.id,
  name: row.name,
  replicas: row.replicas,
  deleting: row.deletion_requested_at !== null,
  conditions: conditionsFrom(row.conditions),
  nodes: nodes.map((node) => ({ phase: node.phase, conditions: conditionsFrom(node.conditions) })),
});

/** The status model every view renders; `upgradingFrom` is what the oldest open upgrade started from. */
export const clusterSummary = (
  row: Omit<ClusterRow, 'sealed_secrets'>,
  seedName: string | null,
  pools: readonly PoolSummaryInput[],
  upgradingFrom: string | undefined,
): ClusterSummary =>
  summarizeCluster({
    phase: row.phase,
    phaseReason: row.phase_reason || null,
    conditions: conditionsFrom(row.conditions),
    version: row.version,
    upgradingFrom,
    generation: row.generation,
    observedGeneration: row.observed_generation,
    deletionRequested: row.deletion_requested_at !== null,
    endpoint: row.endpoint,
    seedName,
    pools,
  });

export const presentCluster = (row: Omit<ClusterRow, 'sealed_secrets'>, seedName: string | null, summary: ClusterSummary) => ({
  id: row.id,
  projectId: row.project_id,
  name: row.name,
  version: row.version,
  seed: row.seed_id ? { id: row.seed_id, name: seedName } : null,
  exposeStrategy: row.expose_strategy,
  etcdReplicas: row.etcd_replicas,
  network: { podCidr: row.pod_cidr, serviceCidr: row.service_cidr, mtu: row.network_mtu },
  cni: row.cni,
  addons: { metricsServer: row.addons.metricsServer ?? false },
  phase: row.phase,
  phaseReason: row.phase_reason,
  conditions: row.conditions,
  endpoint: row.endpoint,
  generation: row.generation,
  observedGeneration: row.observed_generation,
  createdAt: row.created_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
  deletionRequestedAt: row.deletion_requested_at?.toISOString() ?? null,
  summary,
});

/** The same computation as the cluster summary's pool entry, so a pool card and the cluster never disagree. */
function poolStatus(row: NodePoolRow, nodes: readonly NodeRow[]) {
  const pool = summarizePool(poolSummaryInput(row, nodes));
  return {
    nodes: nodes.length,
    ready: pool.ready,
    unhealthy: nodes.filter((node) => node.phase === 'Unhealthy').length,
    state: pool.state,
    reason: pool.reason,
    message: pool.message,
    headline: pool.headline,
  };
}

export const presentPool = (row: NodePoolRow, nodes?: NodeRow[]) => ({
  id: row.id,
  clusterId: row.cluster_id,
  name: row.name,
  credentialId: row.credential_id,
  provider: row.provider,
  region: row.region,
  size: row.size,
  image: row.image,
  replicas: row.replicas,
  labels: row.labels,
  taints: row.taints,
  sshPublicKeys: row.ssh_public_keys,
  healthCheck: row.health_check,
  conditions: row.conditions,
  ...(nodes
    ? {
        status: poolStatus(row, nodes),
      }
    : {}),
  createdAt: row.created_at.toISOString(),
  deletionRequestedAt: row.deletion_requested_at?.toISOString() ?? null,
});

export const presentNode = (row: NodeRow) => ({
  id: row.id,
  poolId: row.pool_id,
  name: row.name,
  cloudId: row.cloud_id,
  addresses: { private: row.private_ip, public: row.public_ip },
  phase: row.phase,
  phaseReason: row.phase_reason,
  phaseChangedAt: row.phase_changed_at?.toISOString() ?? null,
  /** Counted ready by the pool and the cluster summary: phase Ready and the tenant Node's Ready condition True. */
  ready: nodeIsReady({ phase: row.phase, conditions: conditionsFrom(row.conditions) }),
  /** Ready, LeaseFresh and SshReachable as the node health checker last saw them. */
  conditions: row.conditions,
  unhealthySince: row.unhealthy_since?.toISOString() ?? null,
  lastHeartbeatAt: row.last_heartbeat_at?.toISOString() ?? null,
  sshProbe: row.ssh_probe,
  /** The host key fingerprint pinned on first contact (public; the pool's private key never leaves the worker). */
  sshHostKeyFingerprint: row.ssh_host_key,
  /** As the Node reported it when it became Ready ("v1.36.3"); null before. */
  kubeletVersion: row.kubelet_version,
  createdAt: row.created_at.toISOString(),
});

export const presentOperation = (row: OperationRow) => ({
  id: row.id,
  kind: row.kind,
  status: row.status,
  clusterId: row.cluster_id,
  poolId: row.pool_id,
  target: row.target,
  progress: row.progress,
  message: row.message,
  createdAt: row.created_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
  finishedAt: row.finished_at?.toISOString() ?? null,
});

export const presentEvent = (row: ClusterEventRow) => ({
  id: row.id,
  type: row.type,
  reason: row.reason,
  message: row.message,
  createdAt: row.created_at.toISOString(),
});
