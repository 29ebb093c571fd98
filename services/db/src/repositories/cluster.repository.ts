import type { Kysely } from 'kysely';
import type { ClusterRow, ClusterUpdate, Database, NewCluster } from '../schema.js';
import { runner, type Tx } from '../unit-of-work.js';

/** Cluster rows. Pools, nodes and operations have repositories of their own. */
export class ClusterRepository {
  constructor(private readonly db: Kysely<Database>) {}

  findLive(projectId: string, clusterId: string, tx?: Tx): Promise<ClusterRow | undefined> {
    return runner(this.db, tx)
      .selectFrom('clusters')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('id', '=', clusterId)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
  }

  findLiveByName(projectId: string, name: string, tx?: Tx): Promise<ClusterRow | undefined> {
    return runner(this.db, tx)
      .selectFrom('clusters')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('name', '=', name)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
  }

  findById(clusterId: string, tx?: Tx): Promise<ClusterRow | undefined> {
    return runner(this.db, tx).selectFrom('clusters').selectAll().where('id', '=', clusterId).executeTakeFirst();
  }

  /** Without the sealed secrets: a listing never needs them, and they are most of a row's bytes. */
  listLive(projectId: string): Promise<Array<Omit<ClusterRow, 'sealed_secrets'>>> {
    return this.db
      .selectFrom('clusters')
      .select(PUBLIC_COLUMNS)
      .where('project_id', '=', projectId)
      .where('deleted_at', 'is', null)
      .orderBy('created_at')
      .execute();
  }

  /** A live cluster as a reader sees it, without its sealed secrets, with its seed's name: one round trip. */
  async findLivePublic(projectId: string, clusterId: string): Promise<{ row: Omit<ClusterRow, 'sealed_secrets'>; seedName: string | null } | undefined> {
    const found = await this.db
      .selectFrom('clusters')
      .leftJoin('seeds', 'seeds.id', 'clusters.seed_id')
      .select(PUBLIC_COLUMNS.map((column) => `clusters.${column}` as const))
      .select('seeds.name as seed_name')
      .where('clusters.project_id', '=', projectId)
      .where('clusters.id', '=', clusterId)
      .where('clusters.deleted_at', 'is', null)
      .executeTakeFirst();
    if (!found) return undefined;
    const { seed_name: seedName, ...row } = found;
    return { row, seedName: row.seed_id ? seedName : null };
  }

  async countLiveInProject(projectId: string, tx?: Tx): Promise<number> {
    const row = await runner(this.db, tx)
      .selectFrom('clusters')
      .select((eb) => eb.fn.countAll<string | number | bigint>().as('count'))
      .where('project_id', '=', projectId)
      .where('deleted_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  async insert(cluster: NewCluster, tx?: Tx): Promise<void> {
    await runner(this.db, tx).insertInto('clusters').values(cluster).execute();
  }

  async update(clusterId: string, changes: ClusterUpdate, tx?: Tx): Promise<void> {
    await runner(this.db, tx)
      .updateTable('clusters')
      .set({ ...changes, updated_at: new Date() })
      .where('id', '=', clusterId)
      .execute();
  }

  /**
   * Writes only while the row still has `generation` and no deletion was requested, so a pass
   * never overwrites a newer request. False when the row had moved on.
   */
  async updateIfCurrent(clusterId: string, generation: number, changes: ClusterUpdate, tx?: Tx): Promise<boolean> {
    const result = await runner(this.db, tx)
      .updateTable('clusters')
      .set({ ...changes, updated_at: new Date() })
      .where('id', '=', clusterId)
      .where('generation', '=', generation)
      .where('deletion_requested_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** The live clusters placed on a seed, locked until the transaction ends so none is placed there meanwhile. */
  async lockLiveOnSeed(seedId: string, tx: Tx): Promise<string[]> {
    const rows = await runner(this.db, tx)
      .selectFrom('clusters')
      .select('id')
      .where('seed_id', '=', seedId)
      .where('deleted_at', 'is', null)
      .forUpdate()
      .execute();
    return rows.map((row) => row.id);
  }

  /**
   * Every row of a project's (deleted) clusters, children first. Rows of deleted clusters only
   * remain for history; they go with the project.
   */
  async deleteAllInProject(projectId: string, tx: Tx): Promise<void> {
    const db = runner(this.db, tx);
    const clusterIds = (await db.selectFrom('clusters').select('id').where('project_id', '=', projectId).execute()).map((row) => row.id);
    if (clusterIds.length === 0) return;
    await db.deleteFrom('nodes').where('cluster_id', 'in', clusterIds).execute();
    await db.deleteFrom('operations').where('cluster_id', 'in', clusterIds).execute();
    await db.deleteFrom('node_pools').where('cluster_id', 'in', clusterIds).execute();
    await db.deleteFrom('cluster_events').where('cluster_id', 'in', clusterIds).execute();
    await db.deleteFrom('clusters').where('id', 'in', clusterIds).execute();
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
}

/** Every column but the sealed secrets: what readers of a cluster are shown. */
const PUBLIC_COLUMNS = [
  'id',
  'project_id',
  'name',
  'version',
  'seed_id',
  'expose_strategy',
  'pod_cidr',
  'service_cidr',
  'etcd_replicas',
  'cni',
  'network_mtu',
  'addons',
  'phase',
  'phase_reason',
  'conditions',
  'endpoint',
  'generation',
  'observed_generation',
  'created_at',
  'updated_at',
  'deletion_requested_at',
  'deleted_at',
] as const satisfies ReadonlyArray<Exclude<keyof ClusterRow, 'sealed_secrets'>>;
