// Worker nodes end to end on each cloud simulator: a cluster created through the API with a
// pool of 3 gets three Nodes that join the tenant with the bootstrap token; scaling to 5 and
// then to 2 adds machines and removes the newest three (cordon, drain through the Eviction API
// while a PodDisruptionBudget holds one of them back, Node deleted, machine terminated);
// deleting the cluster terminates every machine.
import { PolicyV1Api, type CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RealBinaries } from '../../services/sandbox/src/real-binaries/index.js';
import { eventually, scaled } from '../support/time.js';
import {
  clusterEvents,
  clusterPath,
  createClusterWithPool,
  fleetKey,
  getOperation,
  machines,
  poolNodes,
  PROVIDERS,
  readyTenantNodes,
  scalePool,
  startNodeWorld,
  tenantApi,
  tenantConfig,
  waitForCluster,
  waitForOperation,
  type Cluster,
  type NodeWorld,
  type Pool,
  type PoolNode,
  type Provider,
} from './support.js';

/** Warnings the node pool reconciler records; none may appear on a healthy run. */
const NODE_WARNINGS = ['NodeMachineLost', 'OrphanedMachinesTerminated', 'NodeDrainBlocked', 'ProvisioningFailed', 'CredentialUnusable'];

let world: NodeWorld;
/** The real Kubernetes binaries when KUBE_BIN_DIR is set (the real-binaries suite). */
const real = RealBinaries.fromEnvironment();

beforeAll(async () => {
  world = await startNodeWorld();
}, scaled(180_000));

afterAll(async () => {
  await world?.stop();
}, scaled(60_000));

