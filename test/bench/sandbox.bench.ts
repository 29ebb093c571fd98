// The sandbox's own costs: kubesim write throughput, watch fan-out latency, and the time a
// 3-member TLS etcd (the product's own manifests) takes to become ready under the process
// kubelet. Medians are printed at the end; the machine is noisy, so compare ratios.
// Run: npm run bench -- test/bench/sandbox.bench.ts
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, KubeConfig, KubernetesObjectApi, Watch, type KubernetesObject } from '@kubernetes/client-node';
import { afterAll, beforeAll, bench, describe } from 'vitest';
import { buildControlPlane, pkiSpecFor, type ControlPlaneSpec } from '../../services/core/src/controlplane/index.js';
import { ensureClusterPki } from '../../services/core/src/pki/index.js';
import { startControllers, WORKLOAD_CONTROLLERS } from '../../services/sandbox/src/kubesim/controllers/roles.js';
import { createSeed, type SeedHandle } from '../../services/sandbox/src/kubesim/index.js';
import { startProcessKubelet, type ProcessKubelet } from '../../services/sandbox/src/kubelet/index.js';

const samples: Record<string, number[]> = {};
const record = (name: string, ms: number) => (samples[name] ??= []).push(ms);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

let seed: SeedHandle;
let config: KubeConfig;
let core: CoreV1Api;
let kubelet: ProcessKubelet;
let stopControllers: () => Promise<void>;
const stateDir = mkdtempSync(join(tmpdir(), 'hm-bench-etcd-'));
const namespace = 'bench';
const WATCHERS = 50;
const BATCH = 50;
const waiting = new Map<string, { remaining: number; done: () => void }>();
const watches: Array<{ abort(): void }> = [];

// Vitest runs only file-level hooks around benchmarks, so all set-up lives here.
beforeAll(async () => {
  seed = await createSeed();
  config = new KubeConfig();
  config.loadFromString(seed.adminKubeconfig);
  core = config.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  const watch = new Watch(config);
  for (let i = 0; i < WATCHERS; i += 1) {
    const controller = await watch.watch(
      `/api/v1/namespaces/${namespace}/secrets`,
      {},
      (phase: string, object: KubernetesObject) => {
        const entry = phase === 'ADDED' ? waiting.get(object.metadata?.name ?? '') : undefined;
        if (entry && --entry.remaining === 0) entry.done();
      },
      () => undefined,
    );
    watches.push(controller);
  }
  stopControllers = await startControllers(config, {
    controllers: ['namespace', 'garbagecollector', ...WORKLOAD_CONTROLLERS],
    garbageCollectorIntervalMs: 500,
  });
  kubelet = await startProcessKubelet({ kubeconfig: seed.adminKubeconfig, stateDir, maxTerminationGraceMs: 2_000 });
});

afterAll(async () => {
  watches.forEach((controller) => controller.abort());
  await kubelet?.stop();
  await stopControllers?.();
  rmSync(stateDir, { recursive: true, force: true });
  for (const [name, values] of Object.entries(samples)) {
    const perSecond = name.startsWith('create') ? ` (${((BATCH * 1000) / median(values)).toFixed(0)} creates/s)` : '';
    process.stdout.write(`median ${name}: ${median(values).toFixed(1)} ms over ${values.length} runs${perSecond}\n`);
  }
  await seed?.close();
});

describe('kubesim writes', () => {
  bench(
    `create ${BATCH} ConfigMaps, ${BATCH} in flight`,
    async () => {
      const started = performance.now();
      await Promise.all(
        Array.from({ length: BATCH }, () =>
          core.createNamespacedConfigMap({ namespace, body: { metadata: { generateName: 'cm-' }, data: { payload: randomBytes(64).toString('hex') } } }),
        ),
      );
      record(`create ${BATCH} in parallel`, performance.now() - started);
    },
    { iterations: 20, time: 0, warmupIterations: 1, warmupTime: 0 },
  );

  bench(
    `create ${BATCH} ConfigMaps one after another`,
    async () => {
      const started = performance.now();
      for (let i = 0; i < BATCH; i += 1) await core.createNamespacedConfigMap({ namespace, body: { metadata: { generateName: 'cs-' } } });
      record(`create ${BATCH} sequentially`, performance.now() - started);
    },
    { iterations: 10, time: 0, warmupIterations: 1, warmupTime: 0 },
  );
});

describe('kubesim watch fan-out', () => {
  bench(
    `one write seen by ${WATCHERS} watchers`,
    async () => {
      const name = `s-${randomBytes(4).toString('hex')}`;
      const seen = new Promise<void>((done) => waiting.set(name, { remaining: WATCHERS, done }));
      const started = performance.now();
      await core.createNamespacedSecret({ namespace, body: { metadata: { name }, stringData: { a: 'b' } } });
      await seen;
      record(`fan-out to ${WATCHERS} watchers`, performance.now() - started);
      waiting.delete(name);
    },
    { iterations: 30, time: 0, warmupIterations: 1, warmupTime: 0 },
  );
});

describe('3-member TLS etcd under the process kubelet', () => {
  bench(
    'apply the etcd StatefulSet until 3/3 ready (quorum)',
    async () => {
      const id = randomBytes(4).toString('hex');
      const spec: ControlPlaneSpec = {
        clusterId: id,
        clusterName: `bench-${id}`,
        version: '1.37.2',
        serviceCidr: '10.96.0.0/12',
        podCidr: '10.244.0.0/16',
        expose: { strategy: 'NodePort' },
        endpoint: { host: '127.0.0.1', port: 6443 },
        etcd: { members: 3 },
      };
      const { pki } = await ensureClusterPki(undefined, pkiSpecFor(spec), new Date());
      const objects = buildControlPlane(spec, pki);
      const client = KubernetesObjectApi.makeApiClient(config);
      const apps = config.makeApiClient(AppsV1Api);
      const started = performance.now();
      for (const group of objects.groups.filter((candidate) => ['namespace', 'config', 'etcd'].includes(candidate.name))) {
        for (const object of group.objects) await client.create(object as KubernetesObject);
      }
      for (;;) {
        const statefulSet = await apps.readNamespacedStatefulSet({ namespace: objects.namespace, name: 'etcd' });
        if ((statefulSet.status?.readyReplicas ?? 0) === 3) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      record('3-member TLS etcd ready', performance.now() - started);
      await core.deleteNamespace({ name: objects.namespace });
    },
    { iterations: 3, time: 0, warmupIterations: 0, warmupTime: 0 },
  );
});
