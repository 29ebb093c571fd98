import type { Kysely } from 'kysely';

// Consecutive failed seed probes. One probe lost on a busy network or a loaded seed is not an
// outage: a seed turns Unreachable (and stops taking clusters) only after several in a row, as
// a kubelet's probes have a failureThreshold.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('seeds')
    .addColumn('health_failures', 'integer', (column) => column.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('seeds').dropColumn('health_failures').execute();
}