describe.each(PROVIDERS)('worker nodes on %s', (provider: Provider) => {
  let cluster: Cluster;
  let pool: Pool;
  let tenant: CoreV1Api;
  let original: PoolNode[];

  const bootstrapTokens = async () =>
    (await tenant.listNamespacedSecret({ namespace: 'kube-system', labelSelector: `harbormaster.io/pool-id=${pool.id}` })).items.filter(
      (secret) => secret.type === 'bootstrap.kubernetes.io/token',
    );

  it(
    'creates a cluster with a pool of 3 whose Nodes join the tenant and become Ready',
    async () => {
      ({ cluster, pool } = await createClusterWithPool(world, provider, 3, `nodes-${provider === 'aws' ? 'aws' : 'do'}`));
      await waitForCluster(world, cluster.id, 'Running');
      tenant = await tenantApi(world, cluster.id);
      const nodes = await eventually(
        async () => {
          const rows = await poolNodes(world, cluster.id, pool.id);
          return rows.length === 3 && rows.every((row) => row.phase === 'Ready') ? rows : undefined;
        },
        '3 Ready nodes in the pool',
        180_000,
        500,
      );
      expect(await readyTenantNodes(tenant)).toEqual(nodes.map((node) => node.name).sort());
      // With KUBE_BIN_DIR every Node is a real kubelet (kubemark's hollow one) of the cluster's version.
      if (real) {
        for (const node of (await tenant.listNode()).items) {
          expect(node.spec?.providerID).toBe(`kubemark://${node.metadata?.name}`);
          expect(node.status?.nodeInfo?.kubeletVersion).toBe(`v${cluster.version}`);
        }
      }
      const live = machines(world, provider, { clusterId: cluster.id, poolId: pool.id }).filter((machine) => !machine.terminated);
      expect(live.map((machine) => machine.nodeId).sort()).toEqual(nodes.map((node) => node.id).sort());
      expect(nodes.map((node) => node.cloudId).sort()).toEqual(live.map((machine) => machine.id).sort());
      // The join token lives only while nodes join.
      await eventually(async () => (await bootstrapTokens()).length === 0, 'the bootstrap token to be deleted once every node joined', 30_000, 500);
      original = nodes;
    },
    scaled(420_000),
  );

  it(
    'scales to 5 and then to 2: the newest 3 are drained away, their machines terminated and their Nodes gone',
    async () => {
      const up = await scalePool(world, cluster.id, pool.id, 5);
      expect(up.kind).toBe('scale');
      const upDone = await waitForOperation(world, up.id, 'succeeded');
      expect(upDone.progress).toMatchObject({ desired: 5, ready: 5, joining: 0, provisioning: 0, deleting: 0 });
      const five = await poolNodes(world, cluster.id, pool.id);
      expect(five.filter((node) => node.phase === 'Ready')).toHaveLength(5);
      expect(await readyTenantNodes(tenant)).toEqual(five.map((node) => node.name).sort());

      // A pod on the newest node, guarded by a PodDisruptionBudget that allows no disruption.
      const newest = [...five].sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0];
      const policy = (await tenantConfig(world, cluster.id)).makeApiClient(PolicyV1Api);
      const pod = await tenant.createNamespacedPod({
        namespace: 'default',
        body: {
          metadata: { name: 'guarded', labels: { app: 'guarded' } },
          spec: { nodeName: newest.name, terminationGracePeriodSeconds: 0, containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }] },
        },
      });
      // A real kubelet (KUBE_BIN_DIR: kubemark's hollow one) runs the pod and reports it Ready; the
      // node simulator runs no pods, so the test reports for it.
      if (!real) {
        await tenant.replaceNamespacedPodStatus({
          name: 'guarded',
          namespace: 'default',
          body: { ...pod, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } },
        });
      }
      await eventually(
        async () => {
          const current = await tenant.readNamespacedPod({ name: 'guarded', namespace: 'default' });
          return (
            current.status?.phase === 'Running' && current.status.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True')
          );
        },
        'the guarded pod to run and be Ready',
        60_000,
        500,
      );
      await policy.createNamespacedPodDisruptionBudget({
        namespace: 'default',
        body: { metadata: { name: 'guarded' }, spec: { minAvailable: 1, selector: { matchLabels: { app: 'guarded' } } } },
      });

      const down = await scalePool(world, cluster.id, pool.id, 2);
      const blocked = await eventually(
        async () => (await clusterEvents(world, cluster.id)).find((event) => event.reason === 'NodeDrainBlocked'),
        'the drain to be refused by the budget',
        60_000,
        500,
      );
      expect(blocked.type).toBe('Warning');
      expect(blocked.message).toContain(newest.name);
      expect(blocked.message).toContain('default/guarded');
      expect((await getOperation(world, down.id)).status).toBe('running');
      expect((await poolNodes(world, cluster.id, pool.id)).find((node) => node.id === newest.id)?.phase).toBe('Deleting');
      const cordoned = await tenant.readNode({ name: newest.name });
      expect(cordoned.spec?.unschedulable).toBe(true);
      expect((await tenant.readNamespacedPod({ name: 'guarded', namespace: 'default' })).metadata?.deletionTimestamp).toBeUndefined();

      // Lifting the budget lets the eviction through, and the removal carries on by itself.
      await policy.deleteNamespacedPodDisruptionBudget({ name: 'guarded', namespace: 'default' });
      const downDone = await waitForOperation(world, down.id, 'succeeded');
      await expect(tenant.readNamespacedPod({ name: 'guarded', namespace: 'default' })).rejects.toMatchObject({ code: 404 });
      expect(downDone.progress).toMatchObject({ desired: 2, ready: 2, joining: 0, provisioning: 0, deleting: 0 });

      const remaining = await poolNodes(world, cluster.id, pool.id);
      // Scale-down takes the newest first, so the two oldest of the original three stay.
      const oldest = [...original].sort((a, b) => a.createdAt.localeCompare(b.createdAt)).slice(0, 2);
      expect(remaining.map((node) => node.id).sort()).toEqual(oldest.map((node) => node.id).sort());
      expect((await tenant.listNode()).items.map((node) => node.metadata!.name!).sort()).toEqual(remaining.map((node) => node.name).sort());

      const all = await eventually(
        async () => {
          const seen = machines(world, provider, { clusterId: cluster.id, poolId: pool.id });
          return seen.filter((machine) => machine.terminated).length === 3 ? seen : undefined;
        },
        'three machines to end terminated',
        60_000,
        500,
      );
      expect(all).toHaveLength(5);
      const alive = all.filter((machine) => !machine.terminated);
      expect(alive).toHaveLength(2);
      // No orphans: every machine still alive belongs to a node the pool still has.
      expect(alive.map((machine) => machine.nodeId).sort()).toEqual(remaining.map((node) => node.id).sort());
      // The terminated machines' node simulators are stopped: nothing of them keeps running.
      expect(world.fleet.instanceIds().filter((key) => all.some((machine) => machine.terminated && fleetKey(provider, machine) === key))).toEqual([]);

      const events = await clusterEvents(world, cluster.id);
      const reasons = events.map((event) => event.reason);
      expect(reasons).toEqual(
        expect.arrayContaining(['NodePoolReconciling', 'NodeProvisioning', 'NodeJoined', 'NodeRemoving', 'NodeRemoved', 'NodePoolScaled']),
      );
      expect(events.filter((event) => event.reason === 'NodeRemoved')).toHaveLength(3);
      expect(events.filter((event) => event.reason === 'NodeJoined')).toHaveLength(5);
      expect(
        events.find((event) => event.reason === 'NodeJoined' && event.message.includes('(5/5 ready)')),
        events.map((event) => `${event.reason}: ${event.message}`).join('\n'),
      ).toBeDefined();
      // The budget's refusal is the only warning, recorded once however often the drain was retried.
      const nodeWarnings = events.filter((event) => event.type === 'Warning' && NODE_WARNINGS.includes(event.reason));
      expect(nodeWarnings.map((event) => event.reason)).toEqual(['NodeDrainBlocked']);
    },
    scaled(420_000),
  );

  it(
    'deletes the cluster: every machine ends terminated and the cluster is gone',
    async () => {
      const deleted = await world.server.request<{ id: string; kind: string }>('DELETE', clusterPath(world, cluster.id));
      expect(deleted.status).toBe(202);
      await eventually(async () => (await world.server.request('GET', clusterPath(world, cluster.id))).status === 404, 'the cluster to be gone', 180_000, 500);
      expect((await waitForOperation(world, deleted.body.id, 'succeeded', 5_000)).kind).toBe('delete-cluster');
      await eventually(
        async () => {
          const seen = machines(world, provider, { clusterId: cluster.id });
          return seen.length === 5 && seen.every((machine) => machine.terminated);
        },
        'every machine of the cluster to be terminated',
        60_000,
        500,
      );
      const keys = machines(world, provider, { clusterId: cluster.id }).map((machine) => fleetKey(provider, machine));
      expect(world.fleet.instanceIds().filter((key) => keys.includes(key))).toEqual([]);
    },
    scaled(300_000),
  );
});
