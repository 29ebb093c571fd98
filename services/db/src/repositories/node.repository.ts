import { sql, type Kysely } from 'kysely';
import type { Database, NodeRow } from '../schema.js';
import { runner, type Tx } from '../unit-of-work.js';

export interface NewProvisioningNode {
  id: string;
  name: string;
  replacesNodeId: string | null;
}

export interface MachineFacts {
  cloud_id: string;
  private_ip: string | null;
  public_ip: string | null;
  instance_state: string;
}

/**
 * Node rows of the pool reconciler and the API. Phase changes are compare-and-set on the phases
 * the writer expects, because the health checker moves the same rows.
 */
export class NodeRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** The clusters' live nodes as their status summaries read them, oldest first: by cluster, so the query need not wait for their pools. */
  async listLiveInClusters(clusterIds: readonly string[]): Promise<Array<Pick<NodeRow, 'pool_id' | 'phase' | 'conditions'>>> {
    if (clusterIds.length === 0) return [];
    // Only what a status summary reads: the listing's CPU went to parsing columns nobody showed.
    return this.db
      .selectFrom('nodes')
      .select(['pool_id', 'phase', 'conditions'])
      .where('cluster_id', 'in', clusterIds)
      .where('deleted_at', 'is', null)
      .orderBy('created_at')
      .execute();
  }

  /** The pool's nodes not yet deleted, oldest first. */
  listLive(poolId: string, tx?: Tx): Promise<NodeRow[]> {
    return runner(this.db, tx).selectFrom('nodes').selectAll().where('pool_id', '=', poolId).where('deleted_at', 'is', null).orderBy('created_at').execute();
  }

  findLive(poolId: string, nodeId: string): Promise<NodeRow | undefined> {
    return this.db.selectFrom('nodes').selectAll().where('pool_id', '=', poolId).where('id', '=', nodeId).where('deleted_at', 'is', null).executeTakeFirst();
  }

  listKubeletVersionsInCluster(clusterId: string): Promise<Array<Pick<NodeRow, 'name' | 'kubelet_version'>>> {
    return this.db.selectFrom('nodes').select(['name', 'kubelet_version']).where('cluster_id', '=', clusterId).where('deleted_at', 'is', null).execute();
  }

  async isDeleted(nodeId: string): Promise<boolean> {
    const row = await this.db.selectFrom('nodes').select('id').where('id', '=', nodeId).where('deleted_at', 'is not', null).executeTakeFirst();
    return row !== undefined;
  }

  /** New Provisioning rows for a pool, in one statement each but inside the caller's transaction. */
  async insertProvisioning(pool: { id: string; clusterId: string }, nodes: readonly NewProvisioningNode[], now: Date, tx: Tx): Promise<void> {
    const db = runner(this.db, tx);
    for (const [index, node] of nodes.entries()) {
      await db
        .insertInto('nodes')
        .values({
          id: node.id,
          // Distinct creation times keep "newest first" a strict order within one batch.
          created_at: new Date(now.getTime() + index),
          pool_id: pool.id,
          cluster_id: pool.clusterId,
          name: node.name,
          phase: 'Provisioning',
          phase_reason: node.replacesNodeId ? 'Replacement' : 'ScaleUp',
          phase_changed_at: now,
          replaces_node_id: node.replacesNodeId,
          ssh_probe: sql<string>`null`,
          updated_at: now,
        })
        .execute();
    }
  }

  async recordMachine(nodeId: string, facts: MachineFacts): Promise<void> {
    await this.db
      .updateTable('nodes')
      .set({ ...facts, updated_at: new Date() })
      .where('id', '=', nodeId)
      .execute();
  }

  async setProvisionedVersion(nodeId: string, version: string): Promise<void> {
    await this.db.updateTable('nodes').set({ provisioned_version: version, updated_at: new Date() }).where('id', '=', nodeId).execute();
  }

  /** An operator's replacement request: unguarded, as the API checked the phase just before. */
  async requestReplacement(nodeId: string, reason: string, now: Date, tx?: Tx): Promise<void> {
    await runner(this.db, tx).updateTable('nodes').set({ phase: 'Replacing', phase_reason: reason, updated_at: now }).where('id', '=', nodeId).execute();
  }

  /** A guarded phase change: only from the phases given, so another writer's newer decision is kept. */
  async setPhase(nodeId: string, from: readonly string[], to: string, reason: string, extra: { kubelet_version?: string | null } = {}): Promise<boolean> {
    const now = new Date();
    const result = await this.db
      .updateTable('nodes')
      .set({ phase: to, phase_reason: reason, phase_changed_at: now, updated_at: now, ...extra })
      .where('id', '=', nodeId)
      .where('phase', 'in', [...from])
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Deleting → Deleted, keeping the reason the node left for. False when another pass got there first. */
  async markDeleted(nodeId: string, phaseReason: string): Promise<boolean> {
    const now = new Date();
    const result = await this.db
      .updateTable('nodes')
      .set({ phase: 'Deleted', phase_reason: phaseReason, phase_changed_at: now, deleted_at: now, updated_at: now })
      .where('id', '=', nodeId)
      .where('phase', '=', 'Deleting')
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async deleteAllInPool(poolId: string, tx: Tx): Promise<void> {
    await runner(this.db, tx).deleteFrom('nodes').where('pool_id', '=', poolId).execute();
  }
}
