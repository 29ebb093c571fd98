// Rolling kubelet upgrade of a node pool, end to end through the HTTP API: a cluster at the
// previous minor with one DigitalOcean pool of 2, its control plane upgraded to the newest
// minor (the two versions the real-binaries suite builds), then `POST …/nodepools/{np}/rollout`. The node simulator installs the kubelet its
// cloud-init pins, so replacements made after the upgrade report the new version. While the pool
// rolls, the test samples both the node API and the tenant's Nodes: surge 1 / unavailable 0
// means two serving nodes at every moment.
//
// The health interval is 2 s and the resync 5 s (support.ts).
import { AppsV1Api, type CoreV1Api, type V1Node } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, scaled } from '../support/time.js';
import {
  clusterEvents,
  clusterPath,
  getOperation,
  machines,
  poolBody,
  poolNodes,
  poolPath,
  startNodeWorld,
  tenantApi,
  tenantConfig,
  waitForCluster,
  type Cluster,
  type ClusterEvent,
  type NodeWorld,
  type Operation,
  type PoolNode,
  type SimulatedMachine,
} from './support.js';

interface Problem {
  code: string;
  detail?: string;
}
type RolloutOperation = Operation & { target: { version?: string } };

let world: NodeWorld;
let viewerToken: string;
let cluster: Cluster;
let poolId: string;
let tenant: CoreV1Api;
let tenantApps: AppsV1Api;
let oldVersion: string;
let newVersion: string;

const rolloutPath = () => `${poolPath(world, cluster.id, poolId)}/rollout`;
const nodesOfPool = (): Promise<Array<PoolNode & { kubeletVersion: string | null }>> =>
  poolNodes(world, cluster.id, poolId) as Promise<Array<PoolNode & { kubeletVersion: string | null }>>;
const machinesOfPool = (): SimulatedMachine[] => machines(world, 'digitalocean', { clusterId: cluster.id, poolId });
const operationsOf = async (): Promise<Operation[]> =>
  (await world.server.request<{ items: Operation[] }>('GET', `${clusterPath(world, cluster.id)}/operations`)).body.items;
