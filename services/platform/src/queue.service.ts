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
   * no job gets one. A job already waiting or running is left alone and reported as busy.
   */
  async wakeCluster(clusterId: string): Promise<'promoted' | 'queued' | 'busy'> {
    const job = await this.controlPlane.getJob(jobIds.reconcileCluster(clusterId));
    if (!job) {
      await this.reconcileCluster(clusterId);
      return 'queued';
    }
    try {
      await job.promote();
      return 'promoted';
    } catch {
      // Not delayed (any more): it is waiting for a worker or running.
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
