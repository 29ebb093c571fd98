import type { Kysely } from 'kysely';
import type { ClusterEventRow, Database } from '../schema.js';
import { runner, type Tx } from '../unit-of-work.js';

export interface NewClusterEvent {
  clusterId: string;
  projectId: string;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/** The rows of the cluster timeline. */
export class ClusterEventRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async append(event: NewClusterEvent, tx?: Tx): Promise<void> {
    await runner(this.db, tx)
      .insertInto('cluster_events')
      .values({ cluster_id: event.clusterId, project_id: event.projectId, type: event.type, reason: event.reason, message: event.message })
      .execute();
  }

  since(clusterId: string, afterId: number, limit: number): Promise<ClusterEventRow[]> {
    return this.db.selectFrom('cluster_events').selectAll().where('cluster_id', '=', clusterId).where('id', '>', afterId).orderBy('id').limit(limit).execute();
  }
}
