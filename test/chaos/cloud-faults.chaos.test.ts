// Both clouds failing 10 % of requests with a 5xx and throttling another 10 % (EC2
// `RequestLimitExceeded`, DigitalOcean 429 with its ratelimit headers) while pools scale up and
// while the cluster is deleted. Retries must never make a second machine for one node nor leave
// one behind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClusterWithPool, poolBody, clusterPath, scalePool, waitForCluster } from '../nodes/support.js';
import { scaled } from '../support/time.js';
import { CHAOS_MODE, deleteCluster, gone, phaseIs, runningWith, runScenario } from './scenario.js';
import { startChaosWorld, type ChaosWorld } from './world.js';

const FAULT_PROBABILITY = 0.1;
const AWS_NODES = CHAOS_MODE === 'long' ? 6 : 3;
const DO_NODES = CHAOS_MODE === 'long' ? 4 : 2;

describe('chaos: cloud 5xx and throttling', () => {
  let world: ChaosWorld;
  let clusterId = '';
  let poolId = '';

  const setFaults = (probability: number) => {
    for (const simulator of [world.ec2, world.digitalocean]) {
      simulator.faults.setProbability('server-error', probability).setProbability('throttle', probability);
      // A pool of a few machines makes few calls: one of each fault for sure, whatever the dice say.
      if (probability > 0) simulator.faults.failNext('throttle').failNext('server-error');
    }
  };

  beforeAll(async () => {
    world = await startChaosWorld();
    const created = await createClusterWithPool(world, 'aws', 0, 'cloud-faults');
    clusterId = created.cluster.id;
    poolId = created.pool.id;
    await waitForCluster(world, clusterId, 'Running');
  }, scaled(360_000));

  afterAll(async () => {
    await world?.stop();
  }, scaled(120_000));

  it(
    `scales an EC2 pool to ${AWS_NODES} and adds a DigitalOcean pool of ${DO_NODES} through ${FAULT_PROBABILITY * 100} % 5xx and throttling`,
    async () => {
      const requestsBefore = [world.ec2.requests().length, world.digitalocean.requests().length];
      await runScenario(world, {
        name: 'cloud-5xx-throttle/scaling',
        act: async () => {
          setFaults(FAULT_PROBABILITY);
          await scalePool(world, clusterId, poolId, AWS_NODES);
          const added = await world.server.request('POST', `${clusterPath(world, clusterId)}/nodepools`, {
            body: poolBody(world, 'digitalocean', DO_NODES, 'droplets'),
          });
          expect(added.status).toBe(201);
          return [clusterId];
        },
        // The faults stay on until the pools converged: they are the weather, not an event.
        fault: () => Promise.resolve(),
        converged: () => runningWith(world, clusterId, AWS_NODES + DO_NODES),
        convergeWithinMs: 240_000,
      });
      const failures = (requests: Array<{ status: number }>, from: number) => requests.slice(from).filter((request) => request.status >= 429).length;
      // The faults really happened on both clouds.
      expect(failures(world.ec2.requests(), requestsBefore[0])).toBeGreaterThan(0);
      expect(failures(world.digitalocean.requests(), requestsBefore[1])).toBeGreaterThan(0);
      expect(world.ec2.internalErrors()).toEqual([]);
      expect(world.digitalocean.specViolations()).toEqual([]);
    },
    scaled(600_000),
  );

  it(
    'deletes the cluster through the same faults',
    async () => {
      await runScenario(world, {
        name: 'cloud-5xx-throttle/deletion',
        act: async () => {
          await deleteCluster(world, clusterId);
          return [clusterId];
        },
        when: { what: 'the deletion to start', reached: () => phaseIs(world, clusterId, 'Deleting') },
        fault: () => Promise.resolve(),
        converged: () => gone(world, clusterId),
        convergeWithinMs: 180_000,
      });
      setFaults(0);
    },
    scaled(420_000),
  );
});
