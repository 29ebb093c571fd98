// Control-plane reconciling costs, printed for the closing notes.
// - apply-only: pre-rendered clusters applied with server-side apply (the worker's KubeClient)
//   to a kubesim seed without pods; HM_BENCH_CLUSTERS clusters (default 100).
// - one-click latency: POST /clusters → Running on a process seed with real etcd ×3.
// Run: npx vitest bench --run test/bench/control-plane.bench.ts
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { afterAll, bench, describe } from 'vitest';
import type { KubernetesObject } from '@kubernetes/client-node';
import { renderCluster, type ControlPlaneSpec, type RenderedCluster } from '../../services/core/src/controlplane/index.js';
import { KubeClient } from '../../services/kube/src/index.js';
import { createSeed, type SeedHandle } from '../../services/sandbox/src/kubesim/index.js';
import { startProcessSeed, type ProcessSeed } from '../control-plane/support.js';
import { ROOT, TestServer } from '../support/server.js';

const CLUSTERS = Number(process.env.HM_BENCH_CLUSTERS ?? '100');
const CONCURRENCY = 16;

function specFor(index: number): ControlPlaneSpec {
  return {
    clusterId: `bench${index}`,
    clusterName: `bench-${index}`,
    version: '1.37.0',
    serviceCidr: '10.96.0.0/12',
    podCidr: '10.244.0.0/16',
    expose: { strategy: 'NodePort', nodePort: 30000 + (index % 2700) },
    endpoint: { host: '127.0.0.1', port: 30000 + (index % 2700) },
    etcd: { members: 3 },
  };
}

async function inParallel<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await work(items[next++]);
    }),
  );
}

let seed: SeedHandle | undefined;
let processSeed: ProcessSeed | undefined;
let server: TestServer | undefined;

// Vitest runs only file-level hooks around benchmarks, so the teardown lives here.
afterAll(async () => {
  await server?.destroy();
  await processSeed?.stop();
  await seed?.close();
});

describe('apply-only: every control-plane object of many clusters into a kubesim seed', () => {
  let rendered: RenderedCluster[] = [];
  let round = 0;

  bench(
    `${CLUSTERS} clusters, ${CONCURRENCY} in flight`,
    async () => {
      seed ??= await createSeed({ authorizationModes: ['RBAC'] });
      if (rendered.length === 0) rendered = await Promise.all(Array.from({ length: CLUSTERS }, (_, index) => renderCluster(specFor(index), { keyAlgorithm: 'ecdsa' })));
      const client = KubeClient.fromYaml(seed.adminKubeconfig);
      const cpuBefore = process.cpuUsage();
      const started = performance.now();
      let objects = 0;
      await inParallel(rendered, CONCURRENCY, async (cluster) => {
        for (const group of cluster.objects.groups) {
          await Promise.all(group.objects.map((object) => client.apply(object as KubernetesObject)));
          objects += group.objects.length;
        }
      });
      const wallMs = performance.now() - started;
      const cpu = process.cpuUsage(cpuBefore);
      round += 1;
      console.log(
        `[apply-only round ${round}] ${CLUSTERS} clusters, ${objects} objects in ${(wallMs / 1000).toFixed(1)} s ` +
          `(${(wallMs / CLUSTERS).toFixed(1)} ms/cluster wall, ${((cpu.user + cpu.system) / 1000 / CLUSTERS).toFixed(1)} ms/cluster client+seed CPU, ` +
          `rss ${(process.memoryUsage().rss / 1024 / 1024).toFixed(0)} MiB)`,
      );
    },
    { iterations: 1, time: 0, warmupIterations: 0, warmupTime: 0 },
  );
});

describe('one-click latency on a process seed with real etcd', () => {
  let projectId = '';

  bench(
    'POST /clusters → Running',
    async () => {
      if (!server) {
        execFileSync(process.execPath, ['scripts/build.mjs', '--no-portal'], { cwd: ROOT, stdio: 'ignore' });
        processSeed = await startProcessSeed({ pods: true });
        server = await TestServer.start({ backend: 'pglite' });
        await server.request('POST', '/api/v1/seeds', { body: { name: 'bench-seed', kubeconfig: processSeed.kubesim.adminKubeconfig, maxClusters: 5 } });
        projectId = (await server.request<{ id: string }>('POST', '/api/v1/projects', { body: { name: 'bench' } })).body.id;
      }
      const started = performance.now();
      const created = await server.request<{ id: string }>('POST', `/api/v1/projects/${projectId}/clusters`, { body: {} });
      for (;;) {
        const cluster = await server.request<{ phase: string }>('GET', `/api/v1/projects/${projectId}/clusters/${created.body.id}`);
        if (cluster.body.phase === 'Running') break;
        if (performance.now() - started > 180_000) throw new Error('the cluster did not reach Running in 180 s');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      console.log(`[one-click] POST → Running in ${((performance.now() - started) / 1000).toFixed(1)} s`);
      await server.request('DELETE', `/api/v1/projects/${projectId}/clusters/${created.body.id}`);
      for (;;) {
        const gone = await server.request('GET', `/api/v1/projects/${projectId}/clusters/${created.body.id}`);
        if (gone.status === 404) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    },
    { iterations: 1, time: 0, warmupIterations: 0, warmupTime: 0 },
  );
});
