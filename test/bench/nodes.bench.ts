// 1000 worker nodes across 50 clusters on the EC2 simulator, one AWS account rate-limited to
// 20 requests/s (HM_CLOUD_RATE_LIMIT_PER_SECOND=20), the worker in its own process.
//
// What is real: the api and worker processes (PostgreSQL, Redis), the control-plane reconciler,
// the node pool reconciler, the AWS SDK driver with the Redis request budget, the strict EC2
// simulator. What stands in, and why (2 cores cannot run 50 control planes as processes):
// - the seed is an in-process kubesim without a process kubelet; a stand-in kubelet here marks
//   the control-plane workloads rolled out and, for each cluster's kube-apiserver Deployment,
//   starts an in-process kubesim as that cluster's apiserver (memory storage instead of etcd)
//   with the cluster's own serving certificate and client CA, on the NodePort the reconciler
//   exposed. The control-plane reconciler then probes it, applies the tenant objects into it and
//   marks the cluster Running exactly as it would a real one.
// - nodes "join" instantly: when an instance reaches running, the boot hook registers a Ready
//   Node of the user data's node name in that cluster's apiserver (no sshd, no kubelet). Pools
//   then converge and stop polling, as they would once real nodes joined.
//
// Measured: the time from the scale requests (50 × PATCH replicas 0 → 20) until every one of the
// 1000 node rows has its machine recorded as running, as a ratio of the rate-limit floor:
//   floor = minimum EC2 requests / rate, with per pool one DescribeInstances before creating
//   (the reconciler lists the pool by tag filter), one RunInstances per node, and one
//   DescribeInstances to see them running: 50 × (1 + 20 + 1) = 1100 requests → 55 s at 20/s.
// Also reported: requests actually sent, duplicates and orphans (must be 0), the worker's peak
// RSS (VmHWM) and its open sockets at the end.
// Run: npx vitest bench --run test/bench/nodes.bench.ts
import 'reflect-metadata';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, KubeConfig, type V1Deployment, type V1StatefulSet } from '@kubernetes/client-node';
import pg from 'pg';
import { afterAll, bench, describe } from 'vitest';
import { SecretBox } from '../../services/core/src/index.js';
import { openClusterSecrets } from '../../services/kube/src/index.js';
import { startEc2Simulator, type Ec2Simulator } from '../../services/sandbox/src/clouds/ec2/index.js';
import { createSeed, startKubeSim, type KubeSimHandle, type SeedHandle } from '../../services/sandbox/src/kubesim/index.js';
import { parseNodeUserData } from '../../services/sandbox/src/nodes/index.js';
import { sshPublicKey } from '../support/fixtures.js';
import { ROOT, TestServer } from '../support/server.js';
import { eventually } from '../support/time.js';

const CLUSTERS = Number(process.env.HM_BENCH_NODE_CLUSTERS ?? '50');
const NODES_PER_CLUSTER = Number(process.env.HM_BENCH_NODES_PER_CLUSTER ?? '20');
const RATE_PER_SECOND = 20;
const TOTAL_NODES = CLUSTERS * NODES_PER_CLUSTER;
/** Per pool: one listing before creating, one RunInstances per node, one listing that sees them running. */
const FLOOR_REQUESTS = CLUSTERS * (1 + NODES_PER_CLUSTER + 1);
const ACCOUNT = {
  accessKeyId: `AKIA${randomBytes(8).toString('hex').toUpperCase()}`,
  secretAccessKey: randomBytes(30).toString('base64'),
  region: 'us-east-1',
};

interface Tenant {
  handle: KubeSimHandle;
  core: CoreV1Api;
}

let seed: SeedHandle | undefined;
let ec2: Ec2Simulator | undefined;
let api: TestServer | undefined;
let worker: ChildProcess | undefined;
let database: pg.Client | undefined;
let stopStandIn: (() => void) | undefined;
const tenants = new Map<number, Promise<Tenant>>();

