// kill -9 of the worker process at each step of the control-plane sequence (the steps come from
// core's CONTROL_PLANE_STEPS, so a new step is covered by adding it there) and at each step of
// a node's life (Provisioning, Joining, Deleting). Nothing the worker was doing may be lost or
// done twice: the next worker resumes from the database and the seed and the cloud's state.
//
// Long form: every step. Short form: the apiserver step and a joining node.
import { afterAll, beforeAll, describe, it } from 'vitest';
import { CONTROL_PLANE_STEPS } from '../../services/core/src/controlplane/sequence.js';
import { createClusterWithPool, scalePool } from '../nodes/support.js';
import { scaled } from '../support/time.js';
import { casesFor, CHAOS_MODE, deleteCluster, gone, phaseReasonIs, runningWith, runScenario, someNodeIn } from './scenario.js';
import { startChaosWorld, type ChaosWorld } from './world.js';

const CONTROL_PLANE_WAITS = casesFor(
  CONTROL_PLANE_STEPS.map((step) => step.waitReason),
  'WaitingForAPIServer',
);

/** A node step, and the pool size that passes through it from the size before. */
interface NodeStep {
  phase: 'Provisioning' | 'Joining' | 'Deleting';
  from: number;
  to: number;
}
const NODE_STEPS: readonly NodeStep[] =
  CHAOS_MODE === 'long'
    ? [
        { phase: 'Provisioning', from: 1, to: 2 },
        { phase: 'Joining', from: 2, to: 3 },
        { phase: 'Deleting', from: 3, to: 1 },
      ]
    : [{ phase: 'Joining', from: 1, to: 2 }];

describe('chaos: kill -9 of the worker', () => {
  let world: ChaosWorld;
  /** The first cluster stays for the node steps; the others are deleted to spare the 2 cores. */
  let kept: { clusterId: string; poolId: string } | undefined;

  beforeAll(async () => {
    world = await startChaosWorld();
  }, scaled(180_000));

  afterAll(async () => {
    await world?.stop();
  }, scaled(120_000));

  for (const waitReason of CONTROL_PLANE_WAITS) {
    it(
      `at control-plane step ${waitReason}`,
      async () => {
        let clusterId = '';
        await runScenario(world, {
          name: `worker-kill/control-plane/${waitReason}`,
          act: async () => {
            const created = await createClusterWithPool(world, 'aws', 1, `kill-${waitReason.replace('WaitingFor', '').toLowerCase()}`);
            clusterId = created.cluster.id;
            kept ??= { clusterId, poolId: created.pool.id };
            return [clusterId];
          },
          when: { what: waitReason, reached: () => phaseReasonIs(world, clusterId, waitReason) },
          fault: () => world.worker.crashAndRestart(),
          converged: () => runningWith(world, clusterId, 1),
          convergeWithinMs: 180_000,
        });
        if (kept?.clusterId !== clusterId) {
          await deleteCluster(world, clusterId);
          await runScenario(world, {
            name: `worker-kill/control-plane/${waitReason}/cleanup`,
            act: () => Promise.resolve([clusterId]),
            fault: () => Promise.resolve(),
            converged: () => gone(world, clusterId),
            convergeWithinMs: 120_000,
          });
        }
      },
      scaled(600_000),
    );
  }

  for (const step of NODE_STEPS) {
    it(
      `at node step ${step.phase} (${step.from} → ${step.to})`,
      async () => {
        if (!kept) throw new Error('no cluster: the control-plane cases run first');
        const { clusterId, poolId } = kept;
        await runScenario(world, {
          name: `worker-kill/node/${step.phase}`,
          act: async () => {
            await scalePool(world, clusterId, poolId, step.to);
            return [clusterId];
          },
          when: { what: `a node ${step.phase}`, reached: () => someNodeIn(world, clusterId, step.phase) },
          fault: () => world.worker.crashAndRestart(),
          converged: () => runningWith(world, clusterId, step.to),
          convergeWithinMs: 180_000,
        });
      },
      scaled(420_000),
    );
  }
});
