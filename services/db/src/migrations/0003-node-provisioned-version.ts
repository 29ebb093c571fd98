import type { Kysely } from 'kysely';

// The Kubernetes version a node's machine was provisioned with (its cloud-init installs that
// kubelet). Until the Node registers and reports its kubelet, this is the only record of which
// version it runs, which a rolling update needs to know whether the node is already current.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('nodes').addColumn('provisioned_version', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('nodes').dropColumn('provisioned_version').execute();
}
