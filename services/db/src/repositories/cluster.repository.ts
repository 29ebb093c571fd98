import type { Kysely } from 'kysely';
import type { ClusterRow, ClusterUpdate, Database, NewCluster, NodePoolRow, NodeRow, OperationRow } from '../schema.js';

type NewNodePool = Omit<NodePoolRow, 'created_at' | 'labels' | 'taints' | 'ssh_public_keys' | 'health_check' | 'conditions' | 'sealed_bootstrap_token' | 'bootstrap_token_expires_at' | 'sealed_ssh_private_key' | 'ssh_public_key'> & {
  labels: Record<string, string>;
  taints: Array<{ key: string; value?: string; effect: string }>;
  ssh_public_keys: string[];
  health_check: NodePoolRow['health_check'];
  conditions: unknown[];
};

type NewOperation = Omit<OperationRow, 'created_at' | 'target' | 'progress' | 'finished_at'> & {
  target: Record<string, unknown>;
  progress: Record<string, unknown>;
};

/** Clusters and what hangs off them: node pools, nodes and operations. */
export class ClusterRepository {
  constructor(private readonly db: Kysely<Database>) {}

  findLive(projectId: string, clusterId: string, db = this.db): Promise<ClusterRow | undefined> {
    return db
      .selectFrom('clusters')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('id', '=', clusterId)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
  }

  findLiveByName(projectId: string, name: string, db = this.db): Promise<ClusterRow | undefined> {
    return db
      .selectFrom('clusters')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('name', '=', name)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
  }

  findById(clusterId: string, db = this.db): Promise<ClusterRow | undefined> {
    return db.selectFrom('clusters').selectAll().where('id', '=', clusterId).executeTakeFirst();
  }

  /** Without the sealed secrets: a listing never needs them, and they are most of a row's bytes. */
  listLive(projectId: string): Promise<Array<Omit<ClusterRow, 'sealed_secrets'>>> {
    return this.db
      .selectFrom('clusters')
      .select([
        'id', 'project_id', 'name', 'version', 'seed_id', 'expose_strategy', 'pod_cidr', 'service_cidr', 'etcd_replicas', 'phase', 'phase_reason',
        'conditions', 'endpoint', 'generation', 'observed_generation', 'created_at', 'updated_at', 'deletion_requested_at', 'deleted_at',
      ])
      .where('project_id', '=', projectId)
      .where('deleted_at', 'is', null)
      .orderBy('created_at')
      .execute();
  }

