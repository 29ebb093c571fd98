// A seed is declared Unreachable, and skipped by placement, only after several failed probes in
// a row: one probe lost on a busy seed is not an outage. Probes here are the admin's
// "check now" requests; the periodic sweep is set to an hour so it cannot interfere.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSeed, type TestSeed } from '../support/seed.js';
import { TestServer } from '../support/server.js';
import { eventually, scaled } from '../support/time.js';

interface Seed {
  id: string;
  schedulable: boolean;
  health: { status: string; message: string; checkedAt: string | null };
}

let server: TestServer;
let seed: TestSeed;

beforeAll(async () => {
  server = await TestServer.start({ backend: 'pglite', env: { HM_SEED_HEALTH_INTERVAL_SECONDS: '3600', HM_SEED_UNREACHABLE_AFTER_FAILURES: '3' } });
  seed = await startTestSeed();
}, scaled(120_000));

afterAll(async () => {
  await server?.destroy();
  await seed?.close().catch(() => undefined);
});

describe('seed health', () => {
  it(
    'keeps a seed schedulable through two failed probes and turns it Unreachable, and unplaceable, on the third',
    async () => {
      const registered = await server.request<Seed>('POST', '/api/v1/seeds', { body: { name: 'flaky', kubeconfig: seed.kubeconfig, maxClusters: 5 } });
      expect(registered.status).toBe(201);
      const id = registered.body.id;
      const probe = async (): Promise<Seed> => {
        const before = (await server.request<Seed>('GET', `/api/v1/seeds/${id}`)).body.health.checkedAt;
        expect((await server.request('POST', `/api/v1/seeds/${id}/health-check`)).status).toBe(202);
        return eventually(
          async () => {
            const current = (await server.request<Seed>('GET', `/api/v1/seeds/${id}`)).body;
            return current.health.checkedAt !== null && current.health.checkedAt !== before ? current : undefined;
          },
          'the seed probe to be recorded',
          20_000,
        );
      };

      expect((await probe()).health.status).toBe('Healthy');
      await seed.close();
      for (const count of [1, 2]) {
        const current = await probe();
        expect(current.health.status).toBe('Healthy');
        expect(current.health.message).toContain(`probe failed (${count}/3 in a row)`);
        expect(current.schedulable).toBe(true);
      }
      const third = await probe();
      expect(third.health.status).toBe('Unreachable');
      expect(third.health.message).toContain('probe failed (3/3 in a row)');
      expect(third.schedulable).toBe(false);

      const project = await server.request<{ id: string }>('POST', '/api/v1/projects', { body: { name: 'seed-health' } });
      const refused = await server.request<{ code: string }>('POST', `/api/v1/projects/${project.body.id}/clusters`, { body: {} });
      expect(refused.status).toBe(503);
      expect(refused.body.code).toBe('no_seed_capacity');
    },
    scaled(120_000),
  );
});
