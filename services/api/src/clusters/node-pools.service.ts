import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { conflict, createNodePoolSchema, isUuid, notFound, parseInput, PLANNED_REPLACEMENT, scaleNodePoolSchema } from '../../../core/src/index.js';
import { AuditRepository, NodePoolRepository, NodeRepository, OperationRepository, UnitOfWork, type NodePoolRow } from '../../../db/src/index.js';
import { auditBase, type Actor } from '../auth/principal.js';
import { OperationsService } from '../operations/operations.service.js';
import { ProjectAccess } from '../projects/project-access.js';
import { ClustersService } from './clusters.service.js';
import { presentNode, presentOperation, presentPool } from './presenters.js';

@Injectable()
export class NodePoolsService {
  constructor(
    private readonly unitOfWork: UnitOfWork,
    private readonly pools: NodePoolRepository,
    private readonly nodes: NodeRepository,
    private readonly operationRows: OperationRepository,
    private readonly clusterService: ClustersService,
    private readonly audit: AuditRepository,
    private readonly operations: OperationsService,
    private readonly access: ProjectAccess,
  ) {}

  async create(actor: Actor, projectId: string, clusterId: string, body: unknown) {
    await this.access.require(actor, projectId, 'editor');
    const input = parseInput(createNodePoolSchema, body);
    const cluster = await this.clusterService.find(projectId, clusterId);
    if (cluster.deletion_requested_at) throw conflict('cluster_deleting', 'the cluster is being deleted');
    await this.clusterService.checkNewPool(projectId, input, '');
    const poolId = randomUUID();
    await this.unitOfWork.run(async (tx) => {
      if ((await this.pools.list(clusterId, tx)).some((pool) => pool.name === input.name)) {
        throw conflict('node_pool_exists', `a node pool named ${input.name} already exists in this cluster`);
      }
      await this.clusterService.insertPool(tx, projectId, clusterId, poolId, input, new Date());
      await this.audit.append(
        {
          ...auditBase(actor, projectId),
          action: 'nodepool.create',
          resourceType: 'node_pool',
          resourceId: poolId,
          details: { name: input.name, replicas: input.replicas },
        },
        tx,
      );
    });
    await this.operations.announce(clusterId, [{ kind: 'pool', poolId }]);
    const created = await this.pools.find(clusterId, poolId);
    if (!created) throw notFound('node_pool');
    return presentPool(created, []);
  }

  async list(actor: Actor, projectId: string, clusterId: string) {
    await this.access.require(actor, projectId, 'viewer');
    await this.clusterService.find(projectId, clusterId);
    const pools = await this.pools.list(clusterId);
    return Promise.all(pools.map(async (pool) => presentPool(pool, await this.nodes.listLive(pool.id))));
  }

  async get(actor: Actor, projectId: string, clusterId: string, poolId: string) {
    await this.access.require(actor, projectId, 'viewer');
    const pool = await this.find(projectId, clusterId, poolId);
    return presentPool(pool, await this.nodes.listLive(pool.id));
  }

  /**
   * The node-scaling API. The newest request wins: open scale operations on the pool are
   * superseded, and the worker converges to whatever `replicas` holds when it runs.
   */
  async scale(actor: Actor, projectId: string, clusterId: string, poolId: string, body: unknown) {
    await this.access.require(actor, projectId, 'editor');
    const input = parseInput(scaleNodePoolSchema, body);
    const pool = await this.find(projectId, clusterId, poolId);
    if (pool.deletion_requested_at) throw conflict('node_pool_deleting', 'the node pool is being deleted');
    await this.clusterService.checkPoolInput(projectId, { ...this.asInput(pool), replicas: input.replicas }, poolId);
    const operation = await this.operations.open({
      actor,
      projectId,
      clusterId,
      poolId,
      kind: 'scale',
      target: { replicas: input.replicas, from: pool.replicas },
      progress: { desired: input.replicas },
      supersedes: 'scale',
      change: (tx) => this.pools.update(poolId, { replicas: input.replicas, generation: pool.generation + 1 }, tx),
      event: { reason: 'ScalingRequested', message: `node pool ${pool.name}: scale from ${pool.replicas} to ${input.replicas} replicas requested` },
      audit: { action: 'nodepool.scale', resourceType: 'node_pool', resourceId: poolId, details: { from: pool.replicas, to: input.replicas } },
    });
    return presentOperation(operation);
  }

  async delete(actor: Actor, projectId: string, clusterId: string, poolId: string) {
    await this.access.require(actor, projectId, 'editor');
    const pool = await this.find(projectId, clusterId, poolId);
    const existing = (await this.operationRows.listOpen({ clusterId, poolId, kind: 'delete-pool' }))[0];
    if (existing) return presentOperation(existing);
    const operation = await this.operations.open({
      actor,
      projectId,
      clusterId,
      poolId,
      kind: 'delete-pool',
      target: {},
      change: (tx, { now }) => this.pools.update(poolId, { deletion_requested_at: now, generation: pool.generation + 1 }, tx),
      event: { reason: 'NodePoolDeletionRequested', message: `node pool ${pool.name}: deletion requested` },
      audit: { action: 'nodepool.delete', resourceType: 'node_pool', resourceId: poolId },
    });
    return presentOperation(operation);
  }

