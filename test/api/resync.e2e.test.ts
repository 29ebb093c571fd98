// Jobs lost with Redis heal by themselves: the desired state is in PostgreSQL and the
// periodic resync re-enqueues whatever has not converged.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSeed, type TestSeed } from '../support/seed.js';
import { TestServer } from '../support/server.js';
import { eventually } from '../support/time.js';
import { ensureBuilt } from '../support/build.js';

describe('periodic resync', () => {
  let server: TestServer;
  let seed: TestSeed;

  beforeAll(async () => {
    ensureBuilt();
    seed = await startTestSeed();
    server = await TestServer.start({ backend: 'postgres', env: { HM_RESYNC_INTERVAL_SECONDS: '2' } });
  });

  afterAll(async () => {
    await server?.destroy();
    await seed?.close();
  });

  it('finishes a deletion whose job never reached Redis', async () => {
    await server.request('POST', '/api/v1/seeds', { body: { name: 'sandbox', kubeconfig: seed.kubeconfig, maxClusters: 3 } });
    const project = (await server.request<{ id: string }>('POST', '/api/v1/projects', { body: { name: 'resync' } })).body;
    const cluster = (await server.request<{ id: string }>('POST', `/api/v1/projects/${project.id}/clusters`, { body: { name: 'lost' } })).body;
    await eventually(
      async () =>
        (await server.request<{ items: Array<{ reason: string }> }>('GET', `/api/v1/projects/${project.id}/clusters/${cluster.id}/events`)).body.items.some(
          (event) => event.reason === 'Reconciling',
        ),
      'first reconcile',
    );

    // Request deletion the way the API does, but without the enqueue: as if Redis lost the job.
    const client = new pg.Client({ connectionString: server.databaseUrl });
    await client.connect();
    try {
      await client.query(`update clusters set deletion_requested_at = now(), phase = 'Deleting', generation = generation + 1 where id = $1`, [cluster.id]);
    } finally {
      await client.end();
    }
    await eventually(
      async () => (await server.request('GET', `/api/v1/projects/${project.id}/clusters/${cluster.id}`)).status === 404,
      'the resync to finish the deletion',
      30_000,
    );
    const events = await server.request<{ items: Array<{ reason: string }> }>('GET', `/api/v1/projects/${project.id}/clusters/${cluster.id}/events`);
    expect(events.body.items.at(-1)!.reason).toBe('Deleted');
  });
});
