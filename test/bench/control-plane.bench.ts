// Control-plane reconciling costs, printed for the closing notes.
// - apply-only: HM_BENCH_CLUSTERS clusters (default 1000) created through the HTTP API of the
//   built server against a kubesim seed whose pods never start (no kubelet). A cluster counts
//   as converged once its EtcdReady condition reads False/QuorumNotReady: the worker writes that
//   after it has applied every seed object up to and including the etcd group (namespace,
//   exposing Service, PKI, Secrets and ConfigMaps, NetworkPolicies, etcd StatefulSet, Service
//   and PDB) and is about to requeue the job to wait for etcd, the furthest a pass gets
//   without pods. Reported: wall time from the first POST, and the server process's CPU time
//   and peak RSS (/proc/<pid>/stat and VmHWM), per cluster. HM_BENCH_BACKEND=postgres runs the
//   server on the local PostgreSQL instead of embedded PGlite.
//   HM_BENCH_SERVER_NODE_OPTIONS passes NODE_OPTIONS to the server (profiling).
// - one-click latency: POST /clusters → Running on a process seed with real etcd ×3, three runs;
//   with KUBE_BIN_DIR the tenant runs the real binaries (compare the two with the same command).
// Run: npx vitest bench --run test/bench/control-plane.bench.ts [-t one-click]
//      KUBE_BIN_DIR=.cache/kube-bins/v1.37.2 npx vitest bench --run test/bench/control-plane.bench.ts -t one-click
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { afterAll, bench, describe } from 'vitest';
import { createSeed, type SeedHandle } from '../../services/sandbox/src/kubesim/index.js';
import { startProcessSeed, type ProcessSeed } from '../control-plane/support.js';
import { ROOT, TestServer, type Backend } from '../support/server.js';

const CLUSTERS = Number(process.env.HM_BENCH_CLUSTERS ?? '1000');
const BACKEND = (process.env.HM_BENCH_BACKEND ?? 'pglite') as Backend;
/** POSTs in flight at once, as a handful of busy API clients would send them. */
const POSTS_IN_FLIGHT = 8;
const APPLY_TIMEOUT_MS = Number(process.env.HM_BENCH_TIMEOUT_SECONDS ?? '900') * 1000;
const CLOCK_TICKS_PER_SECOND = 100;

async function inParallel<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await work(items[next++]);
    }),
  );
}

/** User plus system CPU seconds of a process, from /proc/<pid>/stat (fields 14 and 15). */
function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

function processMemoryMiB(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}

function buildOnce(): void {
  execFileSync(process.execPath, ['scripts/build.mjs', '--with-sandbox', '--no-portal'], { cwd: ROOT, stdio: 'ignore' });
}

interface ClusterView {
  id: string;
  conditions?: Array<{ type: string; status: string; reason: string }>;
}

const applied = (cluster: ClusterView): boolean =>
  Boolean(cluster.conditions?.some((condition) => condition.type === 'EtcdReady' && condition.status === 'False' && condition.reason === 'QuorumNotReady'));

let seed: SeedHandle | undefined;
let applyServer: TestServer | undefined;
let processSeed: ProcessSeed | undefined;
let server: TestServer | undefined;

// Vitest runs only file-level hooks around benchmarks, so the teardown lives here.
afterAll(async () => {
  await applyServer?.destroy();
  await server?.destroy();
  await processSeed?.stop();
  await seed?.close();
});

