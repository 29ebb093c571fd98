// Node health and auto-repair end to end on each cloud simulator, through the HTTP API: the
// health checker reads Node Ready and the Lease from the tenant and logs in over SSH to each
// node (a real sshd on the node's own address); a node whose sshd stops or whose machine dies
// is reported Unhealthy and, once its unhealthy timeout passes, replaced (the new node first,
// then the old one removed and its machine terminated); with two of three nodes down the
// remediation short-circuits and the pool says so instead.
//
// The pool uses the API's minimum unhealthy timeout (10 s); the check interval comes from the
// server environment (2 s, see support.ts). Nothing lowers a limit the public API enforces.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintOfPublicKey } from '../../services/worker/src/nodes/ssh-prober.js';
import { eventually, scaled } from '../support/time.js';
import {
  clusterEvents,
  clusterPath,
  fleetKey,
  machines,
  poolBody,
  poolNodes,
  poolPath,
  PROVIDERS,
  readyTenantNodes,
  startNodeWorld,
  tenantApi,
  waitForCluster,
  type Cluster,
  type NodeWorld,
  type PoolNode,
  type Provider,
  type SimulatedMachine,
} from './support.js';

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  lastTransitionTime: string;
}
interface HealthNode extends PoolNode {
  conditions: Condition[];
  lastHeartbeatAt: string | null;
  sshProbe: { ok: boolean; at: string; message: string } | null;
  sshHostKeyFingerprint: string | null;
  unhealthySince: string | null;
}
interface HealthPool {
  id: string;
  conditions: Condition[];
  healthCheck: { startupTimeoutSeconds: number; unhealthyTimeoutSeconds: number; maxUnhealthyPercent: number };
}

const HEALTH_CHECK = { startupTimeoutSeconds: 600, unhealthyTimeoutSeconds: 10, maxUnhealthyPercent: 40 };

const conditionOf = (conditions: readonly Condition[], type: string): Condition | undefined => conditions.find((condition) => condition.type === type);

let world: NodeWorld;

beforeAll(async () => {
  world = await startNodeWorld();
}, scaled(180_000));

afterAll(async () => {
  await world?.stop();
}, scaled(60_000));

