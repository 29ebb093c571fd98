// Real seed + real tenants: the seed is a real etcd, kube-apiserver, kube-controller-manager and
// kube-scheduler (test/control-plane/real-seed.ts) with the process kubelet as its node agent;
// the tenant control planes run the real binaries of KUBE_BIN_DIR on it, and worker nodes join
// with the real kubeadm and kubemark's hollow kubelet. Registered through the HTTP API with an
// identity of its own (not system:masters), so server-side apply, field ownership, RBAC and the
// watches Harbormaster relies on are the real ones. One-click → Running, then a pool scaled
// 1 → 3 → 1 on the simulated EC2, then deletion down to the seed namespaces.
import { execFileSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import {
  AuthenticationV1Api,
  AuthorizationV1Api,
  CoreV1Api,
  KubeConfig,
  VersionApi,
  type KubernetesObject,
  type V1ManagedFieldsEntry,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SUPPORTED_VERSIONS } from '../../services/core/src/versions.js';
import { RealBinaries } from '../../services/sandbox/src/real-binaries/index.js';
import { startRealSeed, SEED_IDENTITY, type RealSeed } from '../control-plane/real-seed.js';
import {
  clusterPath,
  createClusterWithPool,
  machines,
  poolNodes,
  readyTenantNodes,
  scalePool,
  startNodeWorld,
  tenantApi,
  waitForCluster,
  waitForOperation,
  type Cluster,
  type NodeWorld,
  type Pool,
} from '../nodes/support.js';
import { eventually, scaled } from '../support/time.js';

interface Condition {
  type: string;
  status: string;
}
interface RunningCluster extends Cluster {
  conditions: Condition[];
}

const real = RealBinaries.fromEnvironment();
const FIELD_MANAGER = 'harbormaster';

let seed: RealSeed;
let world: NodeWorld;

beforeAll(async () => {
  if (!real) throw new Error('the real-seed scenarios need KUBE_BIN_DIR (vitest.real.config.ts)');
  world = await startNodeWorld({
    seed: async () => {
      seed = await startRealSeed({ binaries: real });
      return seed;
    },
  });
}, scaled(240_000));

afterAll(async () => {
  await world?.stop();
}, scaled(90_000));

describe('a real seed running real tenant control planes', () => {
  let cluster: RunningCluster;
  let scaleCluster: Cluster;
  let pool: Pool;
  const namespaceOf = (id: string) => `cluster-${id}`;
  const podsOf = (id: string) => seed.kubelet.pods().filter((pod) => pod.namespace === namespaceOf(id));
  const getCluster = async (id: string) => (await world.server.request<RunningCluster>('GET', clusterPath(world, id))).body;

  it(
    'is registered through the API and answers as the real kube-apiserver',
    async () => {
      const seeds = await world.server.request<{ items: Array<{ name: string; serverVersion: string; health: { status: string } }> }>('GET', '/api/v1/seeds');
      expect(seeds.status).toBe(200);
      expect(seeds.body.items).toHaveLength(1);
      expect(seeds.body.items[0]).toMatchObject({ name: 'node-seed', serverVersion: seed.version });
      const admin = new KubeConfig();
      admin.loadFromString(seed.adminKubeconfig);
      expect((await admin.makeApiClient(VersionApi).getCode()).gitVersion).toBe(seed.version);
    },
    scaled(30_000),
  );

  it(
    'one-click creates a cluster that reaches Running: the real controllers and scheduler place its pods on the node agent',
    async () => {
      const created = await world.server.request<RunningCluster>('POST', `/api/v1/projects/${world.projectId}/clusters`, { body: {} });
      expect(created.status).toBe(201);
      cluster = await eventually(
        async () => {
          const current = await getCluster(created.body.id);
          return current.phase === 'Running' ? current : undefined;
        },
        `cluster ${created.body.id} to be Running`,
        150_000,
        500,
      );
      expect(Object.fromEntries(cluster.conditions.map((condition) => [condition.type, condition.status]))).toEqual({
        APIServerReady: 'True',
        ControllerManagerReady: 'True',
        // The add-ons are applied, but with no node nothing runs them yet.
        DNSReady: 'False',
        EtcdReady: 'True',
        NetworkReady: 'False',
        Reachable: 'True',
        SchedulerReady: 'True',
        // The konnectivity server runs beside each apiserver, but no node runs an agent yet.
        TunnelReady: 'False',
      });
      const namespace = namespaceOf(cluster.id);
      const running = podsOf(cluster.id);
      expect(
        running
          .filter((pod) => pod.ownerKind === 'StatefulSet')
          .map((pod) => pod.name)
          .sort(),
      ).toEqual(['etcd-0', 'etcd-1', 'etcd-2']);
      // Deployment pods belong to ReplicaSets the real deployment controller made.
      const apiservers = running.filter((pod) => pod.ownerKind === 'ReplicaSet' && pod.ownerName.startsWith('kube-apiserver-'));
      expect(apiservers).toHaveLength(2);
      const cmdline = execFileSync('cat', [`/proc/${apiservers[0].containers[0].pid}/cmdline`])
        .toString()
        .split('\0');
      expect(cmdline[0]).toBe(real!.kube('kube-apiserver', cluster.version));
      // Beside each one, the real konnectivity proxy-server of the release paired with the version.
      for (const pod of apiservers) {
        const sidecar = pod.containers.find((container) => container.name === 'konnectivity-server');
        expect(sidecar, pod.name).toMatchObject({ ready: true, state: 'running' });
        expect(
          execFileSync('readlink', [`/proc/${sidecar!.pid}/exe`])
            .toString()
            .trim(),
        ).toBe(realpathSync(real!.konnectivity('proxy-server', cluster.version)));
      }
      const newest = SUPPORTED_VERSIONS[SUPPORTED_VERSIONS.length - 1];
      const etcd = running.find((pod) => pod.name === 'etcd-0')!;
      expect(
        execFileSync('readlink', [`/proc/${etcd.containers[0].pid}/exe`])
          .toString()
          .trim(),
      ).toBe(real!.etcd('etcd', newest.etcdVersion));

      const core = new KubeConfig();
      core.loadFromString(seed.adminKubeconfig);
      const pods = (await core.makeApiClient(CoreV1Api).listNamespacedPod({ namespace })).items;
      const nodeName = (await core.makeApiClient(CoreV1Api).listNode()).items[0].metadata!.name!;
      for (const pod of pods) {
        // Bound by the real scheduler, on the pod network, and not loopback (real EndpointSlices refuse it).
        expect(pod.spec?.nodeName, pod.metadata?.name).toBe(nodeName);
        expect(pod.status?.podIP, pod.metadata?.name).toMatch(/^198\.18\.\d+\.\d+$/);
        expect(pod.status?.conditions?.find((condition) => condition.type === 'PodScheduled')?.status).toBe('True');
      }
      const replicaSets = await seed.objects.list('apps/v1', 'ReplicaSet', namespace);
      expect(replicaSets.items.length).toBeGreaterThanOrEqual(3);
      for (const replicaSet of replicaSets.items) expect(managers(replicaSet).map((entry) => entry.manager)).toContain('kube-controller-manager');
      // The etcd members' data is on PersistentVolumes the real PV controller provisioned and bound.
      const claims = await seed.objects.list<KubernetesObject & { status?: { phase?: string } }>('v1', 'PersistentVolumeClaim', namespace);
      expect(claims.items.map((claim) => claim.status?.phase)).toEqual(['Bound', 'Bound', 'Bound']);
    },
    scaled(180_000),
  );

  it(
    'owns what it applied on the seed by server-side apply, and the controllers own the status',
    async () => {
      const namespace = namespaceOf(cluster.id);
      const applied: Array<[string, string, string]> = [
        ['apps/v1', 'Deployment', 'kube-apiserver'],
        ['apps/v1', 'Deployment', 'kube-controller-manager'],
        ['apps/v1', 'StatefulSet', 'etcd'],
        ['v1', 'Service', 'etcd'],
        ['v1', 'Secret', 'scheduler-kubeconfig'],
      ];
      for (const [apiVersion, kind, name] of applied) {
        const object = await seed.read(apiVersion, kind, namespace, name);
        expect(object, `${kind} ${name}`).toBeDefined();
        const ours = managers(object!).filter((entry) => entry.manager === FIELD_MANAGER);
        expect(
          ours.map((entry) => entry.operation),
          `${kind} ${name}`,
        ).toEqual(['Apply']);
        const fields = JSON.stringify(ours[0].fieldsV1);
        expect(fields).toContain(kind === 'Secret' ? '"f:data"' : '"f:spec"');
      }
      const deployment = (await seed.read('apps/v1', 'Deployment', namespace, 'kube-apiserver'))!;
      expect(managers(deployment).find((entry) => entry.subresource === 'status')?.manager).toBe('kube-controller-manager');
      // Nobody else took over a field Harbormaster applies: it is the only manager of the spec.
      const specManagers = managers(deployment)
        .filter((entry) => JSON.stringify(entry.fieldsV1 ?? {}).includes('"f:template"'))
        .map((entry) => entry.manager);
      expect(specManagers).toEqual([FIELD_MANAGER]);
    },
    scaled(30_000),
  );

  it(
    'works as its own seed identity, which real RBAC holds to the seed ClusterRole',
    async () => {
      const identity = new KubeConfig();
      identity.loadFromString(seed.kubeconfig);
      const reviews = identity.makeApiClient(AuthorizationV1Api);
      const review = await identity
        .makeApiClient(AuthenticationV1Api)
        .createSelfSubjectReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } });
      expect(review.status?.userInfo?.username).toBe(SEED_IDENTITY);
      expect(review.status?.userInfo?.groups ?? []).not.toContain('system:masters');
      const allowed = async (verb: string, group: string, resource: string, namespace?: string) =>
        (await reviews.createSelfSubjectAccessReview({ body: { spec: { resourceAttributes: { verb, group, resource, namespace } } } })).status?.allowed ===
        true;
      const namespace = namespaceOf(cluster.id);
      expect(await allowed('patch', 'apps', 'deployments', namespace)).toBe(true);
      expect(await allowed('watch', 'apps', 'statefulsets')).toBe(true);
      expect(await allowed('delete', '', 'namespaces')).toBe(true);
      expect(await allowed('create', 'rbac.authorization.k8s.io', 'clusterroles')).toBe(false);
      expect(await allowed('delete', '', 'nodes')).toBe(false);
      expect(await allowed('create', '', 'pods', namespace)).toBe(false);
      await expect(identity.makeApiClient(CoreV1Api).listNode()).rejects.toMatchObject({ code: 403 });
    },
    scaled(30_000),
  );

  it(
    'serves the tenant through the seed: the real tenant apiserver answers its admin kubeconfig',
    async () => {
      const tenant = await tenantApi(world, cluster.id);
      const namespaces = await tenant.listNamespace();
      expect(namespaces.items.map((item) => item.metadata?.name)).toEqual(expect.arrayContaining(['default', 'kube-system', 'kube-public']));
      const response = await world.server.request<string>('GET', `${clusterPath(world, cluster.id)}/kubeconfig`);
      const config = new KubeConfig();
      config.loadFromString(response.text);
      expect((await config.makeApiClient(VersionApi).getCode()).gitVersion).toBe(`v${cluster.version}`);
    },
    scaled(30_000),
  );

  it(
    'creates a cluster with a pool of 1 whose node joins through the real kubeadm and hollow kubelet',
    async () => {
      ({ cluster: scaleCluster, pool } = await createClusterWithPool(world, 'aws', 1, 'real-scale'));
      await waitForCluster(world, scaleCluster.id, 'Running');
      const tenant = await tenantApi(world, scaleCluster.id);
      const nodes = await eventually(
        async () => {
          const rows = await poolNodes(world, scaleCluster.id, pool.id);
          return rows.length === 1 && rows.every((row) => row.phase === 'Ready') ? rows : undefined;
        },
        'one Ready node in the pool',
        180_000,
        500,
      );
      expect(await readyTenantNodes(tenant)).toEqual(nodes.map((node) => node.name));
      for (const node of (await tenant.listNode()).items) {
        expect(node.spec?.providerID).toBe(`kubemark://${node.metadata?.name}`);
        expect(node.status?.nodeInfo?.kubeletVersion).toBe(`v${scaleCluster.version}`);
      }
    },
    scaled(300_000),
  );

  it(
    'scales the pool 1 → 3 → 1: machines come and go and the tenant Nodes follow',
    async () => {
      const tenant = await tenantApi(world, scaleCluster.id);
      const up = await scalePool(world, scaleCluster.id, pool.id, 3);
      const upDone = await waitForOperation(world, up.id, 'succeeded');
      expect(upDone.progress).toMatchObject({ desired: 3, ready: 3, joining: 0, provisioning: 0, deleting: 0 });
      const three = await poolNodes(world, scaleCluster.id, pool.id);
      expect(three.filter((node) => node.phase === 'Ready')).toHaveLength(3);
      expect(await readyTenantNodes(tenant)).toEqual(three.map((node) => node.name).sort());

      const down = await scalePool(world, scaleCluster.id, pool.id, 1);
      const downDone = await waitForOperation(world, down.id, 'succeeded');
      expect(downDone.progress).toMatchObject({ desired: 1, ready: 1, joining: 0, provisioning: 0, deleting: 0 });
      const remaining = await poolNodes(world, scaleCluster.id, pool.id);
      expect(remaining).toHaveLength(1);
      // Scale-down takes the newest first: the original node stays.
      const oldest = [...three].sort((a, b) => a.createdAt.localeCompare(b.createdAt))[0];
      expect(remaining[0].id).toBe(oldest.id);
      expect((await tenant.listNode()).items.map((node) => node.metadata!.name!)).toEqual([remaining[0].name]);
      const all = await eventually(
        async () => {
          const seen = machines(world, 'aws', { clusterId: scaleCluster.id, poolId: pool.id });
          return seen.filter((machine) => machine.terminated).length === 2 ? seen : undefined;
        },
        'two machines to end terminated',
        60_000,
        500,
      );
      expect(all).toHaveLength(3);
    },
    scaled(420_000),
  );

  it(
    'deletes the clusters: their namespaces, pods and volumes go from the real seed',
    async () => {
      const ids = [cluster.id, scaleCluster.id];
      const pids = ids
        .flatMap((id) => podsOf(id).flatMap((pod) => pod.containers.map((container) => container.pid)))
        .filter((pid): pid is number => pid !== undefined);
      expect(pids.length).toBeGreaterThanOrEqual(10);
      for (const id of ids) expect((await world.server.request('DELETE', clusterPath(world, id))).status).toBe(202);
      for (const id of ids) {
        await eventually(async () => (await world.server.request('GET', clusterPath(world, id))).status === 404, `cluster ${id} to be deleted`, 120_000, 500);
        // The real namespace controller empties the namespace (pods stopped by the node agent) and removes it.
        await eventually(
          async () => (await seed.read('v1', 'Namespace', undefined, namespaceOf(id))) === undefined,
          `namespace ${namespaceOf(id)} to go`,
          120_000,
          500,
        );
        expect(podsOf(id)).toEqual([]);
      }
      const alive = (pid: number) => {
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      };
      await eventually(async () => pids.every((pid) => !alive(pid)), 'every control-plane process to exit', 30_000, 200);
      // The PersistentVolumes of the etcd claims are reclaimed (Delete) by the real PV controller.
      await eventually(async () => (await seed.objects.list('v1', 'PersistentVolume')).items.length === 0, 'the etcd volumes to be deleted', 60_000, 500);
      const seeds = await world.server.request<{ items: Array<{ capacity: { used: number } }> }>('GET', '/api/v1/seeds');
      expect(seeds.body.items[0].capacity.used).toBe(0);
    },
    scaled(300_000),
  );
});

function managers(object: KubernetesObject): V1ManagedFieldsEntry[] {
  return object.metadata?.managedFields ?? [];
}
