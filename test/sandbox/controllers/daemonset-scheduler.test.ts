// kubesim's DaemonSet controller and scheduler against hand-made Nodes, with the test playing the
// kubelet (Pods report Ready, terminating Pods are finished), as the add-ons of a tenant cluster
// (CNI and kube-proxy DaemonSets, CoreDNS spread over nodes) and user workloads need them.
import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeConfig, type V1DaemonSet, type V1Node, type V1Pod, type V1PodSpec } from '@kubernetes/client-node';
import { createSeed, type SeedHandle } from '../../../services/sandbox/src/kubesim/index.js';
import { KubeClient, silentLogger } from '../../../services/sandbox/src/kubesim/controllers/client.js';
import { startControllers, type ControllerName } from '../../../services/sandbox/src/kubesim/controllers/roles.js';
import { eventually, scaled } from '../../support/time.js';

const NOT_READY = 'node.kubernetes.io/not-ready';
const MERGE_PATCH = 'application/merge-patch+json';

interface Cluster {
  seed: SeedHandle;
  admin: KubeClient;
  stop: () => Promise<void>;
}

async function startCluster(controllers: ControllerName[]): Promise<Cluster> {
  const seed = await createSeed();
  const config = new KubeConfig();
  config.loadFromString(seed.adminKubeconfig);
  const admin = await KubeClient.fromKubeConfig(config);
  // The scheduler comes with the pod-creating controllers; no Lease is renewed here, so the
  // node lifecycle controller must not declare the hand-made Nodes unreachable mid-test.
  const stop = await startControllers(config, { controllers, scheduler: true, nodeMonitorGracePeriodMs: 3_600_000, logger: silentLogger });
  return {
    seed,
    admin,
    stop: async () => {
      await stop();
      await seed.close();
    },
  };
}

interface NodeShape {
  ready: boolean;
  labels?: Record<string, string>;
  taints?: Array<{ key: string; value?: string; effect: string }>;
  allocatable?: Record<string, string>;
}

async function setNodeReady(admin: KubeClient, name: string, ready: boolean): Promise<void> {
  const node = await admin.get<V1Node>(`/api/v1/nodes/${name}`);
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  await admin.request('PUT', `/api/v1/nodes/${name}/status`, {
    ...node,
    status: {
      ...(node.status ?? {}),
      conditions: [
        {
          type: 'Ready',
          status: ready ? 'True' : 'False',
          reason: ready ? 'KubeletReady' : 'KubeletNotReady',
          lastHeartbeatTime: now,
          lastTransitionTime: now,
        },
      ],
    },
  });
  // The node lifecycle controller lifts (or keeps) the not-ready taint TaintNodesByCondition set.
  await eventually(
    async () => {
      const taints = (await admin.get<V1Node>(`/api/v1/nodes/${name}`)).spec?.taints ?? [];
      return taints.some((taint) => taint.key === NOT_READY) !== ready;
    },
    `node ${name} to be ${ready ? 'Ready' : 'NotReady'}`,
    10_000,
    50,
  );
}

async function createNode(admin: KubeClient, name: string, shape: NodeShape): Promise<void> {
  await admin.request('POST', '/api/v1/nodes', {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(shape.labels ?? {}) } },
    spec: shape.taints ? { taints: shape.taints } : {},
  });
  if (shape.allocatable) {
    const node = await admin.get<V1Node>(`/api/v1/nodes/${name}`);
    await admin.request('PUT', `/api/v1/nodes/${name}/status`, { ...node, status: { capacity: shape.allocatable, allocatable: shape.allocatable } });
  }
  await setNodeReady(admin, name, shape.ready);
}

async function pods(admin: KubeClient, namespace: string, labels: string): Promise<V1Pod[]> {
  const list = await admin.list(`/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(labels)}`);
  return list.items as unknown as V1Pod[];
}

/**
 * One pass of a kubelet on every node: bound pods report Ready, terminating ones are removed.
 * Called from the waits, so workloads progress the way they would on real nodes.
 */
