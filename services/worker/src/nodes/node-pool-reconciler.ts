// Converges one node pool: machines at the cloud, Nodes in the tenant cluster, rows in the
// database. Every step reads what exists before it acts, so a pass can stop (or crash) at any
// point and the next one carries on. This file orders the steps; each lives in its own file:
// pool-machines (cloud), pool-tenant (joins), pool-plan (scale and rollout), pool-credentials
// (bootstrap token, SSH key), node-removal, pool-operations.
import { Injectable } from '@nestjs/common';
import { poolConverged } from '../../../core/src/state/node-pool-plan.js';
import type { CloudDriver } from '../../../clouds/src/index.js';
import { ClusterRepository, NodePoolRepository, NodeRepository, type ClusterRow, type NodePoolRow } from '../../../db/src/index.js';
import { CloudDrivers, CredentialGoneError } from './cloud-drivers.js';
import { NodeRemoval } from './node-removal.js';
import { PoolCredentials } from './pool-credentials.js';
import { PoolEvents } from './pool-events.js';
import { PoolMachines } from './pool-machines.js';
import { PoolOperations } from './pool-operations.js';
import { plannedOf, type PassContext } from './pool-pass.js';
import { PoolPlanner } from './pool-plan.js';
import { PoolTenants } from './pool-tenant.js';

/** How soon a pass looks again while machines boot, nodes join or drains wait. */
export const POOL_POLL_MS = 3_000;
const MAX_PASSES = 5;

export interface ReconcileOutcome {
  requeueAfterMs?: number;
  /** The generation the waiting pass converged towards. */
  generation?: number;
}

@Injectable()
export class NodePoolReconciler {
  /** The generation each pool's "NodePoolReconciling" event was recorded for, so polls stay quiet. */
  private readonly announced = new Map<string, number>();

  constructor(
    private readonly clusters: ClusterRepository,
    private readonly pools: NodePoolRepository,
    private readonly nodes: NodeRepository,
    private readonly drivers: CloudDrivers,
    private readonly events: PoolEvents,
    private readonly operations: PoolOperations,
    private readonly credentials: PoolCredentials,
    private readonly tenants: PoolTenants,
    private readonly machines: PoolMachines,
    private readonly planner: PoolPlanner,
    private readonly removal: NodeRemoval,
  ) {}

  /**
   * A request that arrives while this job runs is folded into it (the job id is taken), so the
   * job goes round again until the generation it worked on is the latest.
   */
  async reconcile(clusterId: string, poolId: string): Promise<ReconcileOutcome> {
    for (let pass = 0; pass < MAX_PASSES; pass += 1) {
      const pool = await this.pools.find(clusterId, poolId);
      if (!pool) {
        this.forget(poolId);
        return {};
      }
      const outcome = await this.reconcileOnce(pool);
      const after = await this.pools.find(clusterId, poolId);
      if (!after) continue;
      // A scale or delete request that came in during the pass is acted on now, not after the
      // wait this pass chose for the previous generation.
      if (after.generation !== pool.generation) continue;
      return outcome.requeueAfterMs !== undefined ? { ...outcome, generation: after.generation } : {};
    }
    return { requeueAfterMs: 1_000 };
  }

  /** Whether the pool moved past `generation` (or is gone), for a job about to wait. */
  async changedSince(clusterId: string, poolId: string, generation: number): Promise<boolean> {
    const pool = await this.pools.find(clusterId, poolId);
    return pool?.generation !== generation;
  }

  private forget(poolId: string): void {
    this.announced.delete(poolId);
    this.machines.forget(poolId);
    this.events.forget(poolId);
  }

  private async reconcileOnce(initial: NodePoolRow): Promise<ReconcileOutcome> {
    const cluster = await this.clusters.findById(initial.cluster_id);
    if (!cluster || cluster.deleted_at) return {};
    await this.operations.start(initial);
    const pool = await this.credentials.ensureSshKey(initial);
    const clusterGoing = cluster.deletion_requested_at !== null;
    const removing = clusterGoing || pool.deletion_requested_at !== null;
    await this.announce(pool, cluster, removing);

    let driver: CloudDriver;
    try {
      driver = await this.drivers.forPool(pool);
    } catch (error) {
      if (!(error instanceof CredentialGoneError)) throw error;
      await this.operations.fail(pool, cluster, 'CredentialUnusable', error.message);
      return {};
    }
    const rollout = removing ? undefined : await this.planner.rolloutTarget(pool, cluster);
    const context: PassContext = {
      pool,
      cluster,
      driver,
      tenant: this.tenants.tenantFor(cluster),
      clusterGoing,
      desired: removing ? 0 : pool.replicas,
      rollout,
      wait: false,
    };

    await this.machines.sync(context);
    if (context.tenant) await this.tenants.trackJoins(context);
    await this.planner.apply(context);
    const token = await this.credentials.reconcileToken(context);
    await this.machines.provision(context, token);
    await this.removal.removeNodes(context);
    return this.finish(context);
  }

  /** Deletes a pool that has nothing left, brings its operations up to date, and says when to look again. */
  private async finish(context: PassContext): Promise<ReconcileOutcome> {
    const { cluster } = context;
    const pool = await this.pools.find(cluster.id, context.pool.id);
    if (!pool) return {};
    const rows = await this.nodes.listLive(pool.id);
    const planned = rows.map(plannedOf);
    const converged = poolConverged(context.desired, planned) && !pool.sealed_bootstrap_token;
    const open = await this.operations.listOpen(pool);

    if (pool.deletion_requested_at && rows.length === 0 && !pool.sealed_bootstrap_token) {
      await this.operations.deletePool(pool, cluster);
      this.forget(pool.id);
      return {};
    }
    await this.operations.track(context, pool, open, planned, converged);
    // A rollout's next step starts on a later pass, once this one's removal is recorded.
    const rolling = context.rollout !== undefined && open.some((operation) => operation.kind === 'rollout-nodes');
    if (converged) return context.wait || rolling ? { requeueAfterMs: POOL_POLL_MS } : {};
    // Not converged: come back while something is moving; otherwise the resync or a request does.
    const moving =
      rows.some((row) => row.phase !== 'Ready' && row.phase !== 'Unhealthy') || pool.sealed_bootstrap_token !== null || rows.length !== context.desired;
    return moving || context.wait ? { requeueAfterMs: POOL_POLL_MS } : {};
  }

  private async announce(pool: NodePoolRow, cluster: ClusterRow, removing: boolean): Promise<void> {
    if (this.announced.get(pool.id) === pool.generation) return;
    this.announced.set(pool.id, pool.generation);
    const rows = await this.nodes.listLive(pool.id);
    const target = removing ? 'removing every node' : `converging to ${pool.replicas} node(s)`;
    const waiting = cluster.phase === 'Running' || removing ? '' : `; waiting for the control plane (${cluster.phase})`;
    await this.events.record(
      cluster,
      'NodePoolReconciling',
      `node pool ${pool.name}: ${target}, ${rows.filter((row) => row.phase === 'Ready').length} ready of ${rows.length}${waiting}`,
    );
  }
}
