// The chaos suite's CI form: one world and one cluster whose whole life runs through every kind
// of fault once, in the order a cluster meets them. The per-fault files (*.chaos.test.ts,
// `npm run chaos`) start a world each and cover every step and window; this file keeps the
// same invariants (no duplicate, no orphan, no lost or failed operation, convergence) in the
// normal suite at the cost of one world and one cluster.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterPath, createClusterWithPool, poolBody, scalePool } from '../nodes/support.js';
import { scaled, sleep } from '../support/time.js';
import { deleteCluster, gone, liveNodes, phaseIs, phaseReasonIs, runningWith, runScenario, someNodeIn } from './scenario.js';
import { HARBORMASTER_SEED_USER, startChaosWorld, type ChaosWorld } from './world.js';

const SEED_WINDOW_MS = 10_000;
const TENANT_OUTAGE_MS = 20_000;

describe('chaos (CI form): one cluster through every kind of fault', () => {
  let world: ChaosWorld;
  let clusterId = '';
  let poolId = '';

  beforeAll(async () => {
    world = await startChaosWorld();
  }, scaled(180_000));

  afterAll(async () => {
    await world?.stop();
  }, scaled(120_000));

  it(
    'provisions through a kill -9 of the worker at the apiserver step',
    async () => {
      await runScenario(world, {
        name: 'ci/worker-kill/WaitingForAPIServer',
        act: async () => {
          const created = await createClusterWithPool(world, 'aws', 1, 'chaos-ci');
          clusterId = created.cluster.id;
          poolId = created.pool.id;
          return [clusterId];
        },
        when: { what: 'the apiserver step', reached: () => phaseReasonIs(world, clusterId, 'WaitingForAPIServer') },
        fault: () => world.worker.crashAndRestart(),
        converged: () => runningWith(world, clusterId, 1),
        convergeWithinMs: 180_000,
      });
    },
    scaled(420_000),
  );

  it(
    'scales 1 → 2 through Redis restarted empty while the new node is provisioned',
    async () => {
      await runScenario(world, {
        name: 'ci/redis-restart/scaling',
        act: async () => {
          await scalePool(world, clusterId, poolId, 2);
          return [clusterId];
        },
        when: { what: 'a new node', reached: () => someNodeIn(world, clusterId, 'Provisioning') },
        fault: () => world.redis.restart(),
        converged: () => runningWith(world, clusterId, 2),
        convergeWithinMs: 180_000,
      });
    },
    scaled(420_000),
  );

  it(
    'adds a DigitalOcean pool through cloud 5xx and throttling on both clouds',
    async () => {
      const before = [world.ec2.requests().length, world.digitalocean.requests().length];
      for (const simulator of [world.ec2, world.digitalocean]) {
        simulator.faults.setProbability('server-error', 0.1).setProbability('throttle', 0.1);
        // One of each for certain: a pool of one machine makes few calls.
        simulator.faults.failNext('throttle').failNext('server-error');
      }
      try {
        await runScenario(world, {
          name: 'ci/cloud-5xx-throttle/scaling',
          act: async () => {
            const added = await world.server.request('POST', `${clusterPath(world, clusterId)}/nodepools`, {
              body: poolBody(world, 'digitalocean', 1, 'droplets'),
            });
            expect(added.status).toBe(201);
            // EC2 is called too: the pool reconciler reads its machines on every pass.
            await scalePool(world, clusterId, poolId, 3);
            return [clusterId];
          },
          fault: () => Promise.resolve(),
          converged: () => runningWith(world, clusterId, 4),
          convergeWithinMs: 240_000,
        });
      } finally {
        for (const simulator of [world.ec2, world.digitalocean]) simulator.faults.setProbability('server-error', 0).setProbability('throttle', 0);
      }
      const failures = (requests: Array<{ status: number }>, from: number) => requests.slice(from).filter((request) => request.status >= 429).length;
      expect(failures(world.ec2.requests(), before[0])).toBeGreaterThan(0);
      expect(failures(world.digitalocean.requests(), before[1])).toBeGreaterThan(0);
      expect(world.ec2.internalErrors()).toEqual([]);
      expect(world.digitalocean.specViolations()).toEqual([]);
    },
    scaled(600_000),
  );

  it(
    `keeps every node through a tenant API outage of ${TENANT_OUTAGE_MS / 1000} s`,
    async () => {
      const before = (await liveNodes(world, clusterId)).map((node) => node.id).sort();
      expect(before).toHaveLength(4);
      const namespace = `cluster-${clusterId}`;
      const apiservers = () => world.processSeed.kubelet.pods().filter((pod) => pod.namespace === namespace && pod.ownerName === 'kube-apiserver');
      await runScenario(world, {
        name: 'ci/tenant-unreachable/running',
        act: () => Promise.resolve([clusterId]),
        fault: async () => {
          expect(apiservers().length).toBeGreaterThan(0);
          // Stopped, not killed: connections are accepted and never answered.
          const until = Date.now() + TENANT_OUTAGE_MS;
          while (Date.now() < until) {
            for (const pod of apiservers()) world.processSeed.kubelet.signalContainer(namespace, pod.name, 'kube-apiserver', 'SIGSTOP');
            await sleep(250);
          }
          for (const pod of apiservers()) world.processSeed.kubelet.signalContainer(namespace, pod.name, 'kube-apiserver', 'SIGCONT');
        },
        converged: () => runningWith(world, clusterId, 4),
        convergeWithinMs: 180_000,
      });
      expect((await liveNodes(world, clusterId)).map((node) => node.id).sort()).toEqual(before);
    },
    scaled(600_000),
  );

  it(
    `deletes through a PostgreSQL restart and the seed answering 503 for ${SEED_WINDOW_MS / 1000} s`,
    async () => {
      const faultedBefore = world.processSeed.kubesim.faults.faultedRequests;
      await runScenario(world, {
        name: 'ci/postgres-restart+seed-503/deletion',
        act: async () => {
          await deleteCluster(world, clusterId);
          return [clusterId];
        },
        when: { what: 'the deletion to start', reached: () => phaseIs(world, clusterId, 'Deleting') },
        fault: async () => {
          world.postgres.restart();
          world.processSeed.kubesim.faults.failFor(SEED_WINDOW_MS, 503, { users: [HARBORMASTER_SEED_USER] });
          await sleep(SEED_WINDOW_MS);
        },
        converged: () => gone(world, clusterId),
        convergeWithinMs: 180_000,
      });
      // The window really met Harbormaster's requests.
      expect(world.processSeed.kubesim.faults.faultedRequests).toBeGreaterThan(faultedBefore);
    },
    scaled(420_000),
  );
});
