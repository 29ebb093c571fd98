// A cluster waiting on a seed object (etcd quorum, an apiserver rollout) runs its next pass when
// that object changes in the seed, through the worker's seed watches, not on a timer. The poll
// that backs the watches up is set to an hour here, so only a wake-up can move the cluster on.
// The seed runs no pods: the test writes the workloads' status itself, as a seed's controllers would.
import { AppsV1Api, KubeConfig } from '@kubernetes/client-node';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSeed, type TestSeed } from '../support/seed.js';
import { TestServer } from '../support/server.js';
import { eventually, scaled } from '../support/time.js';
import { ensureBuilt } from '../support/build.js';

interface ClusterView {
  id: string;
  phase: string;
  conditions: Array<{ type: string; status: string; reason: string }>;
}

describe('seed watches wake waiting clusters', () => {
  let server: TestServer;
  let seed: TestSeed;
  let queue: Queue;
  let apps: AppsV1Api;

  beforeAll(async () => {
    ensureBuilt();
    seed = await startTestSeed();
    server = await TestServer.start({ backend: 'pglite', env: { HM_WATCHED_WAIT_POLL_SECONDS: '3600' } });
    queue = new Queue('control-plane', { connection: { host: '127.0.0.1', port: 6379 }, prefix: server.queuePrefix });
    const config = new KubeConfig();
    config.loadFromString(seed.kubeconfig);
    apps = config.makeApiClient(AppsV1Api);
  }, scaled(120_000));

  afterAll(async () => {
    await queue?.close();
    await server?.destroy();
    await seed?.close();
  });

  /** The cluster's reconcile job, once it sits in the delayed set with a delay matching `accept`. */
  async function delayedJob(clusterId: string, accept: (delayMs: number) => boolean, what: string): Promise<number> {
    return eventually(
      async () => {
        const job = await queue.getJob(`cluster.${clusterId}`);
        if (!job || (await job.getState()) !== 'delayed') return undefined;
        return accept(job.delay) ? job.delay : undefined;
      },
      what,
      30_000,
      100,
    );
  }

  it(
    'moves on from etcd as soon as quorum is reported, and polls /readyz, which no watch can see',
    async () => {
      expect((await server.request('POST', '/api/v1/seeds', { body: { name: 'podless', kubeconfig: seed.kubeconfig, maxClusters: 5 } })).status).toBe(201);
      const project = (await server.request<{ id: string }>('POST', '/api/v1/projects', { body: { name: 'wakeups' } })).body.id;
      const created = await server.request<ClusterView>('POST', `/api/v1/projects/${project}/clusters`, { body: { name: 'woken', etcdReplicas: 1 } });
      expect(created.status).toBe(201);
      const path = `/api/v1/projects/${project}/clusters/${created.body.id}`;
      const namespace = `cluster-${created.body.id}`;
      const condition = async (type: string) => (await server.request<ClusterView>('GET', path)).body.conditions.find((candidate) => candidate.type === type);

      await eventually(async () => (await condition('EtcdReady'))?.reason === 'QuorumNotReady', 'the pass to wait for etcd');
      // Once the watches are up the wait is the long poll (capped by the 20-minute progress deadline).
      await delayedJob(created.body.id, (delay) => delay > 10 * 60_000, 'the job to wait on the watched StatefulSet');

      const etcd = await apps.readNamespacedStatefulSet({ name: 'etcd', namespace });
      await apps.replaceNamespacedStatefulSetStatus({
        name: 'etcd',
        namespace,
        body: {
          ...etcd,
          status: {
            replicas: 1,
            readyReplicas: 1,
            availableReplicas: 1,
            updatedReplicas: 1,
            currentReplicas: 1,
            observedGeneration: etcd.metadata!.generation,
          },
        },
      });
      await eventually(async () => (await condition('EtcdReady'))?.status === 'True', 'etcd quorum to be noticed', 30_000, 200);
      const apiserver = await eventually(
        async () => {
          try {
            return await apps.readNamespacedDeployment({ name: 'kube-apiserver', namespace });
          } catch {
            return undefined;
          }
        },
        'the apiserver to be applied',
        30_000,
        200,
      );
      expect((await condition('APIServerReady'))?.reason).toBe('RollingOut');
      await delayedJob(created.body.id, (delay) => delay > 10 * 60_000, 'the job to wait on the watched Deployment');

      // The rollout is reported done, but nothing answers /readyz at the endpoint: a wait no
      // watch can end, so the cluster is back on the short backoff.
      const replicas = apiserver.spec!.replicas ?? 1;
      await apps.replaceNamespacedDeploymentStatus({
        name: 'kube-apiserver',
        namespace,
        body: {
          ...apiserver,
          status: {
            replicas,
            readyReplicas: replicas,
            availableReplicas: replicas,
            updatedReplicas: replicas,
            observedGeneration: apiserver.metadata!.generation,
          },
        },
      });
      await eventually(async () => (await condition('APIServerReady'))?.reason === 'ReadyzFailed', 'the /readyz probe to fail', 30_000, 200);
      await delayedJob(created.body.id, (delay) => delay <= 8_000, 'the job to poll /readyz on the short backoff');
      expect((await server.request<ClusterView>('GET', path)).body.phase).toBe('Provisioning');
    },
    scaled(150_000),
  );
});