async function playKubelet(admin: KubeClient, namespace: string): Promise<void> {
  for (const pod of await pods(admin, namespace, '')) {
    const path = `/api/v1/namespaces/${namespace}/pods/${pod.metadata?.name}`;
    try {
      if (pod.metadata?.deletionTimestamp) {
        await admin.request('DELETE', path, { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0 });
      } else if (pod.spec?.nodeName && !pod.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True')) {
        const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
        await admin.request('PUT', `${path}/status`, {
          ...pod,
          status: {
            ...(pod.status ?? {}),
            phase: 'Running',
            conditions: [...(pod.status?.conditions ?? []), { type: 'Ready', status: 'True', lastTransitionTime: now }],
          },
        });
      }
    } catch {
      // Changed or gone meanwhile: the next pass sees the newer object.
    }
  }
}

function podScheduled(pod: V1Pod | undefined): { status?: string; reason?: string; message?: string } | undefined {
  return pod?.status?.conditions?.find((condition) => condition.type === 'PodScheduled');
}

function daemonSet(name: string, namespace: string, spec: Partial<V1PodSpec>, strategy?: { type: string; rollingUpdate?: { maxUnavailable: number } }) {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name, namespace },
    spec: {
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name, image: `registry.k8s.io/${name}:v1` }], ...spec } },
      ...(strategy ? { updateStrategy: strategy } : {}),
    },
  };
}

