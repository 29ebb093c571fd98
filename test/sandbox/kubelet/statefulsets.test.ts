import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { V1StatefulSet } from '@kubernetes/client-node';
import { startProcessKubelet, type ProcessKubelet, type RunningPod } from '../../../services/sandbox/src/kubelet/index.js';
import { getJson, startTestSeed, temporaryStateDir, TEST_APP_BINARIES, updateRetryingConflicts, type TestSeed } from './support/harness.js';
import { eventually } from '../../support/time.js';

const namespace = `kl-sts-${randomBytes(3).toString('hex')}`;

function appStatefulSet(replicas: number, version: string): V1StatefulSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'app', namespace },
    spec: {
      replicas,
      serviceName: 'app',
      selector: { matchLabels: { app: 'stateful' } },
      template: {
        metadata: { labels: { app: 'stateful' } },
        spec: {
          containers: [
            {
              name: 'main',
              image: 'example.com/test-app:2',
              env: [
                { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
                { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                { name: 'PORT', value: '7000' },
                { name: 'DATA_DIR', value: '/data' },
                { name: 'VERSION', value: version },
              ],
              ports: [{ name: 'web', containerPort: 7000 }],
              readinessProbe: { httpGet: { path: '/healthz', port: 'web' }, initialDelaySeconds: 1, periodSeconds: 1 },
              volumeMounts: [{ name: 'data', mountPath: '/data' }],
            },
          ],
        },
      },
      volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
    },
  };
}

