import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { DEFAULT_JOB_OPTIONS, JOBS, QUEUES, jobIds, type ClusterJob, type PoolJob, type SeedJob } from './queues.js';

/** Enqueues convergence work. Safe to call repeatedly: job ids dedupe. */
@Injectable()
export class QueueService {
  constructor(
    @InjectQueue(QUEUES.controlPlane) readonly controlPlane: Queue,
    @InjectQueue(QUEUES.nodes) readonly nodes: Queue,
    @InjectQueue(QUEUES.health) readonly health: Queue,
    @InjectQueue(QUEUES.seeds) readonly seeds: Queue,
  ) {}

  get all(): Queue[] {
    return [this.controlPlane, this.nodes, this.health, this.seeds];
  }

  async reconcileCluster(clusterId: string, delayMs = 0): Promise<void> {
    const data: ClusterJob = { clusterId };
    await this.controlPlane.add(JOBS.reconcileCluster, data, { ...DEFAULT_JOB_OPTIONS, jobId: jobIds.reconcileCluster(clusterId), delay: delayMs });
  }

  /**
   * Runs the cluster's reconcile now: a delayed (waiting) job is promoted, and a cluster with
   * no job gets one. A job already waiting or running is left alone and reported as busy; a
   * running pass notices a newer generation itself (see ClusterReconciler).
   *
   * Every request that changes a cluster goes through here, not through `reconcileCluster`: a
   * plain add with the job's id is dropped while that job sits delayed, so a delete or an
   * upgrade would wait out whatever the last pass was waiting for (up to the watched-wait poll).
   */
  wakeCluster(clusterId: string): Promise<'promoted' | 'queued' | 'busy'> {
    return this.wake(this.controlPlane, jobIds.reconcileCluster(clusterId), () => this.reconcileCluster(clusterId));
  }

  /** The same for a node pool: a scale request runs now, not after the pool's current wait. */
  wakePool(clusterId: string, poolId: string): Promise<'promoted' | 'queued' | 'busy'> {
    return this.wake(this.nodes, jobIds.reconcilePool(poolId), () => this.reconcilePool(clusterId, poolId));
  }

  private async wake(queue: Queue, jobId: string, add: () => Promise<void>): Promise<'promoted' | 'queued' | 'busy'> {
    const job = await queue.getJob(jobId);
    if (!job) {
      await add();
      return 'queued';
    }
    try {
      await job.promote();
      return 'promoted';
    } catch {
      // Not delayed (any more): it is waiting for a worker or running. A job that finished
      // between the lookup and the promotion is gone, so add again (a no-op if it still exists).
      await add();
      return 'busy';
    }
  }

  async reconcilePool(clusterId: string, poolId: string, delayMs = 0): Promise<void> {
    const data: PoolJob = { clusterId, poolId };
    await this.nodes.add(JOBS.reconcilePool, data, { ...DEFAULT_JOB_OPTIONS, jobId: jobIds.reconcilePool(poolId), delay: delayMs });
  }

  async checkCluster(clusterId: string): Promise<void> {
    const data: ClusterJob = { clusterId };
    await this.health.add(JOBS.checkCluster, data, { ...DEFAULT_JOB_OPTIONS, attempts: 1, jobId: jobIds.checkCluster(clusterId) });
  }

  async checkNodes(clusterId: string): Promise<void> {
    const data: ClusterJob = { clusterId };
    await this.health.add(JOBS.checkNodes, data, { ...DEFAULT_JOB_OPTIONS, attempts: 1, jobId: jobIds.checkNodes(clusterId) });
  }

  async checkSeed(seedId: string): Promise<void> {
    const data: SeedJob = { seedId };
    await this.seeds.add(JOBS.checkSeed, data, { ...DEFAULT_JOB_OPTIONS, attempts: 1, jobId: jobIds.checkSeed(seedId) });
  }
}
