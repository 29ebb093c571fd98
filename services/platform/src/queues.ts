// Queue names, job ids and job options in one place. Job ids are derived from entity ids so
// that enqueueing the same work twice never creates two jobs; payloads carry ids only.
import type { JobsOptions } from 'bullmq';

export const QUEUES = {
  controlPlane: 'control-plane',
  nodes: 'nodes',
  health: 'health',
  seeds: 'seeds',
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];
export const QUEUE_NAMES: readonly QueueName[] = Object.values(QUEUES);

export const JOBS = {
  reconcileCluster: 'reconcile-cluster',
  resync: 'resync',
  reconcilePool: 'reconcile-pool',
  checkCluster: 'check-cluster',
  /** The node-health scheduler's tick: fans out one checkNodes per cluster with nodes. */
  nodeHealthResync: 'resync-node-health',
  checkNodes: 'check-nodes',
  checkSeed: 'check-seed',
} as const;

export interface ClusterJob {
  clusterId: string;
}
export interface PoolJob {
  clusterId: string;
  poolId: string;
}
export interface SeedJob {
  seedId: string;
}

/** BullMQ refuses ':' in custom ids, so ids use '.' as the separator. */
export const jobIds = {
  reconcileCluster: (clusterId: string) => `cluster.${clusterId}`,
  reconcilePool: (poolId: string) => `pool.${poolId}`,
  checkCluster: (clusterId: string) => `health.${clusterId}`,
  checkNodes: (clusterId: string) => `node-health.${clusterId}`,
  checkSeed: (seedId: string) => `seed.${seedId}`,
};

/**
 * A finished job must not keep its id: BullMQ ignores an add whose id still exists, so a
 * retained job would swallow the next request for the same entity. Outcomes live in the
 * metrics, the logs and the cluster timeline instead.
 */
export const DEFAULT_JOB_OPTIONS: JobsOptions = {
  attempts: 12,
  backoff: { type: 'exponential', delay: 2_000, jitter: 0.5 },
  removeOnComplete: true,
  removeOnFail: true,
};