describe('apply-only: clusters created through the API into a kubesim seed without pods', () => {
  bench(
    `${CLUSTERS} clusters through POST /clusters (${BACKEND})`,
    async () => {
      buildOnce();
      seed = await createSeed({ authorizationModes: ['RBAC'] });
      applyServer = await TestServer.start({
        backend: BACKEND,
        env: {
          HM_QUOTA_CLUSTERS_PER_PROJECT: String(CLUSTERS),
          // Nothing ever reaches Running here; keep the periodic jobs out of the measurement.
          HM_SEED_HEALTH_INTERVAL_SECONDS: '3600',
          HM_CLUSTER_HEALTH_INTERVAL_SECONDS: '3600',
          // e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the server under this load.
          ...(process.env.HM_BENCH_SERVER_NODE_OPTIONS ? { NODE_OPTIONS: process.env.HM_BENCH_SERVER_NODE_OPTIONS } : {}),
        },
      });
      const pid = applyServer.pid!;
      const registered = await applyServer.request('POST', '/api/v1/seeds', {
        body: { name: 'bench-seed', kubeconfig: seed.adminKubeconfig, maxClusters: Math.max(CLUSTERS, 1) },
      });
      if (registered.status !== 201) throw new Error(`seed registration answered ${registered.status}: ${registered.text}`);
      const projectId = (await applyServer.request<{ id: string }>('POST', '/api/v1/projects', { body: { name: 'bench' } })).body.id;

      const serverCpuBefore = processCpuSeconds(pid);
      const benchCpuBefore = process.cpuUsage();
      const seedConnectionsBefore = seed.connectionsAccepted();
      const started = performance.now();
      let postFailures = 0;
      await inParallel(
        Array.from({ length: CLUSTERS }, (_, index) => index),
        POSTS_IN_FLIGHT,
        async () => {
          const created = await applyServer!.request('POST', `/api/v1/projects/${projectId}/clusters`, { body: {} });
          if (created.status !== 201 && created.status !== 202) {
            postFailures += 1;
            if (postFailures === 1) console.error(`[apply-only] POST /clusters answered ${created.status}: ${created.text.slice(0, 300)}`);
          }
        },
      );
      const postedMs = performance.now() - started;
      if (postFailures > 0) throw new Error(`${postFailures} of ${CLUSTERS} POST /clusters failed`);

      let converged: number;
      let convergedMs: number;
      let halfMs = 0;
      for (;;) {
        const listed = await applyServer.request<{ items: ClusterView[] } | ClusterView[]>('GET', `/api/v1/projects/${projectId}/clusters`);
        const items = Array.isArray(listed.body) ? listed.body : listed.body.items;
        converged = items.filter(applied).length;
        if (!halfMs && converged >= CLUSTERS / 2) halfMs = performance.now() - started;
        if (converged >= CLUSTERS) {
          convergedMs = performance.now() - started;
          break;
        }
        if (performance.now() - started > APPLY_TIMEOUT_MS)
          throw new Error(`only ${converged} of ${CLUSTERS} clusters converged in ${APPLY_TIMEOUT_MS / 1000} s`);
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
      const serverCpu = processCpuSeconds(pid) - serverCpuBefore;
      const benchCpu = process.cpuUsage(benchCpuBefore);
      const rows: Array<[string, string]> = [
        ['clusters converged', `${converged} / ${CLUSTERS} (${BACKEND})`],
        ['wall: all POSTs answered', `${(postedMs / 1000).toFixed(1)} s`],
        ['wall: half converged', `${(halfMs / 1000).toFixed(1)} s`],
        ['wall: all converged', `${(convergedMs / 1000).toFixed(1)} s  (bar: < 60 s)`],
        ['wall per cluster', `${(convergedMs / CLUSTERS).toFixed(1)} ms`],
        ['server (api + worker) CPU', `${serverCpu.toFixed(1)} s = ${((serverCpu * 1000) / CLUSTERS).toFixed(1)} ms/cluster`],
        [
          'server peak RSS (VmHWM)',
          `${processMemoryMiB(pid, 'VmHWM').toFixed(0)} MiB = ${((processMemoryMiB(pid, 'VmHWM') * 1024) / CLUSTERS).toFixed(1)} KiB/cluster`,
        ],
        [
          'seed (kubesim, bench process) CPU',
          `${((benchCpu.user + benchCpu.system) / 1e6).toFixed(1)} s = ${((benchCpu.user + benchCpu.system) / 1000 / CLUSTERS).toFixed(1)} ms/cluster`,
        ],
        ['TLS connections to the seed', String(seed.connectionsAccepted() - seedConnectionsBefore)],
      ];
      const width = Math.max(...rows.map(([name]) => name.length));
      console.log(`\n[apply-only] ${CLUSTERS} clusters through the API\n${rows.map(([name, value]) => `  ${name.padEnd(width)}  ${value}`).join('\n')}\n`);
      // A thousand waiting clusters must not share the cores with the latency measurement below.
      await applyServer.destroy();
      applyServer = undefined;
      await seed.close();
      seed = undefined;
    },
    { iterations: 1, time: 0, warmupIterations: 0, warmupTime: 0 },
  );
});

// With KUBE_BIN_DIR the tenant's etcd, kube-apiserver, kube-controller-manager and kube-scheduler
// are the real binaries; without, kubesim plays the Kubernetes components over Debian's etcd.
const tenantBinaries = process.env.KUBE_BIN_DIR ? `real binaries (${process.env.KUBE_BIN_DIR.split('/').pop()})` : 'kubesim';

describe(`one-click latency on a process seed, tenant on ${tenantBinaries}`, () => {
  let projectId = '';
  const runs: number[] = [];
  // One line per run with the median so far and the load beside it, the figure the closing notes
  // quote. stderr, and not from an afterAll hook: vitest's bench reporter drops both of those otherwise.
  const report = (): void => {
    const sorted = [...runs].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)];
    process.stderr.write(
      `[one-click, ${tenantBinaries}] POST → Running: runs ${runs.map((run) => run.toFixed(1)).join(', ')} s; median ${median.toFixed(1)} s; load average ${loadavg()
        .map((load) => load.toFixed(1))
        .join(' ')}\n`,
    );
  };

  bench(
    'POST /clusters → Running',
    async () => {
      if (!server) {
        buildOnce();
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
      runs.push((performance.now() - started) / 1000);
      report();
      await server.request('DELETE', `/api/v1/projects/${projectId}/clusters/${created.body.id}`);
      for (;;) {
        const gone = await server.request('GET', `/api/v1/projects/${projectId}/clusters/${created.body.id}`);
        if (gone.status === 404) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    },
    // Three runs, for a median on a noisy machine.
    { iterations: 3, time: 0, warmupIterations: 0, warmupTime: 0 },
  );
});