describe('DaemonSet controller', () => {
  const namespace = 'kube-system';
  let cluster: Cluster;

  const statusOf = async (name: string): Promise<V1DaemonSet['status']> =>
    (await cluster.admin.get<V1DaemonSet>(`/apis/apps/v1/namespaces/${namespace}/daemonsets/${name}`)).status;

  /** Node name → the DaemonSet's running pods there, once every pod is bound where it is pinned. */
  const placement = async (name: string): Promise<Map<string, V1Pod[]>> => {
    const byNode = new Map<string, V1Pod[]>();
    for (const pod of await pods(cluster.admin, namespace, `app=${name}`)) {
      if (pod.metadata?.deletionTimestamp) continue;
      const node = pod.spec?.nodeName ?? 'unbound';
      byNode.set(node, [...(byNode.get(node) ?? []), pod]);
    }
    return byNode;
  };

  beforeAll(async () => {
    cluster = await startCluster(['daemonset']);
    await createNode(cluster.admin, 'worker-1', { ready: true, labels: { role: 'worker' } });
    await createNode(cluster.admin, 'worker-2', { ready: true, labels: { role: 'worker' } });
    // Joined but not Ready yet (no CNI): only what tolerates the not-ready taint goes here.
    await createNode(cluster.admin, 'worker-3', { ready: false, labels: { role: 'worker' } });
    await createNode(cluster.admin, 'infra-1', {
      ready: true,
      labels: { role: 'infra' },
      taints: [{ key: 'dedicated', value: 'infra', effect: 'NoSchedule' }],
    });
  }, scaled(30_000));

  afterAll(async () => {
    await cluster?.stop();
  });

  it('runs a CNI-like DaemonSet on every node, NotReady and tainted ones included, pinned by node affinity and bound by the scheduler', async () => {
    // As the real CNI and kube-proxy manifests do: tolerate everything, run on the host network.
    await cluster.admin.request(
      'POST',
      `/apis/apps/v1/namespaces/${namespace}/daemonsets`,
      daemonSet('cni', namespace, { hostNetwork: true, tolerations: [{ operator: 'Exists' }] }),
    );
    const byNode = await eventually(
      async () => {
        await playKubelet(cluster.admin, namespace);
        const found = await placement('cni');
        return found.size === 4 && !found.has('unbound') && [...found.values()].every((list) => list.length === 1) ? found : undefined;
      },
      'a cni pod bound on each of the 4 nodes',
      20_000,
      100,
    );
    expect([...byNode.keys()].sort()).toEqual(['infra-1', 'worker-1', 'worker-2', 'worker-3']);
    for (const [node, [pod]] of byNode) {
      expect(pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms).toEqual([
        { matchFields: [{ key: 'metadata.name', operator: 'In', values: [node] }] },
      ]);
      expect(pod.metadata?.labels?.['controller-revision-hash']).toBeTruthy();
      expect(pod.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'DaemonSet', name: 'cni', controller: true });
      const tolerated = (pod.spec?.tolerations ?? []).map((toleration) => `${toleration.key ?? '*'}:${toleration.effect ?? '*'}`);
      expect(tolerated).toEqual(
        expect.arrayContaining([
          `${NOT_READY}:NoExecute`,
          'node.kubernetes.io/unreachable:NoExecute',
          'node.kubernetes.io/disk-pressure:NoSchedule',
          'node.kubernetes.io/memory-pressure:NoSchedule',
          'node.kubernetes.io/pid-pressure:NoSchedule',
          'node.kubernetes.io/unschedulable:NoSchedule',
          'node.kubernetes.io/network-unavailable:NoSchedule',
        ]),
      );
    }
    const status = await eventually(
      async () => {
        await playKubelet(cluster.admin, namespace);
        const current = await statusOf('cni');
        return current?.numberReady === 4 ? current : undefined;
      },
      'cni status to count 4 ready',
      20_000,
      100,
    );
    expect(status).toMatchObject({
      desiredNumberScheduled: 4,
      currentNumberScheduled: 4,
      numberReady: 4,
      numberAvailable: 4,
      updatedNumberScheduled: 4,
      numberMisscheduled: 0,
    });
    expect(status?.observedGeneration).toBe(1);
  });

  it('honours nodeSelector and taints, and leaves nodes that stop matching or go away', async () => {
    // No toleration of its own: not the NotReady node (its default not-ready toleration is
    // NoExecute only), not the dedicated one.
    await cluster.admin.request(
      'POST',
      `/apis/apps/v1/namespaces/${namespace}/daemonsets`,
      daemonSet('agent', namespace, { nodeSelector: { role: 'worker' } }),
    );
    await eventually(
      async () => {
        await playKubelet(cluster.admin, namespace);
        const found = await placement('agent');
        const status = await statusOf('agent');
        return [...found.keys()].sort().join() === 'worker-1,worker-2' && status?.numberReady === 2 && status.desiredNumberScheduled === 2;
      },
      'agent pods on worker-1 and worker-2 only',
      20_000,
      100,
    );

    await cluster.admin.request('PATCH', '/api/v1/nodes/worker-2', { metadata: { labels: { role: 'batch' } } }, MERGE_PATCH);
    await cluster.admin.request('DELETE', '/api/v1/nodes/infra-1');
    const status = await eventually(
      async () => {
        await playKubelet(cluster.admin, namespace);
        const agent = await placement('agent');
        const cni = await placement('cni');
        const current = await statusOf('agent');
        return [...agent.keys()].join() === 'worker-1' && !cni.has('infra-1') && cni.size === 3 && current?.desiredNumberScheduled === 1 ? current : undefined;
      },
      'agent to leave worker-2 and cni to leave the deleted infra-1',
      20_000,
      100,
    );
    expect(status).toMatchObject({ desiredNumberScheduled: 1, currentNumberScheduled: 1, numberMisscheduled: 0 });
  });

  it('rolls a template change one node at a time (maxUnavailable 1), and only on deletion with OnDelete', async () => {
    const ds = daemonSet('proxy', namespace, { tolerations: [{ operator: 'Exists' }] }, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } });
    await cluster.admin.request('POST', `/apis/apps/v1/namespaces/${namespace}/daemonsets`, ds);
    const ready = async (name: string): Promise<V1DaemonSet> =>
      eventually(
        async () => {
          await playKubelet(cluster.admin, namespace);
          const current = await cluster.admin.get<V1DaemonSet>(`/apis/apps/v1/namespaces/${namespace}/daemonsets/${name}`);
          const status = current.status;
          return status?.observedGeneration === current.metadata?.generation &&
            status?.numberReady === status?.desiredNumberScheduled &&
            status?.updatedNumberScheduled === status?.desiredNumberScheduled
            ? current
            : undefined;
        },
        `${name} to be rolled out and ready`,
        30_000,
        100,
      );
    const before = await ready('proxy');
    const oldHashes = new Set((await pods(cluster.admin, namespace, 'app=proxy')).map((pod) => pod.metadata?.labels?.['controller-revision-hash']));
    expect(oldHashes.size).toBe(1);
    const desired = before.status?.desiredNumberScheduled ?? 0;
    expect(desired).toBe(3);

    await cluster.admin.request(
      'PATCH',
      `/apis/apps/v1/namespaces/${namespace}/daemonsets/proxy`,
      { spec: { template: { spec: { containers: [{ name: 'proxy', image: 'registry.k8s.io/proxy:v2' }] } } } },
      MERGE_PATCH,
    );
    let mostUnavailable = 0;
    const rolled = await eventually(
      async () => {
        await playKubelet(cluster.admin, namespace);
        const current = await placement('proxy');
        const readyNodes = [...current.values()].filter((list) =>
          list.some((pod) => pod.spec?.nodeName && pod.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True')),
        ).length;
        mostUnavailable = Math.max(mostUnavailable, desired - readyNodes);
        const all = [...current.values()].flat();
        return all.length === desired && all.every((pod) => !oldHashes.has(pod.metadata?.labels?.['controller-revision-hash'])) ? all : undefined;
      },
      'every proxy pod on the new template',
      30_000,
      50,
    );
    expect(rolled.every((pod) => pod.spec?.containers[0]?.image === 'registry.k8s.io/proxy:v2')).toBe(true);
    expect(mostUnavailable).toBeLessThanOrEqual(1);
    const after = await ready('proxy');
    expect(after.status?.updatedNumberScheduled).toBe(3);

    // OnDelete: a new template changes nothing until a pod is deleted.
    await cluster.admin.request(
      'PATCH',
      `/apis/apps/v1/namespaces/${namespace}/daemonsets/proxy`,
      {
        spec: {
          updateStrategy: { type: 'OnDelete', rollingUpdate: null },
          template: { spec: { containers: [{ name: 'proxy', image: 'registry.k8s.io/proxy:v3' }] } },
        },
      },
      MERGE_PATCH,
    );
    const stale = await eventually(
      async () => {
        await playKubelet(cluster.admin, namespace);
        const current = await cluster.admin.get<V1DaemonSet>(`/apis/apps/v1/namespaces/${namespace}/daemonsets/proxy`);
        return current.status?.observedGeneration === current.metadata?.generation ? current : undefined;
      },
      'the OnDelete change to be observed',
      20_000,
      100,
    );
    expect(stale.status?.updatedNumberScheduled).toBe(0);
    const images = (await pods(cluster.admin, namespace, 'app=proxy')).map((pod) => pod.spec?.containers[0]?.image);
    expect(images).toEqual(['registry.k8s.io/proxy:v2', 'registry.k8s.io/proxy:v2', 'registry.k8s.io/proxy:v2']);
    const victim = (await placement('proxy')).get('worker-1')?.[0];
    await cluster.admin.request('DELETE', `/api/v1/namespaces/${namespace}/pods/${victim?.metadata?.name}`);
    const replaced = await eventually(
      async () => {
        await playKubelet(cluster.admin, namespace);
        const replacement = (await placement('proxy')).get('worker-1')?.[0];
        const status = await statusOf('proxy');
        return replacement && replacement.metadata?.name !== victim?.metadata?.name && status?.updatedNumberScheduled === 1 ? replacement : undefined;
      },
      'the deleted pod to come back on the new template',
      20_000,
      100,
    );
    expect(replaced.spec?.containers[0]?.image).toBe('registry.k8s.io/proxy:v3');
  });
});