afterAll(async () => {
  stopStandIn?.();
  if (worker?.exitCode === null) {
    const exited = new Promise((resolve) => worker!.once('exit', resolve));
    worker.kill('SIGTERM');
    await exited;
  }
  await database?.end();
  await api?.destroy();
  await ec2?.close();
  for (const tenant of tenants.values()) await (await tenant.catch(() => undefined))?.handle.close();
  await seed?.close();
}, 120_000);

async function inParallel<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await work(items[next++]);
    }),
  );
}

/** This cluster's apiserver: an in-process kubesim with the cluster's own certificates, on its NodePort. */
function tenantFor(clusterId: string, box: SecretBox): Promise<Tenant | undefined> {
  return (async () => {
    const row = (
      await database!.query<{ endpoint: string | null; sealed_secrets: string | null }>('select endpoint, sealed_secrets from clusters where id = $1', [
        clusterId,
      ])
    ).rows[0];
    const secrets = row ? openClusterSecrets(box, clusterId, row.sealed_secrets) : undefined;
    if (!row?.endpoint || !secrets) return undefined;
    const port = Number(new URL(row.endpoint).port);
    let tenant = tenants.get(port);
    if (!tenant) {
      const { pki } = secrets;
      tenant = startKubeSim({
        servingCert: pki.leaves.apiserver.certPem,
        servingKey: pki.leaves.apiserver.keyPem,
        clientCA: pki.ca.cluster.certPem,
        host: '127.0.0.1',
        port,
        serviceAccountKeys: [pki.serviceAccount.publicKeyPem],
      }).then((handle) => {
        const config = new KubeConfig();
        config.loadFromString(handle.kubeconfig({ clientCert: pki.leaves.admin.certPem, clientKey: pki.leaves.admin.keyPem }, pki.ca.cluster.certPem));
        return { handle, core: config.makeApiClient(CoreV1Api) };
      });
      tenants.set(port, tenant);
    }
    return tenant;
  })();
}

/** Marks every control-plane workload in the seed rolled out, starting each cluster's apiserver first. */
function startStandInKubelet(box: SecretBox): () => void {
  const config = new KubeConfig();
  config.loadFromString(seed!.adminKubeconfig);
  const apps = config.makeApiClient(AppsV1Api);
  let stopped = false;
  const settled = (object: V1Deployment | V1StatefulSet): boolean => {
    const wanted = object.spec?.replicas ?? 1;
    const status = object.status;
    return (
      status?.observedGeneration === object.metadata?.generation &&
      status?.readyReplicas === wanted &&
      status?.updatedReplicas === wanted &&
      status?.replicas === wanted
    );
  };
  const rolledOut = (object: V1Deployment | V1StatefulSet) => {
    const wanted = object.spec?.replicas ?? 1;
    return {
      observedGeneration: object.metadata?.generation,
      replicas: wanted,
      readyReplicas: wanted,
      updatedReplicas: wanted,
      availableReplicas: wanted,
      currentReplicas: wanted,
    };
  };
  const loop = async (): Promise<void> => {
    while (!stopped) {
      try {
        for (const set of (await apps.listStatefulSetForAllNamespaces()).items) {
          if (!set.metadata?.namespace?.startsWith('cluster-') || settled(set)) continue;
          await apps.replaceNamespacedStatefulSetStatus({
            name: set.metadata.name!,
            namespace: set.metadata.namespace,
            body: { ...set, status: rolledOut(set) },
          });
        }
        for (const deployment of (await apps.listDeploymentForAllNamespaces()).items) {
          const namespace = deployment.metadata?.namespace ?? '';
          if (!namespace.startsWith('cluster-') || settled(deployment)) continue;
          if (deployment.metadata?.name === 'kube-apiserver' && !(await tenantFor(namespace.slice('cluster-'.length), box))) continue;
          await apps.replaceNamespacedDeploymentStatus({ name: deployment.metadata!.name!, namespace, body: { ...deployment, status: rolledOut(deployment) } });
        }
      } catch {
        // A conflict with the reconciler's own apply: the next round looks again.
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  };
  void loop();
  return () => {
    stopped = true;
  };
}

/** The boot hook: the node behind the user data joins at once (a Ready Node in its cluster). */
async function instantJoin(userData: string, privateIp: string): Promise<void> {
  const params = parseNodeUserData(userData);
  const tenant = await tenants.get(Number(params.endpoint.split(':').pop()));
  if (!tenant) throw new Error(`no apiserver at ${params.endpoint}`);
  const now = new Date();
  const created = await tenant.core.createNode({
    body: { apiVersion: 'v1', kind: 'Node', metadata: { name: params.nodeName, labels: { 'kubernetes.io/hostname': params.nodeName } } },
  });
  await tenant.core.replaceNodeStatus({
    name: params.nodeName,
    body: {
      ...created,
      status: {
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'KubeletReady',
            message: 'kubelet is posting ready status',
            lastHeartbeatTime: now,
            lastTransitionTime: now,
          },
        ],
        addresses: [{ type: 'InternalIP', address: privateIp }],
        nodeInfo: {
          kubeletVersion: `v${params.kubernetesVersion ?? '0.0.0'}`,
          machineID: params.nodeName,
          systemUUID: params.nodeName,
          bootID: params.nodeName,
          kernelVersion: '6.8.0',
          osImage: 'Ubuntu 24.04 LTS',
          containerRuntimeVersion: 'containerd://1.7.12',
          kubeProxyVersion: '',
          operatingSystem: 'linux',
          architecture: 'amd64',
        },
      },
    },
  });
}