describe('process kubelet: StatefulSets, PVCs and LoadBalancer Services', () => {
  let seed: TestSeed;
  let kubelet: ProcessKubelet;
  const state = temporaryStateDir('statefulsets');
  const members = (): RunningPod[] =>
    kubelet
      .pods()
      .filter((pod) => pod.ownerName === 'app')
      .sort((a, b) => (a.ordinal ?? 0) - (b.ordinal ?? 0));
  const dataDir = async (pod: RunningPod): Promise<string> => {
    const { body } = await getJson(`http://${pod.ip}:7000/env`);
    return (body as Record<string, string>).DATA_DIR;
  };

  beforeAll(async () => {
    seed = await startTestSeed();
    await seed.createNamespace(namespace);
    kubelet = await startProcessKubelet({
      kubeconfig: seed.kubeconfig,
      stateDir: state.path,
      namespaces: [namespace],
      binaries: TEST_APP_BINARIES,
      backoff: { initialMs: 200, maxMs: 1_000 },
      maxTerminationGraceMs: 2_000,
      resyncIntervalMs: 300,
    });
  });

  afterAll(async () => {
    await kubelet?.stop();
    await seed?.stop();
    state.remove();
  });

  it('starts members in order, each only after the previous is ready', async () => {
    await seed.client.create('StatefulSet', appStatefulSet(3, 'v1'));
    let violations = 0;
    const all = await eventually(
      () => {
        const pods = members();
        for (const pod of pods) {
          const previous = pods.find((candidate) => candidate.ordinal === (pod.ordinal ?? 0) - 1);
          if ((pod.ordinal ?? 0) > 0 && !previous?.ready) violations++;
        }
        return pods.length === 3 && pods.every((pod) => pod.ready) ? pods : undefined;
      },
      'three ready members',
      30_000,
      50,
    );
    expect(violations).toBe(0);
    expect(all.map((pod) => pod.name)).toEqual(['app-0', 'app-1', 'app-2']);
    const claims = await seed.client.list('PersistentVolumeClaim', namespace);
    expect(claims.map((claim) => claim.metadata?.name).sort()).toEqual(['data-app-0', 'data-app-1', 'data-app-2']);
    const status = await eventually(
      async () => {
        const found = await seed.client.get('StatefulSet', namespace, 'app');
        return found?.status?.readyReplicas === 3 ? found.status : undefined;
      },
      'StatefulSet status',
      20_000,
      100,
    );
    expect(status).toMatchObject({ replicas: 3, currentReplicas: 3, updatedReplicas: 3 });
    expect(status.currentRevision).toMatch(/^app-/);
  });

  it('rolls a template change from the highest ordinal down and keeps volumes and addresses', async () => {
    const before = members();
    for (const pod of before) writeFileSync(`${await dataDir(pod)}/marker`, pod.name);
    const current = await seed.client.get('StatefulSet', namespace, 'app');
    if (!current) throw new Error('app missing');
    const oldRevision = current.status?.updateRevision;
    await seed.client.replace('StatefulSet', { ...current, spec: appStatefulSet(3, 'v2').spec });
    const order: string[] = [];
    await eventually(
      () => {
        for (const pod of members()) if (pod.revision !== oldRevision && !order.includes(pod.name)) order.push(pod.name);
        const pods = members();
        return pods.length === 3 && pods.every((pod) => pod.ready && pod.revision !== oldRevision) ? true : undefined;
      },
      'the rolling update',
      40_000,
      50,
    );
    expect(order).toEqual(['app-2', 'app-1', 'app-0']);
    for (const pod of members()) {
      expect(pod.ip).toBe(before.find((candidate) => candidate.name === pod.name)?.ip);
      expect(readFileSync(`${await dataDir(pod)}/marker`, 'utf8')).toBe(pod.name);
    }
    const status = await eventually(
      async () => {
        const found = await seed.client.get('StatefulSet', namespace, 'app');
        return found?.status?.updatedReplicas === 3 && found.status.currentRevision === found.status.updateRevision ? found.status : undefined;
      },
      'the revisions to converge',
      20_000,
      100,
    );
    expect(status.updateRevision).not.toBe(oldRevision);
  });

  it('exposes a LoadBalancer Service on its own loopback address', async () => {
    const created = await seed.client.create('Service', {
      metadata: { name: 'app-lb', namespace },
      spec: {
        type: 'LoadBalancer',
        selector: { app: 'stateful' },
        ports: [{ name: 'web', port: 8443, targetPort: 'web', nodePort: 30_000 + Math.floor(Math.random() * 2_700) }],
      },
    });
    expect(created.spec?.ports?.[0]?.nodePort).toBeGreaterThan(0);
    const ingress = await eventually(
      async () => {
        const found = await seed.client.get('Service', namespace, 'app-lb');
        return found?.status?.loadBalancer?.ingress?.[0]?.ip;
      },
      'a load balancer address',
      20_000,
      100,
    );
    expect(ingress).toMatch(/^127\.32\.\d+\.\d+$/);
    const { body } = await eventually(() => getJson(`http://${ingress}:8443/`), 'the load balancer to answer', 20_000, 100);
    expect(['app-0', 'app-1', 'app-2']).toContain((body as { pod: string }).pod);
  });

  it('scales down from the highest ordinal, keeps claims, and deletes data with the claim', async () => {
    const removed = members().find((pod) => pod.name === 'app-2');
    if (!removed) throw new Error('app-2 missing');
    const removedData = await dataDir(removed);
    await updateRetryingConflicts(seed.client, 'StatefulSet', namespace, 'app', (current) => ({ ...current, spec: { ...current.spec!, replicas: 1 } }));
    await eventually(
      () =>
        members()
          .map((pod) => pod.name)
          .join() === 'app-0'
          ? true
          : undefined,
      'one member left',
      20_000,
      100,
    );
    expect((await seed.client.list('Pod', namespace)).map((pod) => pod.metadata?.name)).toEqual(['app-0']);
    expect((await seed.client.list('PersistentVolumeClaim', namespace)).length).toBe(3);
    expect(existsSync(`${removedData}/marker`)).toBe(true);
    await seed.client.delete('PersistentVolumeClaim', namespace, 'data-app-2');
    await eventually(() => (existsSync(removedData) ? undefined : true), 'the volume directory to be removed', 20_000, 100);
  });

  it('stops everything when the namespace goes away', async () => {
    const pids = members().flatMap((pod) => pod.containers.map((container) => container.pid ?? 0));
    await seed.deleteNamespace(namespace);
    await eventually(() => (members().length === 0 ? true : undefined), 'members to stop', 30_000, 100);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
    await eventually(() => (readFileSync('/etc/hosts', 'utf8').includes(namespace) ? undefined : true), 'hosts entries to go', 20_000, 100);
  });
});
