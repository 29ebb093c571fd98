// A deletion requested while a pass converges must stop that pass at once, not after it has
// applied everything (a 20-cluster delete on a busy sandbox had one cluster still applying tenant
// bootstrap objects 6 minutes after its deletion was requested). Real Redis (the notification
// the API publishes), real PGlite (the row the watch re-reads), and a tenant apiserver that
// accepts connections and never answers (the slow tenant the pass is stuck on).
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ClusterEventRepository,
  ClusterRepository,
  migrateToLatest,
  openDatabase,
  ProjectRepository,
  type DatabaseHandle,
} from '../../services/db/src/index.js';
import { clusterKubeconfig } from '../../services/kube/src/index.js';
import { ClusterEvents, ClusterEventSubscriptions, type AppConfig } from '../../services/platform/src/index.js';
import type { ClusterStatus } from '../../services/worker/src/control-plane/cluster-status.js';
import { DeletionRequestedError, DeletionWatch } from '../../services/worker/src/control-plane/deletion-watch.js';
import { applyTenantObjects } from '../../services/worker/src/control-plane/tenant-bootstrap.js';
import { referencePki, referenceSpec } from '../core/controlplane/reference.js';
import { eventually, scaled } from '../support/time.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('a deletion request interrupts the converging pass', () => {
  let database: DatabaseHandle;
  let redis: Redis;
  let subscriptions: ClusterEventSubscriptions;
  let events: ClusterEvents;
  let clusters: ClusterRepository;
  const projectId = randomUUID();

  beforeAll(async () => {
    database = await openDatabase({ pgliteDir: 'memory://' });
    await migrateToLatest(database.db);
    redis = new Redis(REDIS_URL, { lazyConnect: false, maxRetriesPerRequest: 1 });
    subscriptions = new ClusterEventSubscriptions(redis);
    // Only the queue prefix matters to the event channel's name; a random one keeps runs apart.
    events = new ClusterEvents(new ClusterEventRepository(database.db), redis, { queuePrefix: `hmt${randomBytes(4).toString('hex')}` } as AppConfig);
    clusters = new ClusterRepository(database.db);
    await new ProjectRepository(database.db).insert({ id: projectId, name: 'deletion-watch', displayName: 'deletion-watch' });
  });

  afterAll(async () => {
    subscriptions.onApplicationShutdown();
    redis.disconnect();
    await database?.close();
  });

  async function insertCluster(): Promise<string> {
    const id = randomUUID();
    await clusters.insert({
      id,
      project_id: projectId,
      name: `c-${id.slice(0, 8)}`,
      version: '1.36.3',
      seed_id: null,
      expose_strategy: 'NodePort',
      pod_cidr: '10.244.0.0/16',
      service_cidr: '10.96.0.0/12',
      etcd_replicas: 3,
      cni: 'cilium',
      network_mtu: null,
      addons: '{}',
      phase: 'Provisioning',
      phase_reason: 'Placed',
      conditions: JSON.stringify([]),
      endpoint: null,
      generation: 1,
      observed_generation: 0,
      sealed_secrets: null,
      updated_at: new Date(),
      deletion_requested_at: null,
      deleted_at: null,
    });
    return id;
  }

  /** What the API's delete does: the row changes, then the DeletionRequested event is notified. */
  async function requestDeletion(clusterId: string): Promise<void> {
    await clusters.update(clusterId, { deletion_requested_at: new Date(), phase: 'Deleting', phase_reason: 'DeletionRequested', generation: 2 });
    await events.record({ clusterId, projectId, reason: 'DeletionRequested', message: 'deletion requested by the test' });
  }

  it('aborts the pass signal on the DeletionRequested notification, and not on other events', async () => {
    const clusterId = await insertCluster();
    const watch = await new DeletionWatch(subscriptions, events, clusters).watch(clusterId);
    try {
      // Another event of the same cluster: the watch reads the row, which is not being deleted.
      await events.record({ clusterId, projectId, reason: 'EndpointAssigned', message: 'unrelated progress' });
      await eventually(async () => (await events.since(clusterId, 0)).length === 1, 'the first event to be recorded', 5_000, 50);
      expect(watch.signal.aborted).toBe(false);

      await requestDeletion(clusterId);
      await eventually(async () => watch.signal.aborted, 'the pass signal to be aborted', 5_000, 20);
      expect(watch.signal.reason).toBeInstanceOf(DeletionRequestedError);
    } finally {
      await watch.stop();
    }
  });

  it('aborts at once when the deletion was requested before the watch began', async () => {
    const clusterId = await insertCluster();
    await requestDeletion(clusterId);
    const watch = await new DeletionWatch(subscriptions, events, clusters).watch(clusterId);
    await watch.stop();
    expect(watch.signal.aborted).toBe(true);
  });

  describe('against a tenant apiserver that never answers', () => {
    let stalled: Server;
    const connections: Socket[] = [];

    beforeAll(async () => {
      stalled = createServer((socket) => connections.push(socket));
      await new Promise<void>((resolve) => stalled.listen(0, '127.0.0.1', resolve));
    });

    afterAll(async () => {
      for (const socket of connections) socket.destroy();
      await new Promise((resolve) => stalled.close(resolve));
    });

    it('stops applying tenant bootstrap objects when the deletion is requested, cutting the request in flight', async () => {
      const clusterId = await insertCluster();
      const address = stalled.address();
      if (typeof address !== 'object' || !address) throw new Error('the stalled server has no address');
      const pki = await referencePki();
      const kubeconfig = clusterKubeconfig({ clusterName: 'stalled', endpoint: `https://127.0.0.1:${address.port}`, pki, role: 'admin' });
      const watch = await new DeletionWatch(subscriptions, events, clusters).watch(clusterId);
      // The pass never gets as far as recording an event here, so no status writer is needed.
      const status = { event: () => undefined } as unknown as ClusterStatus;
      const applying = applyTenantObjects(
        referenceSpec('NodePort'),
        kubeconfig,
        { pki } as Parameters<typeof applyTenantObjects>[2],
        new Map(),
        status,
        watch.signal,
      );
      const outcome = applying.then(
        () => 'applied' as const,
        (error: unknown) => error,
      );
      try {
        // The first object's request is in flight on the stalled tenant.
        await eventually(async () => connections.length > 0, 'the pass to connect to the tenant', 10_000, 20);
        const requestedAt = performance.now();
        await requestDeletion(clusterId);
        const error = await Promise.race([outcome, new Promise((resolve) => setTimeout(() => resolve('still applying'), scaled(5_000)))]);
        expect(error).toBeInstanceOf(DeletionRequestedError);
        expect(performance.now() - requestedAt).toBeLessThan(scaled(5_000));
        // Nothing after the first object was attempted.
        expect(connections).toHaveLength(1);
      } finally {
        await watch.stop();
      }
    });
  });
});
