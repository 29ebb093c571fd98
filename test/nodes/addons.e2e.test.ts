// Usable clusters end to end: the add-ons (network plugin, kube-proxy or its replacement,
// CoreDNS, optional metrics-server) are installed into the user cluster, each node turns Ready
// only once its network plugin pod runs, and a user's Deployment behind a Service gets
// Endpoints on the worker nodes. Field ownership: the user's Corefile edit is kept, a deleted
// add-on object is repaired.
import { AppsV1Api, Watch, type CoreV1Api, type KubeConfig, type V1Node } from '@kubernetes/client-node';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, scaled, scaledSeconds } from '../support/time.js';
import {
  clusterEvents,
  clusterPath,
  createClusterWithPool,
  tenantApi,
  tenantConfig,
  waitForCluster,
  type Cluster,
  type NodeWorld,
  type Pool,
  startNodeWorld,
  poolNodes,
  scalePool,
  waitForOperation,
} from './support.js';

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}

let world: NodeWorld;

beforeAll(async () => {
  // CoreDNS's PodDisruptionBudget refuses the last eviction when a pool goes to zero; the removal
  // gives up waiting after this long (600 s by default).
  world = await startNodeWorld({ env: { HM_NODE_DRAIN_TIMEOUT_SECONDS: String(scaledSeconds(15)) } });
}, scaled(180_000));

afterAll(async () => {
  await world?.stop();
}, scaled(60_000));

