// The pool's operations as the worker sees them: started when a pass picks them up, given
// progress as nodes move, and closed when what they asked for holds (or can no longer happen).
import { Injectable } from '@nestjs/common';
import { nodesAtVersion, poolProgress, type PlannedNode } from '../../../core/src/state/node-pool-plan.js';
import {
  NodePoolRepository,
  NodeRepository,
  OperationRepository,
  UnitOfWork,
  type ClusterRow,
  type NodePoolRow,
  type OperationRow,
} from '../../../db/src/index.js';
import { ClusterEvents } from '../../../platform/src/index.js';
import { PoolEvents } from './pool-events.js';
import { bareVersion, rolloutVersion, type PassContext } from './pool-pass.js';

function sameProgress(a: unknown, b: Record<string, number>): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

@Injectable()
export class PoolOperations {
  constructor(
    private readonly unitOfWork: UnitOfWork,
    private readonly operations: OperationRepository,
    private readonly pools: NodePoolRepository,
    private readonly nodes: NodeRepository,
    private readonly clusterEvents: ClusterEvents,
    private readonly events: PoolEvents,
  ) {}

  listOpen(pool: NodePoolRow, kind?: OperationRow['kind']): Promise<OperationRow[]> {
    return this.operations.listOpen({ clusterId: pool.cluster_id, poolId: pool.id, kind });
  }

  async start(pool: NodePoolRow): Promise<void> {
    for (const operation of await this.listOpen(pool)) {
      if (operation.status === 'pending') await this.operations.update(operation.id, { status: 'running' });
    }
  }

  async supersede(operation: OperationRow, message: string): Promise<void> {
    await this.operations.update(operation.id, { status: 'superseded', message });
  }

  /** Fails the open operations (of `kinds`, or all) with the reason, and says so once on the timeline. */
  async fail(pool: NodePoolRow, cluster: ClusterRow, reason: string, message: string, kinds?: ReadonlyArray<OperationRow['kind']>): Promise<void> {
    const open = (await this.listOpen(pool)).filter((operation) => !kinds || kinds.includes(operation.kind));
    for (const operation of open) await this.operations.update(operation.id, { status: 'failed', message: `${reason}: ${message}` });
    await this.events.warnOnce(cluster, `${pool.id}:${reason}`, reason, `node pool ${pool.name}: ${message}`);
  }

  /** Records progress on `open` and closes those whose goal the pool reached. */
  async track(context: PassContext, pool: NodePoolRow, open: readonly OperationRow[], planned: readonly PlannedNode[], converged: boolean): Promise<void> {
    const { cluster } = context;
    const progress = poolProgress(context.desired, planned);
    for (const operation of open) {
      if (operation.kind === 'rollout-nodes') {
        await this.followRollout(context, pool, operation, planned, converged);
        continue;
      }
      if (operation.kind === 'replace-node') {
        const target = (operation.target as { nodeId?: string }).nodeId;
        const gone = target ? await this.nodes.isDeleted(target) : false;
        if (gone || !target) {
          await this.operations.update(operation.id, {
            status: 'succeeded',
            progress: { ...progress },
            message: `node ${(operation.target as { nodeName?: string }).nodeName ?? target} replaced`,
          });
          continue;
        }
      }
      if (operation.kind === 'scale' && converged) {
        await this.operations.update(operation.id, { status: 'succeeded', progress: { ...progress }, message: `${progress.ready} node(s) ready` });
        await this.events.record(cluster, 'NodePoolScaled', `node pool ${pool.name} scaled to ${progress.ready} node(s)`);
        continue;
      }
      if (!sameProgress(operation.progress, { ...progress })) await this.operations.update(operation.id, { progress: { ...progress } });
    }
  }

  private async followRollout(
    context: PassContext,
    pool: NodePoolRow,
    operation: OperationRow,
    planned: readonly PlannedNode[],
    converged: boolean,
  ): Promise<void> {
    const version = rolloutVersion(operation) ?? bareVersion(context.cluster.version);
    const updated = nodesAtVersion(planned, { kubeletVersion: `v${version}` });
    const progress = { ...poolProgress(context.desired, planned), updated };
    if (converged && updated === context.desired && context.rollout) {
      await this.operations.update(operation.id, { status: 'succeeded', progress, message: `${updated} node(s) at ${version}` });
      await this.events.record(context.cluster, 'NodePoolRolledOut', `node pool ${pool.name}: all ${updated} node(s) run ${version}`);
      return;
    }
    if (!sameProgress(operation.progress, progress)) await this.operations.update(operation.id, { progress });
  }

  /** The last step of a pool deletion, once no node and no token is left: the rows go, the operations close. */
  async deletePool(pool: NodePoolRow, cluster: ClusterRow): Promise<void> {
    await this.unitOfWork.run(async (tx) => {
      await this.nodes.deleteAllInPool(pool.id, tx);
      for (const operation of await this.operations.listOpen({ clusterId: cluster.id, poolId: pool.id }, tx)) {
        await this.operations.update(
          operation.id,
          operation.kind === 'delete-pool'
            ? { status: 'succeeded', message: 'node pool deleted' }
            : { status: 'superseded', message: 'the node pool was deleted' },
          tx,
        );
      }
      await this.pools.delete(pool.id, tx);
      await this.clusterEvents.record(
        {
          clusterId: cluster.id,
          projectId: cluster.project_id,
          reason: 'NodePoolDeleted',
          message: `node pool ${pool.name} deleted; its machines are terminated`,
        },
        tx,
      );
    });
    await this.clusterEvents.notify(cluster.id);
  }
}