const isServing = (node: V1Node): boolean =>
  node.spec?.unschedulable !== true && (node.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True') ?? false);
const eventIndex = (events: ClusterEvent[], reason: string, text: string): number =>
  events.findIndex((event) => event.reason === reason && event.message.includes(text));

/** A viewer of the world's project, made the way an admin would: user, membership, token. */
async function viewerOf(world: NodeWorld): Promise<string> {
  const email = 'rollout-viewer@example.com';
  const user = await world.server.request<{ id: string }>('POST', '/api/v1/users', { body: { email } });
  if (user.status !== 201) throw new Error(`user create failed: ${user.text}`);
  const member = await world.server.request('POST', `/api/v1/projects/${world.projectId}/members`, { body: { userId: user.body.id, role: 'viewer' } });
  if (member.status !== 201) throw new Error(`member add failed: ${member.text}`);
  return (await world.server.request<{ token: string }>('POST', `/api/v1/users/${user.body.id}/tokens`, { body: { name: 'rollout' } })).body.token;
}

beforeAll(async () => {
  world = await startNodeWorld();
  viewerToken = await viewerOf(world);
  const catalog = await world.server.request<{ versions: string[] }>('GET', '/api/v1/catalog');
  [oldVersion, newVersion] = catalog.body.versions.slice(-2) as [string, string];
}, scaled(180_000));

afterAll(async () => {
  await world?.stop();
}, scaled(60_000));

describe('rolling kubelet upgrade of a node pool', () => {
  it(
    'brings up a pool of 2 at the previous minor, with nothing to roll out yet',
    async () => {
      expect(oldVersion.split('.')[1]).not.toBe(newVersion.split('.')[1]);
      const created = await world.server.request<Cluster>('POST', `/api/v1/projects/${world.projectId}/clusters`, {
        // flannel leaves kube-proxy in place, whose image follows the Kubernetes version.
        body: { name: 'rollout', version: oldVersion, etcdReplicas: 1, cni: 'flannel', nodePool: poolBody(world, 'digitalocean', 2) },
      });
      expect(created.status).toBe(201);
      cluster = created.body;
      poolId = (await world.server.request<{ items: Array<{ id: string }> }>('GET', `${clusterPath(world, cluster.id)}/nodepools`)).body.items[0].id;
      await waitForCluster(world, cluster.id, 'Running');
      tenant = await tenantApi(world, cluster.id);
      tenantApps = (await tenantConfig(world, cluster.id)).makeApiClient(AppsV1Api);
      const ready = await eventually(
        async () => {
          const rows = await nodesOfPool();
          return rows.length === 2 && rows.every((row) => row.phase === 'Ready') ? rows : undefined;
        },
        'two Ready nodes',
        240_000,
        500,
      );
      expect(ready.map((row) => row.kubeletVersion)).toEqual([`v${oldVersion}`, `v${oldVersion}`]);
      const nodes = (await tenant.listNode()).items;
      expect(nodes.map((node) => node.status?.nodeInfo?.kubeletVersion)).toEqual([`v${oldVersion}`, `v${oldVersion}`]);

      const current = await world.server.request<Problem>('POST', rolloutPath());
      expect(current.status).toBe(409);
      expect(current.body.code).toBe('nodes_up_to_date');
    },
    scaled(480_000),
  );

  it(
    'refuses a rollout while the control plane still converges to the new version, and a viewer always',
    async () => {
      const eventsBefore = (await clusterEvents(world, cluster.id)).length;
      const upgrade = await world.server.request('PATCH', clusterPath(world, cluster.id), { body: { version: newVersion } });
      expect(upgrade.status).toBe(202);
      const operationsBefore = (await operationsOf()).length;
      const early = await world.server.request<Problem>('POST', rolloutPath());
      expect(early.status).toBe(409);
      expect(early.body.code).toBe('cluster_not_ready');
      const byViewer = await world.server.request<Problem>('POST', rolloutPath(), { token: viewerToken });
      expect(byViewer.status).toBe(403);
      expect((await operationsOf()).length).toBe(operationsBefore);
      expect((await clusterEvents(world, cluster.id)).filter((event) => event.reason === 'NodePoolRolloutStarted')).toEqual([]);

      const running = await waitForCluster(world, cluster.id, 'Running', 240_000);
      expect((running as Cluster & { version: string }).version).toBe(newVersion);
      // The nodes kept their kubelet through the control-plane upgrade.
      expect((await tenant.listNode()).items.map((node) => node.status?.nodeInfo?.kubeletVersion)).toEqual([`v${oldVersion}`, `v${oldVersion}`]);
      // The add-ons moved to the new version's after the control plane, before the pass converged.
      const kubeProxy = await tenantApps.readNamespacedDaemonSet({ name: 'kube-proxy', namespace: 'kube-system' });
      expect(kubeProxy.spec?.template.spec?.containers[0].image).toMatch(new RegExp(`/kube-proxy:v${newVersion.replace(/\./g, '\\.')}$`));
      const upgradeEvents = (await clusterEvents(world, cluster.id)).slice(eventsBefore);
      const apiserverApplied = eventIndex(upgradeEvents, 'AppliedApiserver', 'kube-apiserver');
      const controllersApplied = eventIndex(upgradeEvents, 'AppliedControllers', 'kube-controller-manager');
      const converged = eventIndex(upgradeEvents, 'ControlPlaneReady', newVersion);
      // The pass that converged applied the new kube-proxy; a pass of the old generation still
      // running when the upgrade came in may have applied the old one earlier.
      const kubeProxyApplied = upgradeEvents
        .slice(0, converged)
        .findLastIndex((event) => event.reason === 'AppliedNetworkAddons' && event.message.includes('kube-proxy'));
      expect(apiserverApplied).toBeGreaterThanOrEqual(0);
      expect(controllersApplied).toBeGreaterThan(apiserverApplied);
      expect(kubeProxyApplied).toBeGreaterThan(controllersApplied);
      expect(converged).toBeGreaterThan(kubeProxyApplied);
      const viewerLater = await world.server.request<Problem>('POST', rolloutPath(), { token: viewerToken });
      expect(viewerLater.status).toBe(403);
    },
    scaled(300_000),
  );

  it(
    'rolls both nodes to the new version one at a time, never below 2 serving nodes',
    async () => {
      const before = await nodesOfPool();
      const oldMachines = before.map((row) => machinesOfPool().find((machine) => machine.nodeId === row.id)!);
      expect(oldMachines.every((machine) => machine && !machine.terminated)).toBe(true);

      const started = await world.server.request<RolloutOperation>('POST', rolloutPath());
      expect(started.status).toBe(202);
      expect(started.body).toMatchObject({ kind: 'rollout-nodes', target: { version: newVersion } });
      expect(['pending', 'running']).toContain(started.body.status);

      const samples: Array<{ rows: PoolNode[]; serving: number; at: string; nodes: string[] }> = [];
      const done = await eventually(
        async () => {
          const [rows, nodes] = await Promise.all([nodesOfPool(), tenant.listNode()]);
          samples.push({
            rows,
            serving: nodes.items.filter(isServing).length,
            at: new Date().toISOString(),
            nodes: nodes.items.map(
              (node) =>
                `${node.metadata?.name}:${node.spec?.unschedulable ? 'cordoned' : 'schedulable'}:${node.status?.conditions?.find((condition) => condition.type === 'Ready')?.status ?? 'none'}`,
            ),
          });
          const operation = await getOperation(world, started.body.id);
          // A failed or superseded rollout ends the wait at once, so the assertion below shows why.
          return ['succeeded', 'failed', 'superseded'].includes(operation.status) ? operation : undefined;
        },
        'the rollout to finish',
        300_000,
        250,
      );
      expect({ status: done.status, message: done.message }).toEqual({ status: 'succeeded', message: expect.stringContaining(newVersion) as unknown });
      expect(done.progress).toMatchObject({ desired: 2, updated: 2, ready: 2 });

      // Surge 1, unavailable 0: at every sample two nodes served (Ready, not cordoned) and the pool
      // had two nodes Ready or still serving while their replacement comes up; never more than 3 machines.
      expect(samples.length).toBeGreaterThan(10);
      for (const sample of samples) {
        expect(
          sample.serving,
          `${sample.at}: ${sample.nodes.join(' ')} | ${sample.rows.map((row) => `${row.name}:${row.phase}`).join(' ')}`,
        ).toBeGreaterThanOrEqual(2);
        expect(sample.rows.filter((row) => row.phase === 'Ready' || row.phase === 'Replacing').length).toBeGreaterThanOrEqual(2);
        expect(sample.rows.filter((row) => row.phase !== 'Deleting').length).toBeLessThanOrEqual(3);
        expect(sample.rows.filter((row) => row.phase === 'Replacing').length).toBeLessThanOrEqual(1);
      }
      // The oldest node went first.
      const replacingOrder = [...new Set(samples.flatMap((sample) => sample.rows.filter((row) => row.phase === 'Replacing').map((row) => row.id)))];
      const oldestFirst = [...before].sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt) || a.id.localeCompare(b.id)).map((row) => row.id);
      expect(replacingOrder).toEqual(oldestFirst);

      const after = await nodesOfPool();
      expect(after).toHaveLength(2);
      expect(after.every((row) => row.phase === 'Ready' && row.kubeletVersion === `v${newVersion}`)).toBe(true);
      expect(after.some((row) => before.some((old) => old.id === row.id))).toBe(false);
      await eventually(
        async () => {
          const nodes = (await tenant.listNode()).items;
          return nodes.length === 2 && nodes.every((node) => isServing(node) && node.status?.nodeInfo?.kubeletVersion === `v${newVersion}`) ? nodes : undefined;
        },
        'both tenant Nodes at the new kubelet',
        60_000,
        500,
      );
      const tenantNames = (await tenant.listNode()).items.map((node) => node.metadata!.name!).sort();
      expect(tenantNames).toEqual(after.map((row) => row.name).sort());

      // The old machines are terminated at the cloud; only the new nodes own live ones.
      await eventually(
        async () => oldMachines.every((old) => machinesOfPool().find((machine) => machine.id === old.id)?.terminated),
        'the old droplets to be destroyed',
        60_000,
        500,
      );
      expect(
        machinesOfPool()
          .filter((machine) => !machine.terminated)
          .map((machine) => machine.nodeId)
          .sort(),
      ).toEqual(after.map((row) => row.id).sort());

      // The timeline: started, then per node the replacement steps, then rolled out.
      const events = await clusterEvents(world, cluster.id);
      const startedAt = eventIndex(events, 'NodePoolRolloutStarted', `rolling 2 node(s) of pool workers to ${newVersion}`);
      expect(startedAt).toBeGreaterThan(-1);
      let previous = startedAt;
      for (const old of [...before].sort((a, b) => oldestFirst.indexOf(a.id) - oldestFirst.indexOf(b.id))) {
        const replacing = eventIndex(events, 'NodeReplacing', old.name);
        const removed = eventIndex(events, 'NodeRemoved', old.name);
        expect(replacing).toBeGreaterThan(previous);
        expect(removed).toBeGreaterThan(replacing);
        previous = removed;
      }
      expect(eventIndex(events, 'NodePoolRolledOut', newVersion)).toBeGreaterThan(previous);
      // Replacing a healthy node on purpose is not ill health: the maxUnhealthy budget never tripped.
      expect(events.filter((event) => event.reason === 'RemediationShortCircuited')).toEqual([]);
    },
    scaled(360_000),
  );

  it('answers a second rollout with 409 nodes_up_to_date and writes nothing', async () => {
    const operationsBefore = (await operationsOf()).length;
    const again = await world.server.request<Problem>('POST', rolloutPath());
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('nodes_up_to_date');
    expect((await operationsOf()).length).toBe(operationsBefore);
    const missing = await world.server.request<Problem>('POST', `${clusterPath(world, cluster.id)}/nodepools/00000000-0000-4000-8000-000000000000/rollout`);
    expect(missing.status).toBe(404);
    const docs = await world.server.request<{ paths: Record<string, Record<string, unknown>> }>('GET', '/api/docs/openapi.json', { token: null });
    expect(Object.keys(docs.body.paths['/api/v1/projects/{projectId}/clusters/{clusterId}/nodepools/{poolId}/rollout'] ?? {})).toEqual(['post']);
  });
});