describe.each(PROVIDERS)('node health and auto-repair on %s', (provider: Provider) => {
  let cluster: Cluster;
  let poolId: string;

  const nodes = async (): Promise<HealthNode[]> => (await poolNodes(world, cluster.id, poolId)) as HealthNode[];
  const pool = async (): Promise<HealthPool> => (await world.server.request<HealthPool>('GET', poolPath(world, cluster.id, poolId))).body;
  const machineOf = (node: PoolNode): SimulatedMachine => {
    const machine = machines(world, provider, { clusterId: cluster.id, poolId }).find((candidate) => candidate.nodeId === node.id);
    if (!machine) throw new Error(`no machine for node ${node.name}`);
    return machine;
  };
  const simulatorOf = (node: PoolNode) => {
    const simulator = world.fleet.get(fleetKey(provider, machineOf(node)));
    if (!simulator) throw new Error(`no node simulator for ${node.name}`);
    return simulator;
  };
  const threeReady = (what: string, without: readonly string[] = []) =>
    eventually(
      async () => {
        const rows = await nodes();
        return rows.length === 3 && rows.every((row) => row.phase === 'Ready' && !without.includes(row.id)) ? rows : undefined;
      },
      what,
      240_000,
      500,
    );

  /** Waits for the old node's replacement: a new Ready node, the old row gone, its machine terminated. */
  const expectReplaced = async (old: HealthNode, before: readonly HealthNode[]): Promise<HealthNode[]> => {
    const after = await threeReady(`node ${old.name} to be replaced by a new Ready node`, [old.id]);
    const newcomers = after.filter((row) => !before.some((previous) => previous.id === row.id));
    expect(newcomers).toHaveLength(1);
    expect(after.map((row) => row.id).sort()).toEqual([...before.filter((row) => row.id !== old.id), ...newcomers].map((row) => row.id).sort());
    await eventually(async () => machineOf(old).terminated, `the machine of ${old.name} to be terminated`, 60_000, 500);
    const tenant = await tenantApi(world, cluster.id);
    await eventually(
      async () => {
        const ready = await readyTenantNodes(tenant);
        return JSON.stringify(ready) === JSON.stringify(after.map((row) => row.name).sort());
      },
      'the tenant to list exactly the three Ready nodes',
      60_000,
      500,
    );
    const live = machines(world, provider, { clusterId: cluster.id, poolId }).filter((machine) => !machine.terminated);
    expect(live.map((machine) => machine.nodeId).sort()).toEqual(after.map((row) => row.id).sort());
    return after;
  };

  it(
    'creates a pool of 3 whose nodes all pass Ready, Lease and SSH checks, with host keys pinned',
    async () => {
      const created = await world.server.request<Cluster>('POST', `/api/v1/projects/${world.projectId}/clusters`, {
        body: {
          name: `repair-${provider === 'aws' ? 'aws' : 'do'}`,
          etcdReplicas: 1,
          nodePool: { ...poolBody(world, provider, 3), healthCheck: HEALTH_CHECK },
        },
      });
      expect(created.status).toBe(201);
      cluster = created.body;
      await waitForCluster(world, cluster.id, 'Running');
      const pools = await world.server.request<{ items: HealthPool[] }>('GET', `${clusterPath(world, cluster.id)}/nodepools`);
      poolId = pools.body.items[0].id;
      expect(pools.body.items[0].healthCheck).toEqual(HEALTH_CHECK);

      const healthy = await eventually(
        async () => {
          const rows = await nodes();
          const checked =
            rows.length === 3 &&
            rows.every(
              (row) => row.phase === 'Ready' && ['Ready', 'LeaseFresh', 'SshReachable'].every((type) => conditionOf(row.conditions, type)?.status === 'True'),
            );
          return checked ? rows : undefined;
        },
        'three Ready nodes passing every health check',
        240_000,
        500,
      );
      for (const row of healthy) {
        expect(row.sshProbe?.ok).toBe(true);
        expect(row.lastHeartbeatAt).not.toBeNull();
        expect(Date.now() - Date.parse(row.lastHeartbeatAt!)).toBeLessThan(40_000);
        // Pinned on first contact: the node's real sshd host key.
        expect(row.sshHostKeyFingerprint).toBe(fingerprintOfPublicKey(simulatorOf(row).ssh.hostPublicKey));
        expect(JSON.stringify(row)).not.toMatch(/PRIVATE KEY/);
      }
      const remediation = await eventually(
        async () => conditionOf((await pool()).conditions, 'RemediationAllowed'),
        'the pool to report RemediationAllowed',
        30_000,
        500,
      );
      expect(remediation).toMatchObject({ status: 'True', reason: 'WithinMaxUnhealthy' });
      expect(JSON.stringify(await pool())).not.toMatch(/PRIVATE KEY/);
    },
    scaled(480_000),
  );

  it(
    'stopping only sshd on a node reports it Unhealthy with SshReachable=False while its kubelet stays Ready, then replaces it',
    async () => {
      const before = await nodes();
      const victim = before[0];
      await simulatorOf(victim).stopSshd();
      const unhealthy = await eventually(
        async () => (await nodes()).find((row) => row.id === victim.id && row.phase === 'Unhealthy'),
        `${victim.name} to be reported Unhealthy`,
        90_000,
        250,
      );
      expect(conditionOf(unhealthy.conditions, 'SshReachable')).toMatchObject({ status: 'False', reason: 'SshProbeFailed' });
      expect(conditionOf(unhealthy.conditions, 'SshReachable')?.message).toContain('ECONNREFUSED');
      // Only SSH is down: the kubelet still heartbeats.
      expect(conditionOf(unhealthy.conditions, 'Ready')?.status).toBe('True');
      expect(conditionOf(unhealthy.conditions, 'LeaseFresh')?.status).toBe('True');
      expect(unhealthy.phaseReason).toBe('SshProbeFailed');
      expect(unhealthy.sshProbe?.ok).toBe(false);
      expect(unhealthy.unhealthySince).not.toBeNull();

      await expectReplaced(victim, before);
      const events = await clusterEvents(world, cluster.id);
      expect(events.find((event) => event.reason === 'NodeUnhealthy' && event.message.includes(victim.name))).toMatchObject({ type: 'Warning' });
      expect(events.find((event) => event.reason === 'NodeReplacing' && event.message.includes(victim.name))).toBeDefined();
    },
    scaled(420_000),
  );

  it(
    'killing a node simulator gets the node reported Unhealthy and replaced: new node first, old machine terminated, 3 Ready again',
    async () => {
      const before = await nodes();
      const victim = before[before.length - 1];
      await world.fleet.kill(fleetKey(provider, machineOf(victim)));
      const unhealthy = await eventually(
        async () => (await nodes()).find((row) => row.id === victim.id && row.phase !== 'Ready'),
        `${victim.name} to leave Ready`,
        90_000,
        250,
      );
      expect(['Unhealthy', 'Replacing']).toContain(unhealthy.phase);
      expect(conditionOf(unhealthy.conditions, 'SshReachable')?.status).toBe('False');

      // New first: while the old node waits for its replacement it is Replacing, not gone.
      const replacing = await eventually(
        async () => (await nodes()).find((row) => row.id === victim.id && row.phase === 'Replacing'),
        `${victim.name} to be Replacing`,
        60_000,
        250,
      );
      expect(replacing.phase).toBe('Replacing');
      await expectReplaced(victim, before);
      const events = await clusterEvents(world, cluster.id);
      expect(events.find((event) => event.reason === 'NodeReplacing' && event.message.includes(victim.name))).toBeDefined();
      expect(events.filter((event) => event.reason === 'RemediationShortCircuited')).toEqual([]);
    },
    scaled(420_000),
  );

  it(
    'with 2 of 3 nodes dead (maxUnhealthyPercent 40) nothing is replaced and the pool reports RemediationAllowed=False',
    async () => {
      const before = await nodes();
      const machineCount = machines(world, provider, { clusterId: cluster.id, poolId }).length;
      const victims = before.slice(0, 2);
      await Promise.all(victims.map((victim) => world.fleet.kill(fleetKey(provider, machineOf(victim)))));

      const blocked = await eventually(
        async () => {
          const condition = conditionOf((await pool()).conditions, 'RemediationAllowed');
          return condition?.status === 'False' ? condition : undefined;
        },
        'the pool to short-circuit remediation',
        90_000,
        250,
      );
      expect(blocked.reason).toBe('TooManyUnhealthy');
      expect(blocked.message).toContain('2 of 3 node(s) unhealthy; at most 1 (40%)');
      const rows = await nodes();
      expect(rows.filter((row) => victims.some((victim) => victim.id === row.id)).map((row) => row.phase)).toEqual(['Unhealthy', 'Unhealthy']);

      // Well past the unhealthy timeout (10 s) and several check rounds (2 s): still nothing replaced.
      await new Promise((resolve) => setTimeout(resolve, 20_000));
      const later = await nodes();
      expect(later.map((row) => row.id).sort()).toEqual(before.map((row) => row.id).sort());
      expect(later.filter((row) => row.phase === 'Replacing')).toEqual([]);
      expect(
        later
          .filter((row) => row.phase === 'Unhealthy')
          .map((row) => row.id)
          .sort(),
      ).toEqual(victims.map((victim) => victim.id).sort());
      expect(machines(world, provider, { clusterId: cluster.id, poolId })).toHaveLength(machineCount);
      expect(conditionOf((await pool()).conditions, 'RemediationAllowed')?.status).toBe('False');
      const events = await clusterEvents(world, cluster.id);
      expect(events.filter((event) => event.reason === 'RemediationShortCircuited')).toHaveLength(1);
      expect(events.find((event) => event.reason === 'RemediationShortCircuited')).toMatchObject({ type: 'Warning' });
    },
    scaled(300_000),
  );

  it(
    'deletes the cluster',
    async () => {
      const deleted = await world.server.request('DELETE', clusterPath(world, cluster.id));
      expect(deleted.status).toBe(202);
      await eventually(async () => (await world.server.request('GET', clusterPath(world, cluster.id))).status === 404, 'the cluster to be gone', 180_000, 500);
    },
    scaled(240_000),
  );
});
