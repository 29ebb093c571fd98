import { sql, type Kysely } from 'kysely';

// Invitations to a project, addressed to an e-mail address rather than an account: inviting
// never creates a user, and the row is the same whether or not an account with the address
// exists. Only `pending` rows are open; the partial unique index allows one open invitation per
// address and project, so two owners inviting at once cannot both succeed. An invitation past
// `expires_at` is expired whatever its state says; a new invitation for the address closes it.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('project_invitations')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('project_id', 'uuid', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('owner', 'editor', 'viewer')`))
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('pending', 'accepted', 'declined', 'revoked', 'expired')`))
    .addColumn('invited_by', 'uuid', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('answered_at', 'timestamptz')
    .execute();
  await db.schema
    .createIndex('project_invitations_one_pending')
    .on('project_invitations')
    .columns(['project_id', 'email'])
    .unique()
    .where(sql.ref('state'), '=', 'pending')
    .execute();
  await db.schema.createIndex('project_invitations_email').on('project_invitations').column('email').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('project_invitations').execute();
}
