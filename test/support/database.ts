// Reads every row of every table straight from the database, bypassing the API, for
// "nothing was written" and "no plaintext secret at rest" assertions.
import pg from 'pg';

const TABLES = [
  'users',
  'projects',
  'project_members',
  'project_invitations',
  'api_tokens',
  'provider_credentials',
  'seeds',
  'clusters',
  'node_pools',
  'nodes',
  'operations',
  'cluster_events',
  'audit_log',
  'settings',
];

export async function dumpPostgres(url: string): Promise<Record<string, unknown[]>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const dump: Record<string, unknown[]> = {};
    for (const table of TABLES) dump[table] = (await client.query(`select * from ${table} order by 1`)).rows;
    return dump;
  } finally {
    await client.end();
  }
}

/** PGlite allows one process: call this only while the server is stopped. */
export async function dumpPglite(dir: string): Promise<Record<string, unknown[]>> {
  const { PGlite } = await import('@electric-sql/pglite');
  const db = new PGlite(dir);
  try {
    const dump: Record<string, unknown[]> = {};
    for (const table of TABLES) dump[table] = (await db.query(`select * from ${table} order by 1`)).rows;
    return dump;
  } finally {
    await db.close();
  }
}
