// The APIs Harbormaster depends on, failing for a while: the seed API answering 5xx (503 with
// Retry-After) or slowly to Harbormaster while a cluster is provisioned, and a tenant's API
// server unreachable (its processes stopped, so connections hang as behind a dead network).
// A seed outage must only delay the work; a tenant outage must not get a single node replaced:
// nothing can be concluded about nodes while their API cannot be read.
//
// Long form: 60 s seed windows (5xx, then slow), a 2-minute tenant outage. Short form: a 10 s
// 5xx window and a 20 s tenant outage.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClusterWithPool } from '../nodes/support.js';
import { scaled, sleep } from '../support/time.js';
import { casesFor, liveNodes, phaseReasonIs, runningWith, runScenario, windowMs } from './scenario.js';
import { HARBORMASTER_SEED_USER, startChaosWorld, type ChaosWorld } from './world.js';

type SeedFault = '5xx' | 'slow';
const SEED_FAULTS = casesFor<SeedFault>(['5xx', 'slow'], '5xx');
const SEED_WINDOW_MS = windowMs(10_000, 60_000);
/** Each request held this long: slow enough that every step takes many times its usual time. */
const SEED_LATENCY_MS = 2_000;
const TENANT_OUTAGE_MS = windowMs(20_000, 120_000);
const NODES = 2;

describe('chaos: seed and tenant API outages', () => {
  let world: ChaosWorld;
  let kept = '';

  beforeAll(async () => {
    world = await startChaosWorld();
  }, scaled(180_000));

  afterAll(async () => {
    await world?.stop();
  }, scaled(120_000));

  for (const fault of SEED_FAULTS) {
    it(
      `provisions a cluster through a seed answering ${fault} for ${SEED_WINDOW_MS / 1000} s`,
      async () => {
        let clusterId = '';
        const faultedBefore = world.processSeed.kubesim.faults.faultedRequests;
        await runScenario(world, {
          name: `seed-${fault}/provisioning`,
          act: async () => {
            const created = await createClusterWithPool(world, 'aws', NODES, `seed-${fault}`);
            clusterId = created.cluster.id;
            kept ||= clusterId;
            return [clusterId];
          },
          when: { what: 'the etcd step', reached: () => phaseReasonIs(world, clusterId, 'WaitingForEtcd') },
          fault: async () => {
            const scope = { users: [HARBORMASTER_SEED_USER] };
            if (fault === '5xx') world.processSeed.kubesim.faults.failFor(SEED_WINDOW_MS, 503, scope);
            else world.processSeed.kubesim.faults.delayFor(SEED_WINDOW_MS, SEED_LATENCY_MS, scope);
            await sleep(SEED_WINDOW_MS);
          },
          converged: () => runningWith(world, clusterId, NODES),
          convergeWithinMs: 180_000,
        });
        // The window really met Harbormaster's requests.
        expect(world.processSeed.kubesim.faults.faultedRequests).toBeGreaterThan(faultedBefore);
      },
      scaled(600_000),
    );
  }

  it(
    `keeps every node through a tenant API outage of ${TENANT_OUTAGE_MS / 1000} s`,
    async () => {
      const clusterId = kept;
      const before = (await liveNodes(world, clusterId)).map((node) => node.id).sort();
      expect(before).toHaveLength(NODES);
      const namespace = `cluster-${clusterId}`;
      const apiservers = () => world.processSeed.kubelet.pods().filter((pod) => pod.namespace === namespace && pod.ownerName === 'kube-apiserver');
      const signal = (name: NodeJS.Signals) => {
        for (const pod of apiservers()) world.processSeed.kubelet.signalContainer(namespace, pod.name, 'kube-apiserver', name);
      };
      await runScenario(world, {
        name: 'tenant-unreachable/running',
        act: () => Promise.resolve([clusterId]),
        fault: async () => {
          expect(apiservers().length).toBeGreaterThan(0);
          // Stopped, not killed: connections are accepted and never answered. A replica the
          // kubelet restarts meanwhile (failed liveness) is stopped again at once.
          const until = Date.now() + TENANT_OUTAGE_MS;
          while (Date.now() < until) {
            signal('SIGSTOP');
            await sleep(250);
          }
          signal('SIGCONT');
        },
        converged: () => runningWith(world, clusterId, NODES),
        convergeWithinMs: 180_000,
      });
      // Not one node replaced: the same rows, all Ready.
      expect((await liveNodes(world, clusterId)).map((node) => node.id).sort()).toEqual(before);
    },
    scaled(600_000),
  );
});