/** The real kubectl of the newest catalog version when built, else the one on PATH. */
function kubectl(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const built = ['/work/main/.cache/kube-bins/v1.37.2/kubectl', '/tmp/ci-clone/.cache/kube-bins/v1.37.2/kubectl'].find((path) => existsSync(path));
  const binary = process.env.KUBE_BIN_DIR ? join(process.env.KUBE_BIN_DIR, 'kubectl') : (built ?? 'kubectl');
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const readyCondition = (node: V1Node) => node.status?.conditions?.find((condition) => condition.type === 'Ready');

/** Records every Ready condition each tenant Node reported, from its first appearance. */
async function recordNodeReadiness(config: KubeConfig): Promise<{ seen: Map<string, Condition[]>; stop: () => void }> {
  const seen = new Map<string, Condition[]>();
  const request = await new Watch(config).watch(
    '/api/v1/nodes',
    {},
    (_phase, node: V1Node) => {
      const ready = readyCondition(node);
      const name = node.metadata?.name;
      if (!ready || !name) return;
      const history = seen.get(name) ?? [];
      const last = history[history.length - 1];
      if (last?.status !== ready.status || last.reason !== ready.reason)
        history.push({ type: 'Ready', status: ready.status, reason: ready.reason ?? '', message: ready.message ?? '' });
      seen.set(name, history);
    },
    () => undefined,
  );
  return { seen, stop: () => request.abort() };
}

async function clusterConditions(clusterId: string): Promise<Condition[]> {
  const cluster = await world.server.request<Cluster & { conditions: Condition[] }>('GET', clusterPath(world, clusterId));
  return cluster.body.conditions;
}

function waitForCondition(clusterId: string, type: string, status: 'True' | 'False', reason?: string): Promise<Condition> {
  return eventually(
    async () =>
      (await clusterConditions(clusterId)).find(
        (condition) => condition.type === type && condition.status === status && (!reason || condition.reason === reason),
      ),
    `cluster condition ${type}=${status}${reason ? ` (${reason})` : ''}`,
    240_000,
    500,
  );
}

describe('add-ons with the default network plugin (cilium, kube-proxy replacement)', () => {
  let cluster: Cluster;
  let pool: Pool;
  let tenant: CoreV1Api;
  let apps: AppsV1Api;

  it(
    'makes each node Ready only after its network plugin pod runs, and runs CoreDNS over two nodes',
    async () => {
      ({ cluster, pool } = await createClusterWithPool(world, 'aws', 2, 'addons-cilium'));
      expect(cluster).toMatchObject({ cni: 'cilium', addons: { metricsServer: false } });
      await waitForCluster(world, cluster.id, 'Running');
      const config = await tenantConfig(world, cluster.id);
      tenant = await tenantApi(world, cluster.id);
      apps = config.makeApiClient(AppsV1Api);
      const readiness = await recordNodeReadiness(config);
      try {
        await waitForCondition(cluster.id, 'NetworkReady', 'True');
        const nodes = await eventually(
          async () => {
            const list = (await tenant.listNode()).items;
            return list.length === 2 && list.every((node) => readyCondition(node)?.status === 'True') ? list : undefined;
          },
          'two Ready nodes',
          240_000,
          500,
        );
        for (const node of nodes) {
          const history = readiness.seen.get(node.metadata?.name ?? '') ?? [];
          // A kubelet without a network plugin's configuration reports NotReady first, as a real one does.
          expect(history[0]).toMatchObject({ status: 'False', reason: 'KubeletNotReady' });
          expect(history[0].message).toContain('NetworkPluginNotReady');
          expect(history[history.length - 1].status).toBe('True');
        }
      } finally {
        readiness.stop();
      }

      const agents = (await tenant.listNamespacedPod({ namespace: 'kube-system', labelSelector: 'k8s-app=cilium' })).items;
      expect(agents.map((pod) => pod.spec?.nodeName).sort()).toEqual((await tenant.listNode()).items.map((node) => node.metadata?.name).sort());
      expect(agents.every((pod) => pod.status?.phase === 'Running')).toBe(true);
      // Cilium replaces kube-proxy.
      expect((await apps.listNamespacedDaemonSet({ namespace: 'kube-system' })).items.map((ds) => ds.metadata?.name)).not.toContain('kube-proxy');

      await waitForCondition(cluster.id, 'DNSReady', 'True');
      const dns = await tenant.readNamespacedService({ name: 'kube-dns', namespace: 'kube-system' });
      expect(dns.spec?.clusterIP).toBe('10.96.0.10');
      const coredns = (await tenant.listNamespacedPod({ namespace: 'kube-system', labelSelector: 'k8s-app=kube-dns' })).items;
      expect(coredns).toHaveLength(2);
      expect(new Set(coredns.map((pod) => pod.spec?.nodeName)).size).toBe(2);
      const nodes = await poolNodes(world, cluster.id, pool.id);
      expect(nodes.every((node) => node.phase === 'Ready')).toBe(true);

      // Every node's konnectivity agent dialled out to the servers beside the apiservers, and the
      // apiserver reaches each kubelet through them.
      await waitForCondition(cluster.id, 'TunnelReady', 'True');
      const tunnelAgents = (await tenant.listNamespacedPod({ namespace: 'kube-system', labelSelector: 'k8s-app=konnectivity-agent' })).items;
      expect(tunnelAgents.map((pod) => pod.spec?.nodeName).sort()).toEqual((await tenant.listNode()).items.map((node) => node.metadata?.name).sort());
      expect(tunnelAgents.every((pod) => pod.status?.conditions?.find((condition) => condition.type === 'Ready')?.status === 'True')).toBe(true);
      // An agent is ready once it holds one server; until it holds all (one per apiserver replica,
      // reached through the load-balanced Service) a replica may have no tunnel to its node yet.
      for (const node of (await tenant.listNode()).items) {
        const healthz = await eventually(
          async () => {
            const answer = await tenant.connectGetNodeProxyWithPath({ name: node.metadata!.name!, path: 'healthz' }).catch(() => undefined);
            return answer === 'ok' ? answer : undefined;
          },
          `nodes/${node.metadata?.name}/proxy/healthz through the tunnel from every apiserver replica`,
          60_000,
          500,
        );
        expect(healthz).toBe('ok');
      }

      const reasons = (await clusterEvents(world, cluster.id)).map((event) => event.reason);
      expect(reasons).toEqual(
        expect.arrayContaining(['AppliedNetworkAddons', 'AppliedDnsAddons', 'AppliedTunnelAddons', 'NetworkReady', 'DNSReady', 'TunnelReady']),
      );
    },
    scaled(480_000),
  );

  it(
    "gives a user's Deployment behind a Service Endpoints on the worker nodes",
    async () => {
      await apps.createNamespacedDeployment({
        namespace: 'default',
        body: {
          metadata: { name: 'web' },
          spec: {
            replicas: 3,
            selector: { matchLabels: { app: 'web' } },
            template: {
              metadata: { labels: { app: 'web' } },
              spec: {
                containers: [{ name: 'nginx', image: 'nginx:1.27', ports: [{ containerPort: 80 }], readinessProbe: { httpGet: { path: '/', port: 80 } } }],
              },
            },
          },
        },
      });
      await tenant.createNamespacedService({
        namespace: 'default',
        body: { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 80 }] } },
      });
      const workers = new Set((await tenant.listNode()).items.map((node) => node.metadata?.name));
      const addresses = await eventually(
        async () => {
          const endpoints = await tenant.readNamespacedEndpoints({ name: 'web', namespace: 'default' });
          const ready = endpoints.subsets?.flatMap((subset) => subset.addresses ?? []) ?? [];
          return ready.length === 3 ? ready : undefined;
        },
        'three ready endpoints for the web Service',
        180_000,
        500,
      );
      for (const address of addresses) expect(workers.has(address.nodeName)).toBe(true);
      // Pod IPs come from the cluster's pod network, not the nodes' addresses.
      expect(addresses.every((address) => address.ip.startsWith('10.244.'))).toBe(true);

      // The user's logs come from the node's kubelet, which the apiserver reaches only through the
      // node's konnectivity agent: the kubelet port is not on the node's InternalIP.
      const web = (await tenant.listNamespacedPod({ namespace: 'default', labelSelector: 'app=web' })).items[0]?.metadata?.name ?? '';
      const expected = `starting nginx (nginx:1.27) in pod default/${web}\nlistening on 80/TCP\n`;
      expect(await tenant.readNamespacedPodLog({ name: web, namespace: 'default' })).toBe(expected);
      const kubeconfigDir = mkdtempSync(join(tmpdir(), 'hm-addons-kubectl-'));
      try {
        const kubeconfig = join(kubeconfigDir, 'tenant.conf');
        writeFileSync(kubeconfig, (await tenantConfig(world, cluster.id)).exportConfig());
        const logs = await kubectl(['--kubeconfig', kubeconfig, '-n', 'default', 'logs', web]);
        expect(logs.stderr).toBe('');
        expect(logs.stdout).toBe(expected);
        const node = (await tenant.listNode()).items[0]?.metadata?.name ?? '';
        const healthz = await kubectl(['--kubeconfig', kubeconfig, 'get', '--raw', `/api/v1/nodes/${node}/proxy/healthz`]);
        expect(healthz.stdout).toBe('ok');
      } finally {
        rmSync(kubeconfigDir, { recursive: true, force: true });
      }
    },
    scaled(240_000),
  );

  it(
    "keeps the user's Corefile edit and repairs a deleted add-on object",
    async () => {
      const corefile = await tenant.readNamespacedConfigMap({ name: 'coredns', namespace: 'kube-system' });
      const edited = `${corefile.data?.Corefile ?? ''}\nexample.internal:53 {\n    forward . 10.0.0.53\n}\n`;
      await tenant.replaceNamespacedConfigMap({
        name: 'coredns',
        namespace: 'kube-system',
        body: { ...corefile, data: { ...corefile.data, Corefile: edited } },
      });
      await apps.deleteNamespacedDeployment({ name: 'coredns', namespace: 'kube-system' });
      const before = (await clusterEvents(world, cluster.id)).length;
      await eventually(
        async () =>
          (await clusterEvents(world, cluster.id))
            .slice(before)
            .some((event) => event.reason === 'AppliedDnsAddons' && event.message.includes('Deployment/coredns')),
        'the deleted CoreDNS Deployment to be applied again',
        120_000,
        500,
      );
      await apps.readNamespacedDeployment({ name: 'coredns', namespace: 'kube-system' });
      expect((await tenant.readNamespacedConfigMap({ name: 'coredns', namespace: 'kube-system' })).data?.Corefile).toBe(edited);
      await waitForCondition(cluster.id, 'DNSReady', 'True');
    },
    scaled(240_000),
  );

  it(
    'scales the pool to zero although CoreDNS has nowhere left to go, after the drain timeout',
    async () => {
      // The repair above replaced the Deployment: start from its two replicas alone, Ready on two
      // nodes, with nothing of the old ReplicaSet still terminating.
      await eventually(
        async () => {
          const pods = (await tenant.listNamespacedPod({ namespace: 'kube-system', labelSelector: 'k8s-app=kube-dns' })).items;
          const ready = pods.filter(
            (pod) => !pod.metadata?.deletionTimestamp && pod.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True'),
          );
          return pods.length === 2 && ready.length === 2 && new Set(ready.map((pod) => pod.spec?.nodeName)).size === 2;
        },
        'two Ready CoreDNS pods on two nodes and no others',
        120_000,
        500,
      );
      const operation = await scalePool(world, cluster.id, pool.id, 0);
      const done = await waitForOperation(world, operation.id, 'succeeded', 240_000);
      expect(done.progress).toMatchObject({ desired: 0, ready: 0 });
      expect((await tenant.listNode()).items).toHaveLength(0);
      const events = await clusterEvents(world, cluster.id);
      // The budget let one replica go; the other could only be evicted by giving up on it.
      // Matched over the node events, so a failure shows what the removals did instead.
      const nodeEvents = events.filter((event) => event.reason.startsWith('Node')).map((event) => `${event.reason}: ${event.message}`);
      expect(nodeEvents).toContainEqual(expect.stringMatching(/^NodeDrainTimedOut: .*coredns/));
      await waitForCondition(cluster.id, 'DNSReady', 'False');
    },
    scaled(300_000),
  );
});

