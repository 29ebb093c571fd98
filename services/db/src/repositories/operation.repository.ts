import type { Kysely } from 'kysely';
import type { Database, OperationRow } from '../schema.js';
import { runner, type Tx } from '../unit-of-work.js';

export type NewOperation = Omit<OperationRow, 'created_at' | 'target' | 'progress' | 'finished_at'> & {
  target: Record<string, unknown>;
  progress: Record<string, unknown>;
};

export type OperationKind = OperationRow['kind'];

export interface OperationChanges {
  status?: OperationRow['status'];
  progress?: Record<string, unknown>;
  message?: string;
}

/** Operations: what a user asked for, and how far the worker got. */
export class OperationRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(operation: NewOperation, tx?: Tx): Promise<void> {
    await runner(this.db, tx)
      .insertInto('operations')
      .values({ ...operation, target: JSON.stringify(operation.target), progress: JSON.stringify(operation.progress) })
      .execute();
  }

  find(projectId: string, operationId: string): Promise<OperationRow | undefined> {
    return this.db.selectFrom('operations').selectAll().where('project_id', '=', projectId).where('id', '=', operationId).executeTakeFirst();
  }

  listForCluster(clusterId: string, limit = 100): Promise<OperationRow[]> {
    return this.db.selectFrom('operations').selectAll().where('cluster_id', '=', clusterId).orderBy('created_at', 'desc').limit(limit).execute();
  }

  /** Pending and running operations, oldest first. */
  /** The open operations of one kind across several clusters, oldest first, in one query. */
  async listOpenOfClusters(clusterIds: readonly string[], kind: OperationKind): Promise<OperationRow[]> {
    if (clusterIds.length === 0) return [];
    return this.db
      .selectFrom('operations')
      .selectAll()
      .where('cluster_id', 'in', clusterIds)
      .where('kind', '=', kind)
      .where('status', 'in', ['pending', 'running'])
      .orderBy('created_at')
      .execute();
  }

  listOpen(filter: { clusterId: string; poolId?: string; kind?: OperationKind }, tx?: Tx): Promise<OperationRow[]> {
    let query = runner(this.db, tx)
      .selectFrom('operations')
      .selectAll()
      .where('cluster_id', '=', filter.clusterId)
      .where('status', 'in', ['pending', 'running']);
    if (filter.poolId) query = query.where('pool_id', '=', filter.poolId);
    if (filter.kind) query = query.where('kind', '=', filter.kind);
    return query.orderBy('created_at').execute();
  }

  async update(operationId: string, changes: OperationChanges, tx?: Tx): Promise<void> {
    const finished = changes.status === 'succeeded' || changes.status === 'failed' || changes.status === 'superseded';
    await runner(this.db, tx)
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
