// The embedded default: one process, PGlite, and the sandbox seed registered by itself.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestServer } from '../support/server.js';
import { eventually } from '../support/time.js';
import { ensureBuilt } from '../support/build.js';

interface Seed {
  name: string;
  serverUrl: string;
  health: { status: string };
  schedulable: boolean;
}

describe('embedded default', () => {
  let server: TestServer;

  beforeAll(async () => {
    ensureBuilt();
    server = await TestServer.start({ backend: 'pglite', env: { HM_SANDBOX: 'true' } });
  });

  afterAll(async () => {
    await server?.destroy();
  });

  it('registers the sandbox seed, and re-points it at the new seed after a restart', async () => {
    const before = (await server.request<{ items: Seed[] }>('GET', '/api/v1/seeds')).body.items;
    expect(before).toHaveLength(1);
    expect(before[0]).toMatchObject({ name: 'sandbox', schedulable: true, health: { status: 'Healthy' } });

    await server.restart();
    const after = (await server.request<{ items: Seed[] }>('GET', '/api/v1/seeds')).body.items;
    expect(after).toHaveLength(1);
    expect(after[0].name).toBe('sandbox');
    expect(after[0].serverUrl).not.toBe(before[0].serverUrl);
    const seedId = (after[0] as Seed & { id: string }).id;
    expect((await server.request('POST', `/api/v1/seeds/${seedId}/health-check`)).status).toBe(202);
    // The worker's probe reaches the new seed with the new credentials and records its version.
    await eventually(
      async () => (await server.request<{ serverVersion: string }>('GET', `/api/v1/seeds/${seedId}`)).body.serverVersion.startsWith('v'),
      'the seed health probe',
    );
  });

  it('places a one-click cluster on the sandbox seed', async () => {
    const project = (await server.request<{ id: string }>('POST', '/api/v1/projects', { body: { name: 'embedded' } })).body;
    const cluster = await server.request<{ seed: { name: string } }>('POST', `/api/v1/projects/${project.id}/clusters`, { body: {} });
    expect(cluster.status).toBe(201);
    expect(cluster.body.seed.name).toBe('sandbox');
  });
});
