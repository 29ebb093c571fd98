import { sql, type Kysely } from 'kysely';

// The indexes the API's read paths look rows up by: a project's live clusters in creation order
// (the listing), every pool of a set of clusters (deleting ones included, which the partial
// unique name index leaves out) and the open operations of a cluster (the listing's upgrade
// summaries, and every operation opened). Without them each is a scan of a table that only grows.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index if not exists clusters_project_live on clusters (project_id, created_at) where deleted_at is null`.execute(db);
  await sql`create index if not exists node_pools_cluster on node_pools (cluster_id)`.execute(db);
  await sql`create index if not exists operations_cluster_open on operations (cluster_id, created_at) where status in ('pending', 'running')`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index if exists operations_cluster_open`.execute(db);
  await sql`drop index if exists node_pools_cluster`.execute(db);
  await sql`drop index if exists clusters_project_live`.execute(db);
}
