import { sql, type Kysely } from 'kysely';
import { runner, type Tx } from '../unit-of-work.js';
import type { Database, SeedRow } from '../schema.js';

export interface SeedWithUsage extends SeedRow {
  used_clusters: number;
}

export class SeedRepository {
  constructor(private readonly db: Kysely<Database>) {}

  private withUsage(db: Kysely<Database>) {
    return db
      .selectFrom('seeds')
      .selectAll('seeds')
      .select((eb) =>
        eb
          .selectFrom('clusters')
          .select((inner) => inner.fn.countAll<string | number | bigint>().as('count'))
          .whereRef('clusters.seed_id', '=', 'seeds.id')
          .where('clusters.deleted_at', 'is', null)
          .as('used_clusters'),
      );
  }

  async list(): Promise<SeedWithUsage[]> {
    const rows = await this.withUsage(this.db).orderBy('name').execute();
    return rows.map((row) => ({ ...row, used_clusters: Number(row.used_clusters ?? 0) }));
  }

  async findById(id: string, tx?: Tx): Promise<SeedWithUsage | undefined> {
    const row = await this.withUsage(runner(this.db, tx)).where('seeds.id', '=', id).executeTakeFirst();
    return row && { ...row, used_clusters: Number(row.used_clusters ?? 0) };
  }

  findByName(name: string): Promise<SeedRow | undefined> {
    return this.db.selectFrom('seeds').selectAll().where('name', '=', name).executeTakeFirst();
  }

  async insert(row: Omit<SeedRow, 'created_at' | 'labels' | 'health_failures'> & { labels: Record<string, string> }, tx?: Tx): Promise<void> {
    await runner(this.db, tx)
      .insertInto('seeds')
      .values({ ...row, labels: JSON.stringify(row.labels) })
      .execute();
  }

  async setCordoned(id: string, cordoned: boolean, tx?: Tx): Promise<void> {
    await runner(this.db, tx).updateTable('seeds').set({ cordoned }).where('id', '=', id).execute();
  }

  async recordHealthy(id: string, message: string, serverVersion: string, at: Date): Promise<void> {
    await this.db
      .updateTable('seeds')
      .set({ health: 'Healthy', health_message: message, health_checked_at: at, health_failures: 0, server_version: serverVersion })
      .where('id', '=', id)
      .execute();
  }

  /**
   * Counts a failed probe and returns the new count. The seed keeps its health until
   * `unreachableAfter` probes in a row have failed; then it turns Unreachable.
   */
  async recordProbeFailure(id: string, message: string, at: Date, unreachableAfter: number): Promise<number> {
    const row = await this.db
      .updateTable('seeds')
      .set((eb) => ({
        health_failures: eb('health_failures', '+', 1),
        health: sql<SeedRow['health']>`case when ${eb.ref('health_failures')} + 1 >= ${unreachableAfter} then 'Unreachable' else ${eb.ref('health')} end`,
        health_message: message,
        health_checked_at: at,
      }))
      .where('id', '=', id)
      .returning('health_failures')
      .executeTakeFirst();
    return row?.health_failures ?? 0;
  }

  /** Points an existing seed at a new API server address and credentials. */
  async updateConnection(id: string, sealedKubeconfig: string, serverUrl: string, serverVersion: string | null): Promise<void> {
    await this.db
      .updateTable('seeds')
      .set({ sealed_kubeconfig: sealedKubeconfig, server_url: serverUrl, server_version: serverVersion })
      .where('id', '=', id)
      .execute();
  }

  async delete(id: string, tx?: Tx): Promise<void> {
    await runner(this.db, tx).deleteFrom('seeds').where('id', '=', id).execute();
  }

  /**
   * Locks the candidate seeds and returns them least-loaded first. Call inside a transaction
   * so two concurrent placements cannot both take a seed's last slot.
   */
  async lockSchedulable(tx: Tx, filter: { name?: string; region?: string }): Promise<SeedWithUsage[]> {
    const db = runner(this.db, tx);
    let query = db.selectFrom('seeds').select('id').where('cordoned', '=', false).where('health', '!=', 'Unreachable');
    if (filter.name) query = query.where('name', '=', filter.name);
    if (filter.region) query = query.where('region', '=', filter.region);
    const locked = await query.orderBy('id').forUpdate().execute();
    if (locked.length === 0) return [];
    const rows = await this.withUsage(db)
      .where(
        'seeds.id',
        'in',
        locked.map((row) => row.id),
      )
      .execute();
    return rows
      .map((row) => ({ ...row, used_clusters: Number(row.used_clusters ?? 0) }))
      .filter((row) => row.used_clusters < row.max_clusters)
      .sort((a, b) => a.used_clusters / a.max_clusters - b.used_clusters / b.max_clusters || a.name.localeCompare(b.name));
  }

  async countLiveClusters(seedId: string): Promise<number> {
    const row = await this.db
      .selectFrom('clusters')
      .select(sql<string | number | bigint>`count(*)`.as('count'))
      .where('seed_id', '=', seedId)
      .where('deleted_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }
}
