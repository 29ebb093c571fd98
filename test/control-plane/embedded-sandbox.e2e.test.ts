// The embedded default (HM_SANDBOX=true): the process hosts the sandbox seed and its process
// kubelet, and a one-click cluster comes up there and goes away without leftovers.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestServer } from '../support/server.js';
import { eventually, scaled } from '../support/time.js';
import { ensureBuilt } from '../support/build.js';

const run = promisify(execFile);

describe('one-click on the embedded sandbox seed', () => {
  let server: TestServer;
  const scratch = mkdtempSync(join(tmpdir(), 'hm-cp-embedded-'));

  beforeAll(async () => {
    ensureBuilt();
    server = await TestServer.start({ backend: 'pglite', env: { HM_SANDBOX: 'true' } });
  }, scaled(120_000));

  afterAll(async () => {
    await server?.destroy();
    rmSync(scratch, { recursive: true, force: true });
  }, scaled(60_000));

  it(
    'creates, serves and deletes a cluster on the sandbox seed',
    async () => {
      const seeds = await server.request<{ items: Array<{ name: string }> }>('GET', '/api/v1/seeds');
      expect(seeds.body.items.map((seed) => seed.name)).toEqual(['sandbox']);
      const project = await server.request<{ id: string }>('POST', '/api/v1/projects', { body: { name: 'embedded' } });
      const clusters = `/api/v1/projects/${project.body.id}/clusters`;
      const created = await server.request<{ id: string }>('POST', clusters, { body: {} });
      expect(created.status).toBe(201);
      const running = await eventually(
        async () => {
          const cluster = await server.request<{ phase: string; endpoint: string }>('GET', `${clusters}/${created.body.id}`);
          return cluster.body.phase === 'Running' ? cluster.body : undefined;
        },
        'the cluster to be Running',
        150_000,
        500,
      );

      const kubeconfig = await server.request<string>('GET', `${clusters}/${created.body.id}/kubeconfig`);
      expect(kubeconfig.text).toContain(`server: ${running.endpoint}`);
      const file = join(scratch, 'admin.kubeconfig');
      writeFileSync(file, kubeconfig.text, { mode: 0o600 });
      const namespaces = await run('/usr/bin/kubectl', ['--kubeconfig', file, 'get', 'ns', '-o', 'name'], { timeout: scaled(30_000) });
      expect(namespaces.stdout).toContain('namespace/kube-public');

      const volumes = join(server.dataDir, 'sandbox', 'volumes');
      expect(readdirSync(volumes).length).toBe(3);
      expect((await server.request('DELETE', `${clusters}/${created.body.id}`)).status).toBe(202);
      await eventually(async () => (await server.request('GET', `${clusters}/${created.body.id}`)).status === 404, 'the cluster to be deleted', 90_000, 500);
      await eventually(async () => !existsSync(volumes) || readdirSync(volumes).length === 0, 'the etcd data to be removed', 30_000, 200);
    },
    scaled(240_000),
  );
});
