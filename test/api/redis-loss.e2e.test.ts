// Redis may lose everything: a restart without persistence, a failover to an empty replica, a
// FLUSHALL. The desired state is in the database, so the product must come back on its own: the
// worker recreates its job schedulers (resync, cluster, node and seed health) and resyncs, and
// the work whose jobs were lost converges. This test runs its own redis-server, so wiping and
// restarting it touches nothing else in the suite, and a process seed whose kubelet runs the
// control planes.
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_NAMES } from '../../services/platform/src/queues.js';
import { ensureBuilt } from '../support/build.js';
import { startProcessSeed, type ProcessSeed } from '../control-plane/support.js';
import { OwnRedis } from '../support/redis.js';
import { TestServer } from '../support/server.js';
import { eventually, scaled } from '../support/time.js';

const SCHEDULERS = ['control-plane/resync', 'health/node-health', 'health/cluster-health', 'seeds/seed-health'];

describe('losing Redis', () => {
  let redis: OwnRedis;
  let seed: ProcessSeed;
  let server: TestServer;
  let queues: Queue[];
  let projectId: string;
  let seedId: string;

  /** The job schedulers that exist in Redis now, as `queue/id`. */
  async function schedulers(): Promise<string[]> {
    const found: string[] = [];
    for (const queue of queues) for (const scheduler of await queue.getJobSchedulers()) found.push(`${queue.name}/${scheduler.key}`);
    return found.sort();
  }

  async function clusterPhase(clusterId: string): Promise<string | undefined> {
    const response = await server.request<{ phase: string }>('GET', `/api/v1/projects/${projectId}/clusters/${clusterId}`);
    return response.status === 200 ? response.body.phase : undefined;
  }

  beforeAll(async () => {
    ensureBuilt();
    redis = await OwnRedis.start();
    seed = await startProcessSeed({ pods: true });
    // The resync runs rarely here, as in production: what brings the lost work back is the
    // keeper noticing the loss, not a resync that happens to come soon.
    server = await TestServer.start({
      backend: 'postgres',
      env: { REDIS_URL: redis.url, HM_RESYNC_INTERVAL_SECONDS: '600', HM_SEED_HEALTH_INTERVAL_SECONDS: '2', HM_SCHEDULE_CHECK_SECONDS: '2' },
    });
    queues = QUEUE_NAMES.map((name) => new Queue(name, { connection: { host: '127.0.0.1', port: redis.port }, prefix: server.queuePrefix }));
    seedId = (
      await server.request<{ id: string }>('POST', '/api/v1/seeds', { body: { name: 'sandbox', kubeconfig: seed.kubesim.adminKubeconfig, maxClusters: 3 } })
    ).body.id;
    projectId = (await server.request<{ id: string }>('POST', '/api/v1/projects', { body: { name: 'redis-loss' } })).body.id;
  }, scaled(120_000));

  afterAll(async () => {
    for (const queue of queues ?? []) await queue.close().catch(() => undefined);
    await server?.destroy();
    await seed?.stop();
    await redis?.kill();
  }, scaled(60_000));

  it('has its job schedulers in Redis', async () => {
    expect(await eventually(async () => ((await schedulers()).length === SCHEDULERS.length ? schedulers() : undefined), 'the schedulers')).toEqual(
      [...SCHEDULERS].sort(),
    );
  });

  it(
    'finishes a cluster creation whose jobs died with a Redis restarted empty',
    async () => {
      const created = await server.request<{ id: string }>('POST', `/api/v1/projects/${projectId}/clusters`, { body: { name: 'restarted', etcdReplicas: 1 } });
      expect(created.status).toBe(201);
      await eventually(
        async () =>
          (
            await server.request<{ items: Array<{ reason: string }> }>('GET', `/api/v1/projects/${projectId}/clusters/${created.body.id}/events`)
          ).body.items.some((event) => event.reason === 'Reconciling'),
        'the first pass to start',
        30_000,
      );
      await redis.kill();
      expect(await clusterPhase(created.body.id)).not.toBe('Running');
      await redis.start();

      await eventually(async () => (await schedulers()).length === SCHEDULERS.length, 'the schedulers to be recreated', 30_000, 500);
      await eventually(async () => (await clusterPhase(created.body.id)) === 'Running', 'the cluster to reach Running after the restart', 180_000, 1_000);
      expect(server.log).toContain('job schedulers missing from Redis');
    },
    scaled(300_000),
  );

  it(
    'keeps checking seed health after a FLUSHALL',
    async () => {
      await redis.flushAll();
      const flushedAt = Date.now();
      await eventually(async () => (await schedulers()).length === SCHEDULERS.length, 'the schedulers to be recreated', 30_000, 500);
      // The seed-health schedule runs every 2 s: a check after the wipe proves health checks go on.
      await eventually(
        async () => {
          const seeds = await server.request<{ items: Array<{ id: string; health: { checkedAt: string | null } }> }>('GET', '/api/v1/seeds');
          const checkedAt = seeds.body.items.find((item) => item.id === seedId)?.health.checkedAt;
          return checkedAt !== null && checkedAt !== undefined && Date.parse(checkedAt) > flushedAt;
        },
        'a seed health check after the wipe',
        30_000,
        500,
      );
    },
    scaled(120_000),
  );
});
