import type { ClusterRow, NodePoolRow, NodeRow, OperationRow, ClusterEventRow } from '../../../db/src/index.js';

export const presentCluster = (row: Omit<ClusterRow, 'sealed_secrets'>, seedName: string | null) => ({
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
});

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
        status: {
          nodes: nodes.length,
          ready: nodes.filter((node) => node.phase === 'Ready').length,
          unhealthy: nodes.filter((node) => node.phase === 'Unhealthy').length,
        },
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
