import { sql, type Kysely } from 'kysely';

// One schema for PostgreSQL and PGlite: plain PostgreSQL types only.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('email', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('is_admin', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('projects')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('display_name', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('project_members')
    .addColumn('project_id', 'uuid', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('owner', 'editor', 'viewer')`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('project_members_pk', ['project_id', 'user_id'])
    .execute();

  await db.schema
    .createTable('api_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('secret_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz')
    .addColumn('last_used_at', 'timestamptz')
    .addColumn('revoked_at', 'timestamptz')
    .execute();

  await db.schema
    .createTable('provider_credentials')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('project_id', 'uuid', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('provider', 'text', (c) => c.notNull().check(sql`provider in ('aws', 'digitalocean')`))
    .addColumn('summary', 'jsonb', (c) => c.notNull())
    .addColumn('sealed_secret', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('provider_credentials_name_unique', ['project_id', 'name'])
    .execute();

  await db.schema
    .createTable('seeds')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('provider', 'text')
    .addColumn('region', 'text')
    .addColumn('labels', 'jsonb', (c) => c.notNull())
    .addColumn('sealed_kubeconfig', 'text', (c) => c.notNull())
    .addColumn('server_url', 'text', (c) => c.notNull())
    .addColumn('server_version', 'text')
    .addColumn('max_clusters', 'integer', (c) => c.notNull().check(sql`max_clusters > 0`))
    .addColumn('cordoned', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('health', 'text', (c) => c.notNull().defaultTo('Unknown'))
    .addColumn('health_message', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('health_checked_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('clusters')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('project_id', 'uuid', (c) => c.notNull().references('projects.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    // Deleted clusters keep their history after their seed is gone.
    .addColumn('seed_id', 'uuid', (c) => c.references('seeds.id').onDelete('set null'))
    .addColumn('expose_strategy', 'text', (c) => c.notNull())
    .addColumn('pod_cidr', 'text', (c) => c.notNull())
    .addColumn('service_cidr', 'text', (c) => c.notNull())
    .addColumn('etcd_replicas', 'integer', (c) => c.notNull())
    .addColumn('phase', 'text', (c) => c.notNull())
    .addColumn('phase_reason', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('conditions', 'jsonb', (c) => c.notNull())
    .addColumn('endpoint', 'text')
    .addColumn('generation', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('observed_generation', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('sealed_secrets', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .addColumn('deletion_requested_at', 'timestamptz')
    .addColumn('deleted_at', 'timestamptz')
    .execute();
  await sql`create unique index clusters_live_name on clusters (project_id, name) where deleted_at is null`.execute(db);
  await sql`create index clusters_seed on clusters (seed_id) where deleted_at is null`.execute(db);

  await db.schema
    .createTable('node_pools')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('cluster_id', 'uuid', (c) => c.notNull().references('clusters.id'))
    .addColumn('project_id', 'uuid', (c) => c.notNull().references('projects.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('credential_id', 'uuid', (c) => c.notNull().references('provider_credentials.id'))
    .addColumn('provider', 'text', (c) => c.notNull())
    .addColumn('region', 'text', (c) => c.notNull())
    .addColumn('size', 'text', (c) => c.notNull())
    .addColumn('image', 'text', (c) => c.notNull())
    .addColumn('replicas', 'integer', (c) => c.notNull().check(sql`replicas >= 0`))
    .addColumn('labels', 'jsonb', (c) => c.notNull())
    .addColumn('taints', 'jsonb', (c) => c.notNull())
    .addColumn('ssh_public_keys', 'jsonb', (c) => c.notNull())
    .addColumn('health_check', 'jsonb', (c) => c.notNull())
    .addColumn('conditions', 'jsonb', (c) => c.notNull())
    .addColumn('generation', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .addColumn('deletion_requested_at', 'timestamptz')
    .execute();
  await sql`create unique index node_pools_live_name on node_pools (cluster_id, name) where deletion_requested_at is null`.execute(db);

  await db.schema
    .createTable('nodes')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('pool_id', 'uuid', (c) => c.notNull().references('node_pools.id'))
    .addColumn('cluster_id', 'uuid', (c) => c.notNull().references('clusters.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('cloud_id', 'text')
    .addColumn('private_ip', 'text')
    .addColumn('public_ip', 'text')
    .addColumn('phase', 'text', (c) => c.notNull())
    .addColumn('phase_reason', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('last_heartbeat_at', 'timestamptz')
    .addColumn('ssh_probe', 'jsonb')
    .addColumn('ssh_host_key', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .addColumn('deleted_at', 'timestamptz')
    .execute();
  await sql`create index nodes_pool on nodes (pool_id) where deleted_at is null`.execute(db);

  await db.schema
    .createTable('operations')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('project_id', 'uuid', (c) => c.notNull().references('projects.id'))
    .addColumn('cluster_id', 'uuid', (c) => c.notNull().references('clusters.id'))
    .addColumn('pool_id', 'uuid')
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('target', 'jsonb', (c) => c.notNull())
    .addColumn('progress', 'jsonb', (c) => c.notNull())
    .addColumn('message', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('created_by', 'uuid')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .addColumn('finished_at', 'timestamptz')
    .execute();

  await db.schema
    .createTable('cluster_events')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('cluster_id', 'uuid', (c) => c.notNull())
    .addColumn('project_id', 'uuid', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('message', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`create index cluster_events_cluster on cluster_events (cluster_id, id)`.execute(db);

  await db.schema
    .createTable('audit_log')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('actor_user_id', 'uuid')
    .addColumn('actor_token_id', 'text')
    .addColumn('project_id', 'uuid')
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('resource_type', 'text', (c) => c.notNull())
    .addColumn('resource_id', 'text')
    .addColumn('source_ip', 'text')
    .addColumn('user_agent', 'text')
    .addColumn('details', 'jsonb', (c) => c.notNull())
    .execute();
  await sql`create index audit_log_project on audit_log (project_id, id)`.execute(db);

  await db.schema
    .createTable('settings')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of [
    'settings',
    'audit_log',
    'cluster_events',
    'operations',
    'nodes',
    'node_pools',
    'clusters',
    'seeds',
    'provider_credentials',
    'api_tokens',
    'project_members',
    'projects',
    'users',
  ]) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