function procStatus(pid: number, field: string): string {
  return (
    /^(\S+):\s+(.*)$/m.exec(
      readFileSync(`/proc/${pid}/status`, 'utf8')
        .split('\n')
        .find((line) => line.startsWith(`${field}:`)) ?? '',
    )?.[2] ?? '?'
  );
}

/** The process's open sockets, counted by what their TCP peer is (by remote port). */
function openSockets(pid: number, peers: Record<string, (port: number) => boolean>): { total: number; byPeer: Map<string, number> } {
  const inodes = readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      return match ? [match[1]] : [];
    } catch {
      return [];
    }
  });
  const remotePortOf = new Map<string, number>();
  for (const table of ['tcp', 'tcp6']) {
    for (const line of readFileSync(`/proc/${pid}/net/${table}`, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length > 9) remotePortOf.set(fields[9], Number.parseInt(fields[2].split(':')[1], 16));
    }
  }
  const byPeer = new Map<string, number>();
  for (const inode of inodes) {
    const port = remotePortOf.get(inode);
    const peer =
      port === undefined ? 'not TCP' : port === 0 ? 'listening' : (Object.entries(peers).find(([, matches]) => matches(port))?.[0] ?? `port ${port}`);
    byPeer.set(peer, (byPeer.get(peer) ?? 0) + 1);
  }
  return { total: inodes.length, byPeer };
}

