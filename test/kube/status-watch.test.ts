// StatusWatch (services/kube/src/status-watch.ts) against kubesim's real watch endpoint: which
// changes wake a waiting reconcile and which do not.
import 'reflect-metadata';
import { AppsV1Api, type V1StatefulSet } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient, StatusWatch, type StatusChange } from '../../services/kube/src/index.js';
import { createSeed, type SeedHandle } from '../../services/sandbox/src/kubesim/index.js';
import { eventually } from '../support/time.js';

const MANAGED = 'app.kubernetes.io/managed-by=harbormaster';
const STATEFULSETS = [{ kind: 'StatefulSet', path: '/apis/apps/v1/statefulsets' }];

function statefulSet(name: string, labels: Record<string, string>): V1StatefulSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace: 'default', labels },
    spec: {
      replicas: 1,
      serviceName: name,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.10' }] } },
    },
  };
}

describe('StatusWatch against kubesim', () => {
  let seed: SeedHandle;
  let client: KubeClient;
  let apps: AppsV1Api;

  beforeAll(async () => {
    seed = await createSeed({ authorizationModes: ['RBAC'] });
    client = KubeClient.fromYaml(seed.adminKubeconfig);
    apps = client.config.makeApiClient(AppsV1Api);
  });

  afterAll(async () => {
    client?.close();
    await seed?.close();
  });

  async function setReadyReplicas(name: string, readyReplicas: number): Promise<void> {
    const current = await apps.readNamespacedStatefulSet({ name, namespace: 'default' });
    await apps.replaceNamespacedStatefulSetStatus({
      name,
      namespace: 'default',
      body: { ...current, status: { replicas: 1, readyReplicas, observedGeneration: current.metadata!.generation } },
    });
  }

  it('reports status and spec changes and deletions of matching objects, not their creation or other objects', async () => {
    const changes: StatusChange[] = [];
    const watch = new StatusWatch(client.config, STATEFULSETS, MANAGED, (change) => changes.push(change)).start();
    try {
      await eventually(async () => watch.connected, 'the watch to connect', 10_000, 50);
      await client.apply(statefulSet('etcd', { 'app.kubernetes.io/managed-by': 'harbormaster', 'harbormaster.dev/cluster-id': 'c1' }));
      await client.apply(statefulSet('foreign', { 'app.kubernetes.io/managed-by': 'someone-else' }));

      await setReadyReplicas('etcd', 1);
      await eventually(async () => changes.length >= 1, 'the status change to be reported', 10_000, 20);
      expect(changes[0]).toEqual({
        kind: 'StatefulSet',
        namespace: 'default',
        name: 'etcd',
        labels: expect.objectContaining({ 'harbormaster.dev/cluster-id': 'c1' }) as unknown,
        deleted: false,
      });

      // The foreign object's change comes before the next one of ours in the same stream, so it would be seen by then.
      await setReadyReplicas('foreign', 1);
      await client.apply({
        ...statefulSet('etcd', { 'app.kubernetes.io/managed-by': 'harbormaster', 'harbormaster.dev/cluster-id': 'c1' }),
        spec: { ...statefulSet('etcd', {}).spec!, replicas: 3 },
      });
      await eventually(async () => changes.length >= 2, 'the spec change (a new generation) to be reported', 10_000, 20);

      await client.delete({ apiVersion: 'apps/v1', kind: 'StatefulSet', namespace: 'default', name: 'etcd' });
      await eventually(async () => changes.some((change) => change.deleted), 'the deletion to be reported', 10_000, 20);
      // Exactly these three: neither creation nor the foreign object was reported.
      expect(changes.map((change) => [change.name, change.deleted])).toEqual([
        ['etcd', false],
        ['etcd', false],
        ['etcd', true],
      ]);
    } finally {
      watch.stop();
    }
    expect(watch.connected).toBe(false);
  });

  it('stays disconnected, and says why, for an identity that may not watch', async () => {
    const errors: unknown[] = [];
    const unprivileged = KubeClient.fromYaml(await seed.userKubeconfig('no-rights'));
    const watch = new StatusWatch(
      unprivileged.config,
      STATEFULSETS,
      MANAGED,
      () => undefined,
      (_kind, error) => errors.push(error),
    ).start();
    try {
      await eventually(async () => errors.length > 0, 'the refused watch to be reported', 10_000, 20);
      expect(String(errors[0])).toMatch(/Forbidden/);
      expect(watch.connected).toBe(false);
    } finally {
      watch.stop();
      unprivileged.close();
    }
  });
});