describe('add-ons with flannel and metrics-server', () => {
  it(
    'runs flannel and kube-proxy on every node and serves the metrics API',
    async () => {
      const { cluster } = await createClusterWithPool(world, 'digitalocean', 1, 'addons-flannel', { cni: 'flannel', addons: { metricsServer: true } });
      await waitForCluster(world, cluster.id, 'Running');
      const config = await tenantConfig(world, cluster.id);
      const apps = config.makeApiClient(AppsV1Api);
      await waitForCondition(cluster.id, 'NetworkReady', 'True');
      const daemonSets = [
        ...(await apps.listNamespacedDaemonSet({ namespace: 'kube-flannel' })).items,
        ...(await apps.listNamespacedDaemonSet({ namespace: 'kube-system' })).items,
      ];
      expect(daemonSets.map((ds) => ds.metadata?.name)).toEqual(expect.arrayContaining(['kube-flannel-ds', 'kube-proxy']));
      for (const ds of daemonSets.filter((candidate) => ['kube-flannel-ds', 'kube-proxy'].includes(candidate.metadata?.name ?? ''))) {
        expect(ds.status?.numberReady).toBe(1);
      }
      await waitForCondition(cluster.id, 'MetricsReady', 'True');
    },
    scaled(480_000),
  );
});