  async countLiveInProject(projectId: string, db = this.db): Promise<number> {
    const row = await db
      .selectFrom('clusters')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('project_id', '=', projectId)
      .where('deleted_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  async insert(cluster: NewCluster, db = this.db): Promise<void> {
    await db.insertInto('clusters').values(cluster).execute();
  }

  async update(clusterId: string, changes: ClusterUpdate, db = this.db): Promise<void> {
    await db.updateTable('clusters').set({ ...changes, updated_at: new Date() }).where('id', '=', clusterId).execute();
  }

  /** Clusters whose desired state the world has not caught up with. */
  listUnconverged(limit: number): Promise<Array<Pick<ClusterRow, 'id'>>> {
    return this.db
      .selectFrom('clusters')
      .select('id')
      .where('deleted_at', 'is', null)
      .where((eb) => eb.or([eb('phase', '!=', 'Running'), eb('observed_generation', '<', eb.ref('generation'))]))
      .limit(limit)
      .execute();
  }

  listRunning(limit: number): Promise<Array<Pick<ClusterRow, 'id'>>> {
    return this.db.selectFrom('clusters').select('id').where('deleted_at', 'is', null).where('phase', '=', 'Running').limit(limit).execute();
  }

  // Node pools

  listPools(clusterId: string, db = this.db): Promise<NodePoolRow[]> {
    return db.selectFrom('node_pools').selectAll().where('cluster_id', '=', clusterId).where('deletion_requested_at', 'is', null).orderBy('name').execute();
  }

  listAllPools(clusterId: string, db = this.db): Promise<NodePoolRow[]> {
    return db.selectFrom('node_pools').selectAll().where('cluster_id', '=', clusterId).orderBy('name').execute();
  }

  findPool(clusterId: string, poolId: string, db = this.db): Promise<NodePoolRow | undefined> {
    return db.selectFrom('node_pools').selectAll().where('cluster_id', '=', clusterId).where('id', '=', poolId).executeTakeFirst();
  }

  async insertPool(pool: NewNodePool, db = this.db): Promise<void> {
    await db
      .insertInto('node_pools')
      .values({
        ...pool,
        labels: JSON.stringify(pool.labels),
        taints: JSON.stringify(pool.taints),
        ssh_public_keys: JSON.stringify(pool.ssh_public_keys),
        health_check: JSON.stringify(pool.health_check),
        conditions: JSON.stringify(pool.conditions),
      })
      .execute();
  }

  async updatePool(poolId: string, changes: { replicas?: number; deletion_requested_at?: Date; generation?: number; conditions?: unknown[] }, db = this.db): Promise<void> {
    const { conditions, ...rest } = changes;
    await db
      .updateTable('node_pools')
      .set({ ...rest, ...(conditions ? { conditions: JSON.stringify(conditions) } : {}), updated_at: new Date() })
      .where('id', '=', poolId)
      .execute();
  }

  async deletePool(poolId: string, db = this.db): Promise<void> {
    await db.deleteFrom('node_pools').where('id', '=', poolId).execute();
  }

  async sumReplicasInProject(projectId: string, excludePoolId: string | undefined, db = this.db): Promise<number> {
    let query = db
      .selectFrom('node_pools')
      .innerJoin('clusters', 'clusters.id', 'node_pools.cluster_id')
      .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('node_pools.replicas'), eb.val(0)).as('total'))
      .where('node_pools.project_id', '=', projectId)
      .where('node_pools.deletion_requested_at', 'is', null)
      .where('clusters.deleted_at', 'is', null);
    if (excludePoolId) query = query.where('node_pools.id', '!=', excludePoolId);
    const row = await query.executeTakeFirstOrThrow();
    return Number(row.total);
  }

  async countPoolsUsingCredential(credentialId: string): Promise<number> {
    const row = await this.db
      .selectFrom('node_pools')
      .innerJoin('clusters', 'clusters.id', 'node_pools.cluster_id')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('node_pools.credential_id', '=', credentialId)
      .where('clusters.deleted_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  // Nodes

  listNodes(poolId: string, db = this.db): Promise<NodeRow[]> {
    return db.selectFrom('nodes').selectAll().where('pool_id', '=', poolId).where('deleted_at', 'is', null).orderBy('created_at').execute();
  }

  findNode(poolId: string, nodeId: string): Promise<NodeRow | undefined> {
    return this.db.selectFrom('nodes').selectAll().where('pool_id', '=', poolId).where('id', '=', nodeId).where('deleted_at', 'is', null).executeTakeFirst();
  }

  // Operations

  async insertOperation(operation: NewOperation, db = this.db): Promise<void> {
    await db
      .insertInto('operations')
      .values({ ...operation, target: JSON.stringify(operation.target), progress: JSON.stringify(operation.progress) })
      .execute();
  }

  findOperation(projectId: string, operationId: string): Promise<OperationRow | undefined> {
    return this.db.selectFrom('operations').selectAll().where('project_id', '=', projectId).where('id', '=', operationId).executeTakeFirst();
  }

  listOperations(clusterId: string, limit = 100): Promise<OperationRow[]> {
    return this.db.selectFrom('operations').selectAll().where('cluster_id', '=', clusterId).orderBy('created_at', 'desc').limit(limit).execute();
  }

  listOpenOperations(filter: { clusterId: string; poolId?: string; kind?: OperationRow['kind'] }, db = this.db): Promise<OperationRow[]> {
    let query = db.selectFrom('operations').selectAll().where('cluster_id', '=', filter.clusterId).where('status', 'in', ['pending', 'running']);
    if (filter.poolId) query = query.where('pool_id', '=', filter.poolId);
    if (filter.kind) query = query.where('kind', '=', filter.kind);
    return query.orderBy('created_at').execute();
  }

  async updateOperation(
    operationId: string,
    changes: { status?: OperationRow['status']; progress?: Record<string, unknown>; message?: string },
    db = this.db,
  ): Promise<void> {
    const finished = changes.status === 'succeeded' || changes.status === 'failed' || changes.status === 'superseded';
    await db
      .updateTable('operations')
      .set({
        ...(changes.status ? { status: changes.status } : {}),
        ...(changes.progress ? { progress: JSON.stringify(changes.progress) } : {}),
        ...(changes.message !== undefined ? { message: changes.message } : {}),
        ...(finished ? { finished_at: new Date() } : {}),
        updated_at: new Date(),
      })
      .where('id', '=', operationId)
      .execute();
  }
}
