import { sql, type Kysely } from 'kysely';

// The add-ons a user chose for a cluster at create time: its network plugin, the pod network's
// MTU (null: the plugin derives it from the node's interface) and the optional add-ons. A
// cluster created before add-ons existed gets the default plugin, as a new one does.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('clusters')
    .addColumn('cni', 'text', (column) => column.notNull().defaultTo('cilium'))
    .addColumn('network_mtu', 'integer')
    .addColumn('addons', 'jsonb', (column) => column.notNull().defaultTo(sql`'{}'::jsonb`))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('clusters').dropColumn('addons').dropColumn('network_mtu').dropColumn('cni').execute();
}
