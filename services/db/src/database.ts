import { mkdirSync } from 'node:fs';
import { Kysely, Migrator, PostgresDialect, sql, type Migration, type MigrationProvider } from 'kysely';
import pg from 'pg';
import * as initial from './migrations/0001-initial.js';
import * as nodeLifecycle from './migrations/0002-node-lifecycle.js';
import * as nodeProvisionedVersion from './migrations/0003-node-provisioned-version.js';
import * as seedHealthFailures from './migrations/0004-seed-health-failures.js';
import * as providerRegistry from './migrations/0005-provider-registry.js';
import * as clusterAddons from './migrations/0006-cluster-addons.js';
import * as projectInvitations from './migrations/0007-project-invitations.js';
import * as readPathIndexes from './migrations/0008-read-path-indexes.js';
import { PGliteDialect } from './pglite-dialect.js';
import type { Database } from './schema.js';

export type DatabaseBackend = 'pglite' | 'postgres';

export interface DatabaseHandle {
  db: Kysely<Database>;
  backend: DatabaseBackend;
  /** One round trip, for readiness checks. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** A postgres:// URL, or undefined for embedded PGlite. */
  url?: string;
  /** Where PGlite keeps its files; `memory://` keeps them in memory. */
  pgliteDir: string;
  poolSize?: number;
  /**
   * Hears an idle pooled connection's error (a PostgreSQL restart or failover terminates them).
   * node-postgres emits it on the pool, and an 'error' event nobody listens to ends the process.
   */
  onIdleConnectionError?: (error: Error) => void;
}

const migrations: Record<string, Migration> = {
  '0001-initial': initial,
  '0002-node-lifecycle': nodeLifecycle,
  '0003-node-provisioned-version': nodeProvisionedVersion,
  '0004-seed-health-failures': seedHealthFailures,
  '0005-provider-registry': providerRegistry,
  '0006-cluster-addons': clusterAddons,
  '0007-project-invitations': projectInvitations,
  '0008-read-path-indexes': readPathIndexes,
};

class StaticMigrationProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return migrations;
  }
}

// int8 (bigserial ids, counts) would arrive as strings from node-postgres; they fit in a JS number here.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

export async function openDatabase(options: DatabaseOptions): Promise<DatabaseHandle> {
  if (options.url) {
    const pool = new pg.Pool({ connectionString: options.url, max: options.poolSize ?? 10 });
    // The broken connection is already out of the pool; the next query opens a new one.
    pool.on('error', (error) => options.onIdleConnectionError?.(error));
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return { db, backend: 'postgres', ping: () => ping(db), close: () => db.destroy() };
  }
  const { PGlite } = await import('@electric-sql/pglite');
  if (!options.pgliteDir.startsWith('memory://')) mkdirSync(options.pgliteDir, { recursive: true });
  const pglite = new PGlite(options.pgliteDir, { parsers: { 20: (value: string) => Number(value) } });
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
  return { db, backend: 'pglite', ping: () => ping(db), close: () => db.destroy() };
}

async function ping(db: Kysely<Database>): Promise<void> {
  await sql`select 1`.execute(db);
}

/** A migration failed with something that was not an Error (Kysely passes through whatever was thrown). */
export class MigrationError extends Error {
  override name = 'MigrationError';
}

export async function migrateToLatest(db: Kysely<Database>): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: new StaticMigrationProvider(),
    migrationTableName: 'hm_migrations',
    migrationLockTableName: 'hm_migrations_lock',
  });
  const { error, results } = await migrator.migrateToLatest();
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- Kysely types a failed migration's cause as unknown; String() is the best message there is for a non-Error
  if (error) throw error instanceof Error ? error : new MigrationError(String(error));
  return (results ?? []).filter((result) => result.status === 'Success').map((result) => result.migrationName);
}
