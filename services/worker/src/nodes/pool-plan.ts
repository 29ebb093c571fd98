// What the pool should become this pass: which nodes go, which new rows are made, and which
// outdated node a rollout replaces next. The decisions are `planPool`'s (pure, in core); this
// writes them, compare-and-set on the phases read, so the health checker's verdicts are kept.
import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { planPool, type RolloutTarget } from '../../../core/src/state/node-pool-plan.js';
import { PLANNED_REPLACEMENT, type NodePhase } from '../../../core/src/index.js';
import { NodeRepository, UnitOfWork, type ClusterRow, type NodePoolRow } from '../../../db/src/index.js';
import { ClusterEvents } from '../../../platform/src/index.js';
import { PoolEvents } from './pool-events.js';
import { PoolMachines } from './pool-machines.js';
import { PoolOperations } from './pool-operations.js';
import { bareVersion, plannedOf, rolloutVersion, type PassContext } from './pool-pass.js';

@Injectable()
export class PoolPlanner {
  constructor(
    private readonly unitOfWork: UnitOfWork,
    private readonly nodes: NodeRepository,
    private readonly machines: PoolMachines,
    private readonly operations: PoolOperations,
    private readonly clusterEvents: ClusterEvents,
    private readonly events: PoolEvents,
  ) {}

  /**
   * The version an open rollout rolls to, while the control plane already runs it: nodes are
   * never newer than the apiserver, so a control plane still converging holds the rollout. A
   * rollout whose version the cluster has left behind (upgraded again) is superseded; a new
   * request rolls to the new version.
   */
  async rolloutTarget(pool: NodePoolRow, cluster: ClusterRow): Promise<RolloutTarget | undefined> {
    const rollouts = await this.operations.listOpen(pool, 'rollout-nodes');
    let active: string | undefined;
    for (const operation of rollouts) {
      const version = rolloutVersion(operation);
      if (version === bareVersion(cluster.version)) {
        active = version;
        continue;
      }
      await this.operations.supersede(operation, `the control plane moved on to ${cluster.version}; request a new rollout to roll the nodes to it`);
    }
    if (!active || cluster.phase !== 'Running' || cluster.observed_generation < cluster.generation) return undefined;
    return { kubeletVersion: `v${active}` };
  }

  async apply(context: PassContext): Promise<void> {
    const { pool, cluster } = context;
    let rows = await this.nodes.listLive(pool.id);
    let plan = planPool({ desired: context.desired, nodes: rows.map(plannedOf), canCreate: this.machines.canCreate(context), rollout: context.rollout });
    if (plan.replaceNext && context.rollout) {
      const old = rows.find((row) => row.id === plan.replaceNext);
      // Compare-and-set from Ready: a node the health checker just judged keeps its verdict.
      if (old && (await this.nodes.setPhase(old.id, ['Ready'], 'Replacing', PLANNED_REPLACEMENT.rollingUpdate))) {
        await this.events.record(
          cluster,
          'NodeReplacing',
          `node ${old.name} (kubelet ${old.kubelet_version ?? 'unknown'}): rolling update to ${context.rollout.kubeletVersion}; a replacement is made first, then it is removed`,
        );
      }
      rows = await this.nodes.listLive(pool.id);
      plan = planPool({ desired: context.desired, nodes: rows.map(plannedOf), canCreate: this.machines.canCreate(context), rollout: context.rollout });
    }
    const names = new Map(rows.map((row) => [row.id, row.name]));
    const removed: string[] = [];
    for (const removal of plan.remove) {
      const from: NodePhase[] = removal.reason === 'ScaleDown' ? ['Provisioning', 'Joining', 'Ready', 'Unhealthy'] : ['Replacing'];
      if (await this.nodes.setPhase(removal.id, from, 'Deleting', removal.reason)) removed.push(names.get(removal.id) ?? removal.id);
    }
    if (removed.length > 0) await this.events.record(cluster, 'NodeRemoving', `node pool ${pool.name}: removing ${removed.join(', ')}`);
    if (plan.create.length === 0) return;
    const now = new Date();
    const created = plan.create.map((item) => {
      const id = randomUUID();
      return { id, name: `${pool.name}-${id.slice(0, 8)}`, replacesNodeId: item.replacesNodeId };
    });
    // Rows first: a crash after this commit leaves rows whose machines the next pass asks for.
    await this.unitOfWork.run(async (tx) => {
      await this.nodes.insertProvisioning({ id: pool.id, clusterId: cluster.id }, created, now, tx);
      await this.clusterEvents.record(
        {
          clusterId: cluster.id,
          projectId: cluster.project_id,
          reason: 'NodeProvisioning',
          message: `node pool ${pool.name}: provisioning ${created.map((node) => node.name).join(', ')}`,
        },
        tx,
      );
    });
    await this.clusterEvents.notify(cluster.id);
  }
}
