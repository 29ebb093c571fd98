import type { Kysely } from 'kysely';
import type { Database, NodePoolRow } from '../schema.js';
import { runner, type Tx } from '../unit-of-work.js';

export type NewNodePool = Omit<
  NodePoolRow,
  | 'created_at'
  | 'labels'
  | 'taints'
  | 'ssh_public_keys'
  | 'health_check'
  | 'conditions'
  | 'sealed_bootstrap_token'
  | 'bootstrap_token_expires_at'
  | 'sealed_ssh_private_key'
  | 'ssh_public_key'
> & {
  labels: Record<string, string>;
  taints: Array<{ key: string; value?: string; effect: string }>;
  ssh_public_keys: string[];
  health_check: NodePoolRow['health_check'];
  conditions: unknown[];
};

/** Node pool rows: the desired replicas and spec, and the pool's bootstrap token and SSH key. */
export class NodePoolRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Pools not being deleted. */
  list(clusterId: string, tx?: Tx): Promise<NodePoolRow[]> {
    return runner(this.db, tx)
      .selectFrom('node_pools')
      .selectAll()
      .where('cluster_id', '=', clusterId)
      .where('deletion_requested_at', 'is', null)
      .orderBy('name')
      .execute();
  }

  /** Every pool of several clusters, deleting ones included, as their status summaries read them: one query. */
  async listSummariesOfClusters(
    clusterIds: readonly string[],
  ): Promise<Array<Pick<NodePoolRow, 'id' | 'cluster_id' | 'name' | 'replicas' | 'deletion_requested_at' | 'conditions'>>> {
    if (clusterIds.length === 0) return [];
    return this.db
      .selectFrom('node_pools')
      .select(['id', 'cluster_id', 'name', 'replicas', 'deletion_requested_at', 'conditions'])
      .where('cluster_id', 'in', clusterIds)
      .orderBy('name')
      .execute();
  }

  listAll(clusterId: string, tx?: Tx): Promise<NodePoolRow[]> {
    return runner(this.db, tx).selectFrom('node_pools').selectAll().where('cluster_id', '=', clusterId).orderBy('name').execute();
  }

  find(clusterId: string, poolId: string, tx?: Tx): Promise<NodePoolRow | undefined> {
    return runner(this.db, tx).selectFrom('node_pools').selectAll().where('cluster_id', '=', clusterId).where('id', '=', poolId).executeTakeFirst();
  }

  async insert(pool: NewNodePool, tx?: Tx): Promise<void> {
    await runner(this.db, tx)
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

  async update(
    poolId: string,
    changes: { replicas?: number; deletion_requested_at?: Date; generation?: number; conditions?: unknown[] },
    tx?: Tx,
  ): Promise<void> {
    const { conditions, ...rest } = changes;
    await runner(this.db, tx)
      .updateTable('node_pools')
      .set({ ...rest, ...(conditions ? { conditions: JSON.stringify(conditions) } : {}), updated_at: new Date() })
      .where('id', '=', poolId)
      .execute();
  }

  async delete(poolId: string, tx?: Tx): Promise<void> {
    await runner(this.db, tx).deleteFrom('node_pools').where('id', '=', poolId).execute();
  }

  async sumReplicasInProject(projectId: string, excludePoolId: string | undefined, tx?: Tx): Promise<number> {
    let query = runner(this.db, tx)
      .selectFrom('node_pools')
      .innerJoin('clusters', 'clusters.id', 'node_pools.cluster_id')
      .select((eb) => eb.fn.coalesce(eb.fn.sum('node_pools.replicas'), eb.val(0)).as('total'))
      .where('node_pools.project_id', '=', projectId)
      .where('node_pools.deletion_requested_at', 'is', null)
      .where('clusters.deleted_at', 'is', null);
    if (excludePoolId) query = query.where('node_pools.id', '!=', excludePoolId);
    const row = await query.executeTakeFirstOrThrow();
    return Number(row.total);
  }

  async countUsingCredential(credentialId: string): Promise<number> {
    const row = await this.db
      .selectFrom('node_pools')
      .innerJoin('clusters', 'clusters.id', 'node_pools.cluster_id')
      .select((eb) => eb.fn.countAll<string | number | bigint>().as('count'))
      .where('node_pools.credential_id', '=', credentialId)
      .where('clusters.deleted_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  /** Pools of live clusters that may have work left: the resync enqueues these. */
  listUnconverged(limit: number): Promise<Array<Pick<NodePoolRow, 'id' | 'cluster_id'>>> {
    return this.db
      .selectFrom('node_pools')
      .innerJoin('clusters', 'clusters.id', 'node_pools.cluster_id')
      .select(['node_pools.id', 'node_pools.cluster_id'])
      .where('clusters.deleted_at', 'is', null)
      .where((eb) =>
        eb.or([
          eb('node_pools.deletion_requested_at', 'is not', null),
          eb.exists(
            eb
              .selectFrom('operations')
              .select('operations.id')
              .whereRef('operations.pool_id', '=', 'node_pools.id')
              .where('operations.status', 'in', ['pending', 'running']),
          ),
          eb('node_pools.sealed_bootstrap_token', 'is not', null),
          // Unhealthy too: the pass asks the cloud for the node's machine, so one terminated behind
          // our back is replaced without waiting for the unhealthy timeout or the maxUnhealthy gate.
          eb.exists(
            eb
              .selectFrom('nodes')
              .select('nodes.id')
              .whereRef('nodes.pool_id', '=', 'node_pools.id')
              .where('nodes.deleted_at', 'is', null)
              .where('nodes.phase', 'in', ['Provisioning', 'Joining', 'Unhealthy', 'Replacing', 'Deleting']),
          ),
          eb(
            'node_pools.replicas',
            '!=',
            eb
              .selectFrom('nodes')
              .select((inner) => inner.fn.countAll<number>().as('count'))
              .whereRef('nodes.pool_id', '=', 'node_pools.id')
              .where('nodes.deleted_at', 'is', null),
          ),
        ]),
      )
      .limit(limit)
      .execute();
  }

  async storeBootstrapToken(poolId: string, sealedToken: string, expiresAt: Date, now: Date): Promise<void> {
    await this.db
      .updateTable('node_pools')
      .set({ sealed_bootstrap_token: sealedToken, bootstrap_token_expires_at: expiresAt, updated_at: now })
      .where('id', '=', poolId)
      .execute();
  }

  async extendBootstrapToken(poolId: string, expiresAt: Date, now: Date): Promise<void> {
    await this.db.updateTable('node_pools').set({ bootstrap_token_expires_at: expiresAt, updated_at: now }).where('id', '=', poolId).execute();
  }

  async clearBootstrapToken(poolId: string, now: Date): Promise<void> {
    await this.db
      .updateTable('node_pools')
      .set({ sealed_bootstrap_token: null, bootstrap_token_expires_at: null, updated_at: now })
      .where('id', '=', poolId)
      .execute();
  }

  /** Stores the pool's SSH key pair unless one is stored already: two passes racing keep the first. */
  async storeSshKeyOnce(poolId: string, publicKey: string, sealedPrivateKey: string): Promise<void> {
    await this.db
      .updateTable('node_pools')
      .set({ ssh_public_key: publicKey, sealed_ssh_private_key: sealedPrivateKey, updated_at: new Date() })
      .where('id', '=', poolId)
      .where('sealed_ssh_private_key', 'is', null)
      .execute();
  }
}