  async listNodes(actor: Actor, projectId: string, clusterId: string, poolId: string) {
    await this.access.require(actor, projectId, 'viewer');
    await this.find(projectId, clusterId, poolId);
    return (await this.nodes.listLive(poolId)).map(presentNode);
  }

  /** Replaces one node: a new one comes up first, then this one goes. */
  async replaceNode(actor: Actor, projectId: string, clusterId: string, poolId: string, nodeId: string) {
    await this.access.require(actor, projectId, 'editor');
    const pool = await this.find(projectId, clusterId, poolId);
    const node = isUuid(nodeId) ? await this.nodes.findLive(poolId, nodeId) : undefined;
    if (!node) throw notFound('node');
    if (node.phase === 'Replacing' || node.phase === 'Deleting')
      throw conflict('node_already_leaving', `node ${node.name} is already ${node.phase.toLowerCase()}`);
    const operation = await this.operations.open({
      actor,
      projectId,
      clusterId,
      poolId,
      kind: 'replace-node',
      target: { nodeId, nodeName: node.name },
      change: (tx, { now }) => this.nodes.requestReplacement(nodeId, PLANNED_REPLACEMENT.requested, now, tx),
      event: { reason: 'NodeReplacementRequested', message: `node pool ${pool.name}: replacement of ${node.name} requested` },
      audit: { action: 'node.replace', resourceType: 'node', resourceId: nodeId },
    });
    return presentOperation(operation);
  }

  /**
   * Rolling update of the pool to the cluster's version: outdated nodes are replaced one at a
   * time by the worker, reusing node replacement. A newer rollout supersedes open ones.
   */
  async rollout(actor: Actor, projectId: string, clusterId: string, poolId: string) {
    await this.access.require(actor, projectId, 'editor');
    const cluster = await this.clusterService.find(projectId, clusterId);
    if (cluster.deletion_requested_at) throw conflict('cluster_deleting', 'the cluster is being deleted');
    const pool = await this.find(projectId, clusterId, poolId, { includeDeleting: true });
    if (pool.deletion_requested_at) throw conflict('node_pool_deleting', 'the node pool is being deleted');
    const version = cluster.version.replace(/^v/, '');
    // Nodes are never newer than the apiserver: they wait until the control plane runs the version.
    if (cluster.observed_generation < cluster.generation || cluster.phase !== 'Running') {
      throw conflict(
        'cluster_not_ready',
        `the control plane does not run ${version} yet (phase ${cluster.phase}, generation ${cluster.observed_generation}/${cluster.generation} observed); roll the nodes out once it is Running`,
      );
    }
    const nodes = (await this.nodes.listLive(poolId)).filter((node) => node.phase !== 'Deleting' && node.phase !== 'Deleted');
    // A node that has not registered yet runs what its machine was provisioned with, or, with no
    // machine requested yet, will get the cluster's version.
    const outdated = nodes.filter((node) => {
      const running = node.kubelet_version ?? (node.provisioned_version ? `v${node.provisioned_version}` : `v${version}`);
      return running !== `v${version}`;
    });
    if (outdated.length === 0) throw conflict('nodes_up_to_date', `every node of pool ${pool.name} already runs ${version}`);
    const operation = await this.operations.open({
      actor,
      projectId,
      clusterId,
      poolId,
      kind: 'rollout-nodes',
      target: { version },
      progress: { desired: pool.replicas, updated: nodes.length - outdated.length },
      supersedes: 'rollout-nodes',
      change: (tx) => this.pools.update(poolId, { generation: pool.generation + 1 }, tx),
      event: { reason: 'NodePoolRolloutStarted', message: `rolling ${outdated.length} node(s) of pool ${pool.name} to ${version}` },
      audit: { action: 'nodepool.rollout', resourceType: 'node_pool', resourceId: poolId, details: { version, outdated: outdated.length } },
    });
    return presentOperation(operation);
  }

  private async find(projectId: string, clusterId: string, poolId: string, options: { includeDeleting?: boolean } = {}): Promise<NodePoolRow> {
    await this.clusterService.find(projectId, clusterId);
    const pool = isUuid(poolId) ? await this.pools.find(clusterId, poolId) : undefined;
    if (!pool || (pool.deletion_requested_at && !options.includeDeleting)) throw notFound('node_pool');
    return pool;
  }

  private asInput(pool: NodePoolRow) {
    return {
      name: pool.name,
      credentialId: pool.credential_id,
      region: pool.region,
      size: pool.size,
      image: pool.image,
      replicas: pool.replicas,
      labels: pool.labels,
      taints: pool.taints.map((taint) => ({ ...taint, effect: taint.effect as 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute' })),
      sshPublicKeys: pool.ssh_public_keys,
      healthCheck: pool.health_check,
    };
  }
}