describe('a cluster that brings its own network plugin', () => {
  it(
    'keeps its nodes NotReady and says it waits for a network plugin',
    async () => {
      const { cluster, pool } = await createClusterWithPool(world, 'aws', 1, 'addons-none', { cni: 'none' });
      await waitForCluster(world, cluster.id, 'Running');
      const tenant = await tenantApi(world, cluster.id);
      const node = await eventually(async () => (await tenant.listNode()).items[0], 'the node to register', 240_000, 500);
      const network = await waitForCondition(cluster.id, 'NetworkReady', 'False');
      expect(network.message).toMatch(/network plugin/i);
      // Nothing installs one, so the kubelet keeps saying so.
      const current = await tenant.readNode({ name: node.metadata?.name ?? '' });
      expect(readyCondition(current)).toMatchObject({ status: 'False', reason: 'KubeletNotReady' });
      const rows = await poolNodes(world, cluster.id, pool.id);
      // The timeline says how a row got there, should one ever be Ready.
      const timeline = (await clusterEvents(world, cluster.id)).map((event) => `${event.reason}: ${event.message}`);
      expect(
        rows.filter((row) => row.phase === 'Ready'),
        `rows ${JSON.stringify(rows)}, Node ${JSON.stringify(current.status?.conditions)}, timeline ${JSON.stringify(timeline)}`,
      ).toEqual([]);
    },
    scaled(480_000),
  );
});