describe('node provisioning at scale under the per-account budget', () => {
  bench(
    `${TOTAL_NODES} nodes across ${CLUSTERS} clusters on EC2 at ${RATE_PER_SECOND} requests/s`,
    async () => {
      execFileSync(process.execPath, ['scripts/build.mjs', '--with-sandbox', '--no-portal'], { cwd: ROOT, stdio: 'ignore' });
      seed = await createSeed({ authorizationModes: ['RBAC'] });
      ec2 = await startEc2Simulator({
        accounts: [ACCOUNT],
        timing: { bootMs: 1_000, shutdownMs: 1_000 },
        onInstanceRunning: (instance, userData) => instantJoin(userData, instance.privateIp),
      });
      api = await TestServer.start({
        backend: 'postgres',
        env: { HM_ROLE: 'api', HM_QUOTA_CLUSTERS_PER_PROJECT: String(CLUSTERS), HM_QUOTA_NODES_PER_PROJECT: String(TOTAL_NODES) },
      });
      database = new pg.Client({ connectionString: api.databaseUrl });
      await database.connect();
      const box = new SecretBox(Buffer.from(api.masterKey, 'base64'));
      stopStandIn = startStandInKubelet(box);
      let workerLog = '';
      worker = spawn(process.execPath, [join(ROOT, 'dist/services/worker/src/main.js')], {
        env: api.workerEnv({
          HM_SANDBOX: 'false',
          HM_AWS_ENDPOINT: ec2.url,
          HM_CLOUD_RATE_LIMIT_PER_SECOND: String(RATE_PER_SECOND),
          HM_RESYNC_INTERVAL_SECONDS: '30',
          HM_CLUSTER_HEALTH_INTERVAL_SECONDS: '120',
          // The stand-in nodes run no sshd; the health checker has nothing to learn here.
          HM_NODE_HEALTH_INTERVAL_SECONDS: '86400',
          LOG_LEVEL: 'info',
        }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      worker.stdout!.on('data', (chunk: Buffer) => (workerLog += chunk.toString()));
      worker.stderr!.on('data', (chunk: Buffer) => (workerLog += chunk.toString()));
      await eventually(async () => workerLog.includes('harbormaster worker running') || undefined, 'the worker to start', 60_000, 100);

      const registered = await api.request('POST', '/api/v1/seeds', {
        body: { name: 'bench-seed', kubeconfig: seed.adminKubeconfig, maxClusters: CLUSTERS + 10 },
      });
      if (registered.status !== 201) throw new Error(`seed registration failed: ${registered.text}`);
      const project = (await api.request<{ id: string }>('POST', '/api/v1/projects', { body: { name: 'bench-nodes' } })).body;
      const credential = (
        await api.request<{ id: string }>('POST', `/api/v1/projects/${project.id}/credentials`, { body: { name: 'aws', provider: 'aws', ...ACCOUNT } })
      ).body;
      const pools: Array<{ clusterId: string; poolId: string }> = [];
      const controlPlanesStarted = performance.now();
      await inParallel(
        Array.from({ length: CLUSTERS }, (_, index) => index),
        8,
        async (index) => {
          const cluster = await api!.request<{ id: string }>('POST', `/api/v1/projects/${project.id}/clusters`, {
            body: {
              name: `bench-${index}`,
              etcdReplicas: 1,
              nodePool: {
                name: 'workers',
                credentialId: credential.id,
                replicas: 0,
                region: 'us-east-1',
                size: 't3.medium',
                image: 'ami-0123456789abcdef0',
                sshPublicKeys: [sshPublicKey()],
              },
            },
          });
          if (cluster.status !== 201) throw new Error(`cluster create failed: ${cluster.text}`);
          const poolList = await api!.request<{ items: Array<{ id: string }> }>('GET', `/api/v1/projects/${project.id}/clusters/${cluster.body.id}/nodepools`);
          pools.push({ clusterId: cluster.body.id, poolId: poolList.body.items[0].id });
        },
      );
      await eventually(
        async () => {
          const running = (await database!.query<{ count: string }>("select count(*) from clusters where phase = 'Running' and deleted_at is null")).rows[0]
            .count;
          return Number(running) === CLUSTERS || undefined;
        },
        `${CLUSTERS} clusters to run`,
        900_000,
        500,
      );
      const controlPlanesSeconds = (performance.now() - controlPlanesStarted) / 1000;

      // The measured part.
      const requestsBefore = ec2.requests().length;
      const started = performance.now();
      await inParallel(pools, 10, async ({ clusterId, poolId }) => {
        const scaled = await api!.request('PATCH', `/api/v1/projects/${project.id}/clusters/${clusterId}/nodepools/${poolId}`, {
          body: { replicas: NODES_PER_CLUSTER },
        });
        if (scaled.status !== 202) throw new Error(`scale failed: ${scaled.text}`);
      });
      let runningAt = 0;
      let readyAt = 0;
      await eventually(
        async () => {
          const counts = (
            await database!.query<{ running: string; ready: string }>(
              "select count(*) filter (where instance_state = 'running') as running, count(*) filter (where phase = 'Ready') as ready from nodes where deleted_at is null",
            )
          ).rows[0];
          const now = performance.now();
          if (!runningAt && Number(counts.running) >= TOTAL_NODES) runningAt = now;
          if (!readyAt && Number(counts.ready) >= TOTAL_NODES) readyAt = now;
          return (runningAt && readyAt) || undefined;
        },
        `${TOTAL_NODES} nodes running and Ready`,
        1_800_000,
        250,
      );
      const requests = ec2.requests().slice(requestsBefore);
      const workerPid = worker.pid!;
      const peakRss = procStatus(workerPid, 'VmHWM');
      const tenantPorts = new Set(await Promise.all([...tenants.values()].map(async (tenant) => (await tenant).handle.port)));
      const sockets = openSockets(workerPid, {
        redis: (port) => port === 6379,
        postgresql: (port) => port === 5432,
        'EC2 endpoint': (port) => port === Number(new URL(ec2!.url).port),
        seed: (port) => port === Number(new URL(seed!.url).port),
        'tenant apiservers': (port) => tenantPorts.has(port),
      });

      // Correctness: one machine per node id, every live machine owned by a live row and back.
      const instances = ec2.instances();
      const rows = (await database.query<{ id: string; cloud_id: string | null }>('select id, cloud_id from nodes where deleted_at is null')).rows;
      const rowIds = new Set(rows.map((row) => row.id));
      const perNode = new Map<string, number>();
      for (const instance of instances) {
        const nodeId = instance.tags['harbormaster.io/node-id'];
        if (nodeId) perNode.set(nodeId, (perNode.get(nodeId) ?? 0) + 1);
      }
      const duplicates = [...perNode.values()].filter((count) => count > 1).length;
      const live = instances.filter((instance) => instance.state !== 'terminated' && instance.state !== 'shutting-down');
      const liveIds = new Set(live.map((instance) => instance.instanceId));
      const orphans =
        live.filter((instance) => !rowIds.has(instance.tags['harbormaster.io/node-id'] ?? '')).length +
        rows.filter((row) => !row.cloud_id || !liveIds.has(row.cloud_id)).length;

      const seconds = (runningAt - started) / 1000;
      const floorSeconds = FLOOR_REQUESTS / RATE_PER_SECOND;
      const byOperation = new Map<string, number>();
      for (const request of requests)
        byOperation.set(
          `${request.operation ?? '?'}${request.status === 200 ? '' : ` (${request.status})`}`,
          (byOperation.get(`${request.operation ?? '?'}${request.status === 200 ? '' : ` (${request.status})`}`) ?? 0) + 1,
        );
      const rows_ = [
        ['control planes Running (not measured)', `${controlPlanesSeconds.toFixed(1)} s for ${CLUSTERS}`],
        ['nodes', `${TOTAL_NODES} (${CLUSTERS} pools × ${NODES_PER_CLUSTER})`],
        ['rate limit', `${RATE_PER_SECOND} requests/s, one account`],
        ['floor', `${FLOOR_REQUESTS} requests / ${RATE_PER_SECOND} = ${floorSeconds.toFixed(1)} s`],
        ['scale request → all machines running', `${seconds.toFixed(1)} s`],
        ['ratio to floor (bar ≤ 1.2)', (seconds / floorSeconds).toFixed(3)],
        ['→ all nodes Ready', `${((readyAt - started) / 1000).toFixed(1)} s`],
        ['EC2 requests sent', `${requests.length} (${[...byOperation].map(([operation, count]) => `${operation} ${count}`).join(', ')})`],
        ['duplicates (node ids with >1 machine)', String(duplicates)],
        ['orphans (machines without row + rows without machine)', String(orphans)],
        ['boot hook errors', String(ec2.bootErrors().size)],
        ['worker peak RSS (VmHWM)', peakRss],
        ['worker open sockets at the end', `${sockets.total} (${[...sockets.byPeer].map(([peer, count]) => `${peer} ${count}`).join(', ')})`],
      ];
      const width = Math.max(...rows_.map(([label]) => label.length));
      console.log(`\n[nodes bench]\n${rows_.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`).join('\n')}\n`);
      if (duplicates > 0 || orphans > 0) throw new Error(`duplicates ${duplicates}, orphans ${orphans}`);
    },
    { iterations: 1, time: 0, warmupIterations: 0, warmupTime: 0 },
  );
});
