import { Inject, Injectable } from '@nestjs/common';
import { ClusterRepository, type DatabaseHandle, type NodePoolRow } from '../../db/src/index.js';
import { ClusterEvents, DATABASE } from '../../platform/src/index.js';

/** Converges a node pool towards its replicas. */
@Injectable()
export class NodePoolReconciler {
  constructor(
    @Inject(DATABASE) private readonly database: DatabaseHandle,
    private readonly clusters: ClusterRepository,
    private readonly events: ClusterEvents,
  ) {}

  /** Goes round again when the pool changed while this pass ran (see ClusterReconciler). */
  async reconcile(clusterId: string, poolId: string): Promise<void> {
    for (let pass = 0; pass < 5; pass += 1) {
      const pool = await this.clusters.findPool(clusterId, poolId);
      if (!pool) return;
      await this.reconcileOnce(clusterId, pool);
      const after = await this.clusters.findPool(clusterId, poolId);
      if (!after || after.generation === pool.generation) return;
    }
  }

  private async reconcileOnce(clusterId: string, pool: NodePoolRow): Promise<void> {
    const poolId = pool.id;
    const cluster = await this.clusters.findById(clusterId);
    if (!cluster) return;
    if (pool.deletion_requested_at) {
      await this.database.db.transaction().execute(async (trx) => {
        await trx.deleteFrom('nodes').where('pool_id', '=', poolId).execute();
        await this.clusters.deletePool(poolId, trx);
        for (const operation of await this.clusters.listOpenOperations({ clusterId, poolId }, trx)) {
          await this.clusters.updateOperation(operation.id, operation.kind === 'delete-pool' ? { status: 'succeeded', message: 'node pool deleted' } : { status: 'superseded', message: 'the node pool was deleted' }, trx);
        }
        await this.events.record({ clusterId, projectId: cluster.project_id, reason: 'NodePoolDeleted', message: `node pool ${pool.name} deleted` }, trx);
      });
      await this.events.notify(clusterId);
      return;
    }
    const nodes = await this.clusters.listNodes(poolId);
    for (const operation of await this.clusters.listOpenOperations({ clusterId, poolId })) {
      if (operation.status === 'pending') await this.clusters.updateOperation(operation.id, { status: 'running', progress: { desired: pool.replicas, current: nodes.length } });
    }
    await this.events.record({
      clusterId,
      projectId: cluster.project_id,
      reason: 'NodePoolReconciling',
      message: `node pool ${pool.name}: ${nodes.length} of ${pool.replicas} node(s) exist`,
    });
  }
}
