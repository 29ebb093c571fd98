import { hostname } from 'node:os';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { ClusterRepository, NodePoolRepository, OperationRepository, UnitOfWork, type ClusterRow } from '../../db/src/index.js';
import { ClusterEvents, LOGGER, QueueService } from '../../platform/src/index.js';
import { ControlPlaneSteps, WAIT_MS, type PassResult } from './control-plane/control-plane-steps.js';
import { DeletionWatch } from './control-plane/deletion-watch.js';

/**
 * Converges one cluster towards its row. Safe to run any number of times, from any partial
 * state: every step reads what exists before it changes anything.
 */
const MAX_PASSES = 5;

export interface ReconcileOutcome {
  /** The job should run again after this delay (waiting for pods, a namespace to go…). */
  requeueAfterMs?: number;
  /** The generation the waiting pass converged towards. */
  generation?: number;
}

@Injectable()
export class ClusterReconciler {
  private readonly workerName = `${hostname()}/${process.pid}`;
  /** The generation each cluster's "Reconciling" event was recorded for, so waits stay quiet. */
  private readonly announced = new Map<string, number>();

  constructor(
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly unitOfWork: UnitOfWork,
    private readonly clusters: ClusterRepository,
    private readonly pools: NodePoolRepository,
    private readonly operations: OperationRepository,
    private readonly events: ClusterEvents,
    private readonly queues: QueueService,
    private readonly steps: ControlPlaneSteps,
    private readonly deletionWatch: DeletionWatch,
  ) {}

  /**
   * A request that arrives while this job runs is not queued again (the job id is taken), so
   * the job itself goes round again until the generation it converged is the latest. That
   * holds for a pass that ends waiting too: a delete or an upgrade requested meanwhile must not
   * wait out the old generation's wait.
   */
  async reconcile(clusterId: string): Promise<ReconcileOutcome> {
    for (let pass = 0; pass < MAX_PASSES; pass += 1) {
      const cluster = await this.clusters.findById(clusterId);
      if (!cluster || cluster.deleted_at) return {};
      const result = await this.reconcileOnce(cluster);
      const after = await this.clusters.findById(clusterId);
      if (!after || after.deleted_at) return {};
      if (after.generation !== cluster.generation) continue;
      return result.requeueAfterMs !== undefined ? { requeueAfterMs: result.requeueAfterMs, generation: after.generation } : {};
    }
    return { requeueAfterMs: 1_000 };
  }

  /** Whether the cluster moved past `generation` (or is gone), for a job about to wait. */
  async changedSince(clusterId: string, generation: number): Promise<boolean> {
    const cluster = await this.clusters.findById(clusterId);
    return cluster?.deleted_at !== null || cluster.generation !== generation;
  }

  private async reconcileOnce(cluster: ClusterRow): Promise<PassResult> {
    if (cluster.deletion_requested_at) return this.delete(cluster);
    if (cluster.observed_generation < cluster.generation && this.announced.get(cluster.id) !== cluster.generation) {
      this.announced.set(cluster.id, cluster.generation);
      await this.events.record({
        clusterId: cluster.id,
        projectId: cluster.project_id,
        reason: 'Reconciling',
        message: `worker ${this.workerName} picked up generation ${cluster.generation}`,
      });
    }
    // A deletion requested while this pass converges stops it at once (see deletion-watch.ts);
    // the next pass then deletes instead of waiting for this one to finish.
    const watch = await this.deletionWatch.watch(cluster.id);
    try {
      return await this.steps.converge(cluster, watch.signal);
    } catch (error) {
      if (!watch.signal.aborted) throw error;
      this.logger.info({ clusterId: cluster.id }, 'converging pass stopped: deletion requested');
      return { converged: false };
    } finally {
      await watch.stop();
    }
  }

  /**
   * Node pools, then the seed namespace (waiting until it is gone), then the row. Each step
   * checks what is left first, so a crash anywhere resumes where it stopped.
   */
  private async delete(cluster: ClusterRow): Promise<PassResult> {
    // Pools go through the node pool reconciler, which terminates their machines; the
    // namespace (and with it the tenant API) stays until the last pool row is gone.
    const pools = await this.pools.listAll(cluster.id);
    if (pools.length > 0) {
      const unrequested = pools.filter((pool) => !pool.deletion_requested_at);
      if (unrequested.length > 0) {
        const now = new Date();
        await this.unitOfWork.run(async (tx) => {
          for (const pool of unrequested) await this.pools.update(pool.id, { deletion_requested_at: now, generation: pool.generation + 1 }, tx);
          await this.events.record(
            {
              clusterId: cluster.id,
              projectId: cluster.project_id,
              reason: 'NodePoolsDeleting',
              message: `deleting ${pools.length} node pool(s) and their machines`,
            },
            tx,
          );
        });
        await this.events.notify(cluster.id);
      }
      for (const pool of pools) await this.queues.reconcilePool(cluster.id, pool.id);
      return { requeueAfterMs: WAIT_MS, converged: false };
    }
    if (cluster.seed_id && !(await this.steps.deleteNamespace(cluster))) return { requeueAfterMs: WAIT_MS, converged: false };
    this.steps.forget(cluster.id);
    this.announced.delete(cluster.id);
    await this.finishDeletion(cluster);
    return { converged: true };
  }

  private async finishDeletion(cluster: ClusterRow): Promise<void> {
    const now = new Date();
    await this.unitOfWork.run(async (tx) => {
      await this.clusters.update(cluster.id, { phase: 'Deleted', phase_reason: 'Deleted', deleted_at: now, observed_generation: cluster.generation }, tx);
      for (const operation of await this.operations.listOpen({ clusterId: cluster.id }, tx)) {
        await this.operations.update(
          operation.id,
          operation.kind === 'delete-cluster'
            ? { status: 'succeeded', message: 'cluster deleted' }
            : { status: 'superseded', message: 'the cluster was deleted' },
          tx,
        );
      }
      await this.events.record(
        { clusterId: cluster.id, projectId: cluster.project_id, reason: 'Deleted', message: 'seed namespace gone; cluster deleted and seed capacity released' },
        tx,
      );
    });
    await this.events.notify(cluster.id);
    this.logger.info({ clusterId: cluster.id }, 'cluster deleted');
  }

  /** Re-enqueues whatever has not converged, so work lost with Redis heals by itself. */
  async resync(): Promise<{ clusters: number; pools: number }> {
    const unconverged = await this.clusters.listUnconverged(1_000);
    for (const cluster of unconverged) await this.queues.reconcileCluster(cluster.id);
    const pools = await this.pools.listUnconverged(1_000);
    for (const pool of pools) await this.queues.reconcilePool(pool.cluster_id, pool.id);
    return { clusters: unconverged.length, pools: pools.length };
  }
}
