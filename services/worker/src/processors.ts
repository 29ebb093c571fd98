// One processor per queue. Each only dispatches: the work lives in the reconcilers.
import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject } from '@nestjs/common';
import { DelayedError, type Job } from 'bullmq';
import { isThrottlingCloudError } from '../../clouds/src/index.js';
import { sealingContext, type SecretBox } from '../../core/src/index.js';
import { SeedRepository } from '../../db/src/index.js';
import { parseKubeconfig, probeApiServer } from '../../kube/src/index.js';
import { APP_CONFIG, JOBS, QUEUES, QueueService, SECRET_BOX, type AppConfig, type ClusterJob, type PoolJob, type SeedJob } from '../../platform/src/index.js';
import { ClusterReconciler } from './cluster-reconciler.js';
import { ClusterHealthChecker } from './control-plane/health-checker.js';
import { JobRunner } from './job-runner.js';
import { NodeHealthChecker } from './nodes/node-health-checker.js';
import { NodePoolReconciler } from './nodes/node-pool-reconciler.js';
import { SeedWatches } from './control-plane/seed-watches.js';

/**
 * A job waiting for pods moves itself back to the delayed set under its own id instead of
 * holding a worker slot: the id stays taken, so requests arriving meanwhile are folded into it.
 * A short lock lets another worker take over quickly after a crash.
 */
@Processor(QUEUES.controlPlane, { concurrency: 16, lockDuration: 15_000, stalledInterval: 5_000 })
export class ControlPlaneProcessor extends WorkerHost {
  constructor(
    private readonly runner: JobRunner,
    private readonly reconciler: ClusterReconciler,
    private readonly watches: SeedWatches,
  ) {
    super();
  }

  async process(job: Job, token?: string): Promise<unknown> {
    const startedAt = Date.now();
    const result = await this.runner.run(QUEUES.controlPlane, job, async () => {
      if (job.name === JOBS.resync) return this.reconciler.resync();
      if (job.name === JOBS.reconcileCluster) return this.reconciler.reconcile((job.data as ClusterJob).clusterId);
      // eslint-disable-next-line no-restricted-syntax -- impossible branch: only the jobs above are enqueued on this queue
      throw new Error(`unknown job ${job.name}`);
    });
    const delay = typeof result === 'object' && result !== null && 'requeueAfterMs' in result ? result.requeueAfterMs : undefined;
    if (typeof delay === 'number' && token) {
      // A seed change seen while this pass ran found the job active and could not promote it.
      const clusterId = job.name === JOBS.reconcileCluster ? (job.data as ClusterJob).clusterId : undefined;
      const woken = (): boolean => clusterId !== undefined && this.watches.wokenSince(clusterId, startedAt);
      const wokenBefore = woken();
      await job.moveToDelayed(Date.now() + (wokenBefore ? 0 : delay), token);
      // A request that came in after the pass's last look found the job still active (so it
      // could not promote it): now that the job is delayed, promote it for them.
      const generation = typeof result === 'object' && result !== null && 'generation' in result ? result.generation : undefined;
      const changed = clusterId !== undefined && typeof generation === 'number' && (await this.reconciler.changedSince(clusterId, generation));
      if (clusterId !== undefined && !wokenBefore && (woken() || changed)) await this.watches.wake(clusterId);
      throw new DelayedError();
    }
    return result;
  }
}

/** Waits for machines to boot and nodes to join the same way: the job moves itself to delayed. */
@Processor(QUEUES.nodes, { concurrency: 16, lockDuration: 30_000, stalledInterval: 10_000 })
export class NodesProcessor extends WorkerHost {
  constructor(
    private readonly runner: JobRunner,
    private readonly reconciler: NodePoolReconciler,
    private readonly queues: QueueService,
  ) {
    super();
  }

  async process(job: Job, token?: string): Promise<unknown> {
    let result;
    try {
      result = await this.runner.run(QUEUES.nodes, job, async () => {
        const { clusterId, poolId } = job.data as PoolJob;
        return this.reconciler.reconcile(clusterId, poolId);
      });
    } catch (error) {
      // The provider still throttles after the driver's retries: back this job off by its own
      // delay, without spending an attempt and without pausing other accounts' jobs (see services/clouds/README.md).
      if (!isThrottlingCloudError(error) || !token) throw error;
      result = { requeueAfterMs: THROTTLED_BACKOFF_MS + Math.floor(Math.random() * THROTTLED_BACKOFF_MS) };
    }
    if (result.requeueAfterMs !== undefined && token) {
      await job.moveToDelayed(Date.now() + result.requeueAfterMs, token);
      // A scale request that came in after the pass's last look found the job active: promote it now.
      const { clusterId, poolId } = job.data as PoolJob;
      if (result.generation !== undefined && (await this.reconciler.changedSince(clusterId, poolId, result.generation))) {
        await this.queues.wakePool(clusterId, poolId).catch(() => undefined);
      }
      throw new DelayedError();
    }
    return result;
  }
}

const THROTTLED_BACKOFF_MS = 10_000;

@Processor(QUEUES.health, { concurrency: 8 })
export class HealthProcessor extends WorkerHost {
  constructor(
    private readonly runner: JobRunner,
    private readonly checker: ClusterHealthChecker,
    private readonly nodeChecker: NodeHealthChecker,
  ) {
    super();
  }

  async process(job: Job): Promise<unknown> {
    return this.runner.run(QUEUES.health, job, async () => {
      if (job.name === JOBS.resync) return { clusters: await this.checker.enqueueAll() };
      if (job.name === JOBS.nodeHealthResync) return { clusters: await this.nodeChecker.enqueueAll() };
      if (job.name === JOBS.checkNodes) return this.nodeChecker.check((job.data as ClusterJob).clusterId);
      return this.checker.check((job.data as ClusterJob).clusterId);
    });
  }
}

@Processor(QUEUES.seeds, { concurrency: 4 })
export class SeedsProcessor extends WorkerHost {
  constructor(
    private readonly runner: JobRunner,
    private readonly seeds: SeedRepository,
    private readonly queues: QueueService,
    @Inject(SECRET_BOX) private readonly secrets: SecretBox,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    super();
  }

  async process(job: Job): Promise<unknown> {
    return this.runner.run(QUEUES.seeds, job, async () => {
      if (job.name === JOBS.resync) {
        const seeds = await this.seeds.list();
        for (const seed of seeds) await this.queues.checkSeed(seed.id);
        return { seeds: seeds.length };
      }
      return this.checkSeed((job.data as SeedJob).seedId);
    });
  }

  private async checkSeed(seedId: string): Promise<unknown> {
    const seed = await this.seeds.findById(seedId);
    if (!seed) return { seedId, skipped: 'gone' };
    const now = new Date();
    try {
      const kubeconfig = parseKubeconfig(this.secrets.open(seed.sealed_kubeconfig, sealingContext.seedKubeconfig(seed.id)));
      const version = await probeApiServer(kubeconfig);
      await this.seeds.recordHealthy(seed.id, `answered /version with ${version.gitVersion}`, version.gitVersion, now);
      return { seedId, health: 'Healthy' };
    } catch (error) {
      const threshold = this.config.seedUnreachableAfterFailures;
      const reason = error instanceof Error ? error.message.slice(0, 450) : 'unreachable';
      const failures = await this.seeds.recordProbeFailure(
        seed.id,
        `probe failed (${Math.min(seed.health_failures + 1, threshold)}/${threshold} in a row): ${reason}`,
        now,
        threshold,
      );
      return { seedId, failures, health: failures >= threshold ? 'Unreachable' : seed.health };
    }
  }
}
