import { sql, type Kysely } from 'kysely';

// The worker-node lifecycle: what the node pool reconciler and the node health checker record
// about each machine, the per-pool bootstrap token the tenant cluster holds, and the pool's
// platform SSH key the health checker probes nodes with.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('nodes')
    .addColumn('kubelet_version', 'text')
    .addColumn('instance_state', 'text')
    .addColumn('phase_changed_at', 'timestamptz')
    .addColumn('unhealthy_since', 'timestamptz')
    .addColumn('replaces_node_id', 'uuid')
    .addColumn('conditions', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .execute();
  await sql`create index nodes_cluster on nodes (cluster_id) where deleted_at is null`.execute(db);
  await db.schema
    .alterTable('node_pools')
    .addColumn('sealed_bootstrap_token', 'text')
    .addColumn('bootstrap_token_expires_at', 'timestamptz')
    .addColumn('sealed_ssh_private_key', 'text')
    .addColumn('ssh_public_key', 'text')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index if exists nodes_cluster`.execute(db);
  await db.schema
    .alterTable('node_pools')
    .dropColumn('sealed_bootstrap_token')
    .dropColumn('bootstrap_token_expires_at')
    .dropColumn('sealed_ssh_private_key')
    .dropColumn('ssh_public_key')
    .execute();
  await db.schema
    .alterTable('nodes')
    .dropColumn('kubelet_version')
    .dropColumn('instance_state')
    .dropColumn('phase_changed_at')
    .dropColumn('unhealthy_since')
    .dropColumn('replaces_node_id')
    .dropColumn('conditions')
    .execute();
}
