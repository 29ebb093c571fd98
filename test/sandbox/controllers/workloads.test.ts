// kubesim's workload controllers without a kubelet: the test plays the kubelet by writing Pod
// status, so what the controllers count is exactly what the Pods say.
import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { startControllers, WORKLOAD_CONTROLLERS } from '../../../services/sandbox/src/kubesim/controllers/roles.js';
import { createSeed } from '../../../services/sandbox/src/kubesim/index.js';
import { KubernetesSeedClient } from '../../../services/sandbox/src/kubelet/index.js';
import { eventually } from '../../support/time.js';

const namespace = `wl-${randomBytes(3).toString('hex')}`;

describe('workload controllers (deployment, replicaset, statefulset, endpoint)', () => {
  let seed: Awaited<ReturnType<typeof createSeed>>;
  let client: KubernetesSeedClient;
  let stop: () => Promise<void>;

  /** What a kubelet reports for a running pod, ready or not. */
  const report = async (pod: V1Pod, ip: string, ready: boolean): Promise<void> => {
    const latest = await client.get('Pod', namespace, pod.metadata?.name ?? '');
    if (!latest) throw new Error(`${pod.metadata?.name} missing`);
    const now = new Date();
    await client.replaceStatus('Pod', {
      ...latest,
      status: {
        phase: 'Running',
        podIP: ip,
        conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: now }],
      },
    });
  };

  beforeAll(async () => {
    seed = await createSeed();
    client = KubernetesSeedClient.fromYaml(seed.adminKubeconfig);
    const config = new KubeConfig();
    config.loadFromString(seed.adminKubeconfig);
    // No scheduler: the Pods stay unbound, and only this test writes their status.
    stop = await startControllers(config, { controllers: WORKLOAD_CONTROLLERS, scheduler: false });
    await config.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: namespace } } });
  });

  afterAll(async () => {
    await stop?.();
    await seed?.close();
  });

  it('counts a Deployment ready only as its Pods report it, and lists Endpoints by the same readiness', async () => {
    await client.create('Service', {
      metadata: { name: 'web', namespace },
      spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
    });
    await client.create('Deployment', {
      metadata: { name: 'web', namespace },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'app', image: 'test-app', ports: [{ name: 'http', containerPort: 8080 }] }] },
        },
      },
    });
    const pods = await eventually(
      async () => {
        const found = await client.list('Pod', namespace);
        return found.length === 2 ? found : undefined;
      },
      'two pods',
      20_000,
      100,
    );
    // Created for a scheduler (or the process kubelet) to bind.
    for (const pod of pods) expect(pod.spec?.nodeName).toBeUndefined();
    const replicaSet = await client.get('ReplicaSet', namespace, pods[0].metadata!.ownerReferences![0].name);
    expect(replicaSet?.spec?.replicas).toBe(2);

    await report(pods[0], '10.0.0.1', true);
    await report(pods[1], '10.0.0.2', false);
    const status = await eventually(
      async () => {
        const found = await client.get('Deployment', namespace, 'web');
        return found?.status?.replicas === 2 && found.status.readyReplicas === 1 ? found.status : undefined;
      },
      'one ready replica',
      20_000,
      100,
    );
    expect(status.conditions?.find((condition) => condition.type === 'Available')?.status).toBe('False');
    const endpoints = await eventually(
      async () => {
        const found = await client.get('Endpoints', namespace, 'web');
        return found?.subsets?.[0]?.addresses?.length === 1 && found.subsets[0].notReadyAddresses?.length === 1 ? found : undefined;
      },
      'one ready and one not-ready address',
      20_000,
      100,
    );
    expect(endpoints.subsets?.[0]?.addresses?.[0]?.ip).toBe('10.0.0.1');
    expect(endpoints.subsets?.[0]?.ports).toEqual([{ name: 'http', port: 8080, protocol: 'TCP' }]);

    await report(pods[1], '10.0.0.2', true);
    const ready = await eventually(
      async () => {
        const found = await client.get('Deployment', namespace, 'web');
        return found?.status?.readyReplicas === 2 ? found.status : undefined;
      },
      'two ready replicas',
      20_000,
      100,
    );
    expect(ready.conditions?.find((condition) => condition.type === 'Available')?.status).toBe('True');
    expect(ready.conditions?.find((condition) => condition.type === 'Progressing')?.reason).toBe('NewReplicaSetAvailable');

    await client.delete('Service', namespace, 'web');
    await eventually(async () => ((await client.get('Endpoints', namespace, 'web')) ? undefined : true), 'Endpoints to go with the Service', 20_000, 100);
  });

  it('starts the next StatefulSet ordinal only once the previous Pod reports Ready', async () => {
    await client.create('StatefulSet', {
      metadata: { name: 'db', namespace },
      spec: {
        replicas: 2,
        serviceName: 'db',
        selector: { matchLabels: { app: 'db' } },
        template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'db', image: 'test-app' }] } },
      },
    });
    const first = await eventually(() => client.get('Pod', namespace, 'db-0'), 'db-0', 20_000, 100);
    await new Promise((done) => setTimeout(done, 1_000));
    expect(await client.get('Pod', namespace, 'db-1')).toBeUndefined();
    await report(first, '10.0.1.1', true);
    const second = await eventually(() => client.get('Pod', namespace, 'db-1'), 'db-1 after db-0 is ready', 20_000, 100);
    expect(second.metadata?.labels).toMatchObject({ 'apps.kubernetes.io/pod-index': '1', 'statefulset.kubernetes.io/pod-name': 'db-1' });
    await report(second, '10.0.1.2', true);
    const status = await eventually(
      async () => {
        const found = await client.get('StatefulSet', namespace, 'db');
        return found?.status?.readyReplicas === 2 ? found.status : undefined;
      },
      'two ready members',
      20_000,
      100,
    );
    expect(status.currentRevision).toBe(status.updateRevision);
  });
});
