// The stores lost under a cluster's life: Redis wiped (FLUSHALL) or restarted empty, PostgreSQL
// restarted as after a crash, during provisioning, scaling and deletion. The desired state is in
// PostgreSQL and every job is idempotent, so every activity must still finish, with no machine
// made twice, none left behind, and every operation closed.
//
// Long form: every fault during every activity (a cluster per fault). Short form: one cluster,
// each activity under another fault, so each fault is hit once.
import { afterAll, beforeAll, describe, it } from 'vitest';
import { createClusterWithPool, scalePool } from '../nodes/support.js';
import { scaled } from '../support/time.js';
import { CHAOS_MODE, deleteCluster, gone, phaseIs, phaseReasonIs, runningWith, runScenario, someNodeIn } from './scenario.js';
import { startChaosWorld, type ChaosWorld } from './world.js';

type StoreFault = 'redis-wipe' | 'redis-restart' | 'postgres-restart';
type Activity = 'provisioning' | 'scaling' | 'deletion';
type Chain = Record<Activity, StoreFault>;

const CHAINS: Chain[] =
  CHAOS_MODE === 'long'
    ? (['redis-wipe', 'redis-restart', 'postgres-restart'] as const).map((fault) => ({ provisioning: fault, scaling: fault, deletion: fault }))
    : [{ provisioning: 'redis-wipe', scaling: 'postgres-restart', deletion: 'redis-restart' }];

describe('chaos: losing Redis or PostgreSQL', () => {
  let world: ChaosWorld;

  beforeAll(async () => {
    world = await startChaosWorld();
  }, scaled(180_000));

  afterAll(async () => {
    await world?.stop();
  }, scaled(120_000));

  const inject = async (fault: StoreFault): Promise<void> => {
    if (fault === 'redis-wipe') await world.redis.flushAll();
    else if (fault === 'redis-restart') await world.redis.restart();
    else world.postgres.restart();
  };

  CHAINS.forEach((chain, index) => {
    describe(`cluster ${index + 1}`, () => {
      let clusterId = '';
      let poolId = '';

      it(
        `finishes provisioning through a ${chain.provisioning}`,
        async () => {
          await runScenario(world, {
            name: `${chain.provisioning}/provisioning`,
            act: async () => {
              const created = await createClusterWithPool(world, 'aws', 1, `stores-${index + 1}`);
              clusterId = created.cluster.id;
              poolId = created.pool.id;
              return [clusterId];
            },
            when: { what: 'the apiserver step', reached: () => phaseReasonIs(world, clusterId, 'WaitingForAPIServer') },
            fault: () => inject(chain.provisioning),
            converged: () => runningWith(world, clusterId, 1),
            convergeWithinMs: 180_000,
          });
        },
        scaled(420_000),
      );

      it(
        `finishes scaling through a ${chain.scaling}`,
        async () => {
          await runScenario(world, {
            name: `${chain.scaling}/scaling`,
            act: async () => {
              await scalePool(world, clusterId, poolId, 2);
              return [clusterId];
            },
            when: { what: 'a new node', reached: () => someNodeIn(world, clusterId, 'Provisioning') },
            fault: () => inject(chain.scaling),
            converged: () => runningWith(world, clusterId, 2),
            convergeWithinMs: 180_000,
          });
        },
        scaled(420_000),
      );

      it(
        `finishes deletion through a ${chain.deletion}`,
        async () => {
          await runScenario(world, {
            name: `${chain.deletion}/deletion`,
            act: async () => {
              await deleteCluster(world, clusterId);
              return [clusterId];
            },
            when: { what: 'the deletion to start', reached: () => phaseIs(world, clusterId, 'Deleting') },
            fault: () => inject(chain.deletion),
            converged: () => gone(world, clusterId),
            convergeWithinMs: 180_000,
          });
        },
        scaled(420_000),
      );
    });
  });
});