describe('scheduler', () => {
  const namespace = 'default';
  let cluster: Cluster;

  const pod = (name: string, spec: Partial<V1PodSpec> = {}, labels: Record<string, string> = {}) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels },
    spec: { containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.10' }], ...spec },
  });
  const read = (name: string): Promise<V1Pod> => cluster.admin.get<V1Pod>(`/api/v1/namespaces/${namespace}/pods/${name}`);
  const boundNode = (name: string): Promise<string> => eventually(async () => (await read(name)).spec?.nodeName, `${name} to be bound`, 20_000, 50);
  const unschedulable = (name: string, message?: string): Promise<string> =>
    eventually(
      async () => {
        const condition = podScheduled(await read(name));
        if (condition?.status !== 'False' || condition.reason !== 'Unschedulable') return undefined;
        return message === undefined || condition.message === message ? (condition.message ?? '') : undefined;
      },
      `${name} to be reported Unschedulable${message ? ` with "${message}"` : ''}`,
      20_000,
      50,
    );

  beforeAll(async () => {
    cluster = await startCluster(['deployment', 'replicaset']);
    const allocatable = { cpu: '1', memory: '2Gi', pods: '110' };
    await createNode(cluster.admin, 'node-a', { ready: false, labels: { tier: '3' }, allocatable });
    await createNode(cluster.admin, 'node-b', { ready: false, labels: { tier: '5' }, allocatable });
  }, scaled(30_000));

  afterAll(async () => {
    await cluster?.stop();
  });

  it('schedules onto NotReady nodes only what tolerates their taint, says why the rest waits, and retries when nodes change', async () => {
    await cluster.admin.request('POST', `/api/v1/namespaces/${namespace}/pods`, pod('web'));
    await unschedulable(
      'web',
      '0/2 nodes are available: 2 node(s) had untolerated taint {node.kubernetes.io/not-ready: }. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.',
    );
    // The CNI pod's "tolerate everything" (operator Exists, no key) goes anywhere.
    await cluster.admin.request('POST', `/api/v1/namespaces/${namespace}/pods`, pod('cni', { tolerations: [{ operator: 'Exists' }] }));
    expect(await boundNode('cni')).toMatch(/^node-[ab]$/);
    expect(podScheduled(await read('cni'))?.status).toBe('True');

    await setNodeReady(cluster.admin, 'node-a', true);
    expect(await boundNode('web')).toBe('node-a');
    await setNodeReady(cluster.admin, 'node-b', true);
  });

  it('follows nodeSelector and required node affinity, and leaves pods of another scheduler or already on a node alone', async () => {
    await cluster.admin.request(
      'POST',
      `/api/v1/namespaces/${namespace}/pods`,
      pod('high-tier', {
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [{ matchExpressions: [{ key: 'tier', operator: 'Gt', values: ['4'] }] }],
            },
          },
        },
      }),
    );
    expect(await boundNode('high-tier')).toBe('node-b');
    await cluster.admin.request('POST', `/api/v1/namespaces/${namespace}/pods`, pod('selected', { nodeSelector: { tier: '3' } }));
    expect(await boundNode('selected')).toBe('node-a');
    await cluster.admin.request('POST', `/api/v1/namespaces/${namespace}/pods`, pod('nowhere', { nodeSelector: { tier: '9' } }));
    await unschedulable(
      'nowhere',
      "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.",
    );
    await cluster.admin.request('POST', `/api/v1/namespaces/${namespace}/pods`, pod('other-scheduler', { schedulerName: 'my-scheduler' }));
    await cluster.admin.request('POST', `/api/v1/namespaces/${namespace}/pods`, pod('preassigned', { nodeName: 'node-b', nodeSelector: { tier: '3' } }));
    // A pod created after them is scheduled: by then the scheduler has seen the two above.
    await cluster.admin.request('POST', `/api/v1/namespaces/${namespace}/pods`, pod('marker'));
    await boundNode('marker');
    const other = await read('other-scheduler');
    expect(other.spec?.nodeName).toBeUndefined();
    expect(podScheduled(other)).toBeUndefined();
    expect((await read('preassigned')).spec?.nodeName).toBe('node-b');
  });

  it('spreads CoreDNS-like replicas over both nodes with anti-affinity and topology spread, and keeps a third waiting', async () => {
    const selector = { matchLabels: { 'k8s-app': 'kube-dns' } };
    await cluster.admin.request('POST', `/apis/apps/v1/namespaces/${namespace}/deployments`, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'coredns', namespace },
      spec: {
        replicas: 2,
        selector,
        template: {
          metadata: { labels: { 'k8s-app': 'kube-dns' } },
          spec: {
            containers: [{ name: 'coredns', image: 'registry.k8s.io/coredns/coredns:v1.12.0', resources: { requests: { cpu: '100m', memory: '70Mi' } } }],
            tolerations: [{ key: 'CriticalAddonsOnly', operator: 'Exists' }],
            affinity: {
              podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: selector, topologyKey: 'kubernetes.io/hostname' }] },
            },
            topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule', labelSelector: selector }],
          },
        },
      },
    });
    const nodes = await eventually(
      async () => {
        const found = (await pods(cluster.admin, namespace, 'k8s-app=kube-dns')).map((candidate) => candidate.spec?.nodeName);
        return found.length === 2 && found.every(Boolean) ? found : undefined;
      },
      'both coredns replicas bound',
      20_000,
      50,
    );
    expect(nodes.sort()).toEqual(['node-a', 'node-b']);

    const deployment = await cluster.admin.get<{ spec: { replicas: number } }>(`/apis/apps/v1/namespaces/${namespace}/deployments/coredns`);
    await cluster.admin.request('PUT', `/apis/apps/v1/namespaces/${namespace}/deployments/coredns`, {
      ...deployment,
      spec: { ...deployment.spec, replicas: 3 },
    });
    const third = await eventually(
      async () => (await pods(cluster.admin, namespace, 'k8s-app=kube-dns')).find((candidate) => !candidate.spec?.nodeName),
      'a third coredns replica',
      20_000,
      50,
    );
    // A skew of 1 would allow a second replica on a node; the hostname anti-affinity does not.
    await unschedulable(
      third.metadata?.name ?? '',
      "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.",
    );
    await cluster.admin.request('PUT', `/apis/apps/v1/namespaces/${namespace}/deployments/coredns`, {
      ...(await cluster.admin.get<{ spec: { replicas: number } }>(`/apis/apps/v1/namespaces/${namespace}/deployments/coredns`)),
      spec: { ...deployment.spec, replicas: 2 },
    });
  });

  it('fits requests into allocatable, and binds a waiting pod once a node has room again', async () => {
    // Each node has 1 cpu, of which coredns takes 100m.
    await cluster.admin.request(
      'POST',
      `/api/v1/namespaces/${namespace}/pods`,
      pod('big', { containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.10', resources: { requests: { cpu: '950m', memory: '1Gi' } } }] }),
    );
    await unschedulable(
      'big',
      '0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.',
    );
    await cluster.admin.request(
      'POST',
      `/api/v1/namespaces/${namespace}/pods`,
      pod('huge', { containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.10', resources: { requests: { cpu: '100m', memory: '3Gi' } } }] }),
    );
    await unschedulable(
      'huge',
      '0/2 nodes are available: 2 Insufficient memory. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.',
    );

    const dns = await pods(cluster.admin, namespace, 'k8s-app=kube-dns');
    const onA = dns.filter((candidate) => candidate.spec?.nodeName === 'node-a');
    const deployment = await cluster.admin.get<{ spec: { replicas: number } }>(`/apis/apps/v1/namespaces/${namespace}/deployments/coredns`);
    await cluster.admin.request('PUT', `/apis/apps/v1/namespaces/${namespace}/deployments/coredns`, {
      ...deployment,
      spec: { ...deployment.spec, replicas: 0 },
    });
    // The pods leave once their "kubelet" finishes them; the freed cpu lets "big" in.
    expect(
      await eventually(
        async () => {
          await playKubelet(cluster.admin, namespace);
          return (await read('big')).spec?.nodeName;
        },
        'big to be bound once coredns is gone',
        20_000,
        100,
      ),
    ).toMatch(/^node-[ab]$/);
    expect(onA.length).toBe(1);
  });
});
