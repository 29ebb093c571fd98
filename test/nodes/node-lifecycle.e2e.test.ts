// Node lifecycle end to end, through the HTTP API, on one cluster with a pool on each cloud:
// - an AWS pool created with the cluster and no image gets the default alias (`ubuntu-24.04`),
//   which the EC2 driver resolves through DescribeImages to the newest Canonical noble AMI of
//   the credential's region;
// - an EC2 machine terminated behind Harbormaster's back: its node goes away (Node deleted from
//   the tenant), a new node takes its place and becomes Ready, and nothing is left orphaned. The
//   pool keeps the default health check (unhealthy timeout 5 min, maxUnhealthy 40%, which one of
//   two nodes already exceeds): a terminated machine is a fact, not a suspicion, so neither applies;
// - `DELETE …/nodes/{n}` on the DigitalOcean pool replaces a node: the replacement joins first,
//   then the old node is cordoned, drained, deleted and its machine destroyed.
//
// The health interval is 2 s and the resync 5 s (support.ts).
import { PolicyV1Api, type CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CANONICAL_OWNER_ID } from '../../services/sandbox/src/clouds/ec2/index.js';
import { awsCredential, sshPublicKey } from '../support/fixtures.js';
import { eventually, scaled } from '../support/time.js';
import {
  clusterEvents,
  clusterPath,
  fleetKey,
  getOperation,
  machines,
  poolBody,
  poolNodes,
  poolPath,
  readyTenantNodes,
  startNodeWorld,
  tenantApi,
  tenantConfig,
  waitForCluster,
  waitForOperation,
  type Cluster,
  type ClusterEvent,
  type NodeWorld,
  type Operation,
  type PoolNode,
  type Provider,
  type SimulatedMachine,
} from './support.js';

const AWS_REGION = awsCredential().region;
const NOBLE_AMD64 = 'ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-';

let world: NodeWorld;
let cluster: Cluster;
let tenant: CoreV1Api;
const pools: Record<Provider, string> = { aws: '', digitalocean: '' };

const nodesOf = (provider: Provider): Promise<PoolNode[]> => poolNodes(world, cluster.id, pools[provider]);
const machinesOf = (provider: Provider): SimulatedMachine[] => machines(world, provider, { clusterId: cluster.id, poolId: pools[provider] });
const machineOf = (provider: Provider, node: PoolNode): SimulatedMachine => {
  const machine = machinesOf(provider).find((candidate) => candidate.nodeId === node.id);
  if (!machine) throw new Error(`no machine for node ${node.name}`);
  return machine;
};
const allReady = (provider: Provider, count: number, what: string, without: readonly string[] = []) =>
  eventually(
    async () => {
      const rows = await nodesOf(provider);
      return rows.length === count && rows.every((row) => row.phase === 'Ready' && !without.includes(row.id)) ? rows : undefined;
    },
    what,
    240_000,
    500,
  );
const tenantNodeGone = (name: string) =>
  eventually(
    async () => {
      try {
        await tenant.readNode({ name });
        return undefined;
      } catch (error) {
        return (error as { code?: number }).code === 404 ? true : undefined;
      }
    },
    `Node ${name} to be deleted from the tenant`,
    60_000,
    500,
  );

/** The AMI the default image must resolve to, computed from the simulator's catalog. */
function newestNobleAmd64(region: string): string {
  const candidates = world.ec2
    .images(region)
    .filter(
      (image) => image.ownerId === CANONICAL_OWNER_ID && image.name.startsWith(NOBLE_AMD64) && image.state === 'available' && image.architecture === 'x86_64',
    )
    .sort((a, b) => Date.parse(b.creationDate) - Date.parse(a.creationDate));
  if (!candidates[0]) throw new Error(`no noble amd64 image in ${region}`);
  return candidates[0].imageId;
}

const eventIndex = (events: ClusterEvent[], reason: string, text: string): number =>
  events.findIndex((event) => event.reason === reason && event.message.includes(text));

beforeAll(async () => {
  world = await startNodeWorld();
}, scaled(180_000));

afterAll(async () => {
  await world?.stop();
}, scaled(60_000));

describe('node lifecycle', () => {
  it(
    'creates a cluster whose AWS pool, given no image, boots the newest Canonical noble AMI of the region, and adds a DigitalOcean pool',
    async () => {
      const created = await world.server.request<Cluster>('POST', `/api/v1/projects/${world.projectId}/clusters`, {
        body: {
          name: 'lifecycle',
          etcdReplicas: 1,
          nodePool: {
            name: 'ec2',
            credentialId: world.credentials.aws,
            replicas: 2,
            region: AWS_REGION,
            size: 't3.medium',
            sshPublicKeys: [sshPublicKey()],
          },
        },
      });
      expect(created.status).toBe(201);
      cluster = created.body;
      const listed = await world.server.request<{ items: Array<{ id: string; image: string; provider: Provider }> }>(
        'GET',
        `${clusterPath(world, cluster.id)}/nodepools`,
      );
      expect(listed.body.items).toHaveLength(1);
      expect(listed.body.items[0]).toMatchObject({ provider: 'aws', image: 'ubuntu-24.04' });
      pools.aws = listed.body.items[0].id;

      await waitForCluster(world, cluster.id, 'Running');
      tenant = await tenantApi(world, cluster.id);
      const ready = await allReady('aws', 2, 'two Ready nodes in the AWS pool');
      const expectedAmi = newestNobleAmd64(AWS_REGION);
      const launched = world.ec2.instances().filter((instance) => instance.tags['harbormaster.io/pool-id'] === pools.aws);
      expect(launched).toHaveLength(2);
      expect(launched.map((instance) => instance.imageId)).toEqual([expectedAmi, expectedAmi]);
      expect(launched.map((instance) => instance.region)).toEqual([AWS_REGION, AWS_REGION]);
      expect(world.ec2.requests().filter((request) => request.operation === 'DescribeImages' && request.status === 200).length).toBeGreaterThanOrEqual(1);
      expect(await readyTenantNodes(tenant)).toEqual(ready.map((node) => node.name).sort());

      const droplets = await world.server.request<{ id: string }>('POST', `${clusterPath(world, cluster.id)}/nodepools`, {
        body: poolBody(world, 'digitalocean', 1, 'droplets'),
      });
      expect(droplets.status).toBe(201);
      pools.digitalocean = droplets.body.id;
      await allReady('digitalocean', 1, 'one Ready node in the DigitalOcean pool');
    },
    scaled(480_000),
  );

  it(
    'replaces a node whose EC2 machine was terminated behind its back: the Node goes, a new node becomes Ready, no orphans',
    async () => {
      const before = await nodesOf('aws');
      const [victim, survivor] = [before[0], before[1]];
      const victimMachine = machineOf('aws', victim);
      world.ec2.killInstance(victimMachine.id, 'terminated');

      const after = await allReady('aws', 2, `a new Ready node in place of ${victim.name}`, [victim.id]);
      const newcomer = after.find((row) => row.id !== survivor.id)!;
      expect(after.map((row) => row.id).sort()).toEqual([survivor.id, newcomer.id].sort());
      expect(before.some((row) => row.id === newcomer.id)).toBe(false);
      await tenantNodeGone(victim.name);
      // Node names carry their pool's name; the droplet pool's node is in the tenant too.
      await eventually(
        async () => {
          const names = (await readyTenantNodes(tenant)).filter((name) => name.startsWith('ec2-'));
          return JSON.stringify(names) === JSON.stringify(after.map((row) => row.name).sort());
        },
        'the tenant to list exactly the two Ready AWS nodes',
        60_000,
        500,
      );

      // The machine stays terminated (not revived), the survivor kept its machine, the newcomer got
      // a fresh one from the same resolved image, and every live machine belongs to a live node.
      expect(machineOf('aws', victim)).toMatchObject({ id: victimMachine.id, terminated: true });
      expect(machineOf('aws', survivor).terminated).toBe(false);
      const fresh = world.ec2.instances().find((instance) => instance.tags['harbormaster.io/node-id'] === newcomer.id);
      expect(fresh?.imageId).toBe(newestNobleAmd64(AWS_REGION));
      const live = machinesOf('aws').filter((machine) => !machine.terminated);
      expect(live.map((machine) => machine.nodeId).sort()).toEqual(after.map((row) => row.id).sort());
      expect(world.fleet.instanceIds()).not.toContain(fleetKey('aws', victimMachine));

      const events = await clusterEvents(world, cluster.id);
      const lost = events.find((event) => event.reason === 'NodeMachineLost' && event.message.includes(victim.name));
      expect(lost).toMatchObject({ type: 'Warning' });
      expect(lost?.message).toContain(victimMachine.id);
      expect(eventIndex(events, 'NodeRemoved', victim.name)).toBeGreaterThan(-1);
      expect(events.filter((event) => event.reason === 'OrphanedMachinesTerminated')).toEqual([]);
      // Replaced for its machine, well before the 5-minute unhealthy timeout could have fired.
      expect(events.filter((event) => event.reason === 'NodeReplacing')).toEqual([]);
    },
    scaled(420_000),
  );

  it(
    'replaces a DigitalOcean node on request: the replacement joins first, then the old node is cordoned, drained, deleted and destroyed',
    async () => {
      const [old] = await nodesOf('digitalocean');
      expect(old?.phase).toBe('Ready');
      const oldMachine = machineOf('digitalocean', old);

      // A pod on the old node whose budget forbids any disruption holds the drain, so the test can
      // look at the moment the removal has begun.
      const policy = (await tenantConfig(world, cluster.id)).makeApiClient(PolicyV1Api);
      const pod = await tenant.createNamespacedPod({
        namespace: 'default',
        body: {
          metadata: { name: 'pinned', labels: { app: 'pinned' } },
          spec: { nodeName: old.name, terminationGracePeriodSeconds: 0, containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }] },
        },
      });
      await tenant.replaceNamespacedPodStatus({
        name: 'pinned',
        namespace: 'default',
        body: { ...pod, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } },
      });
      await policy.createNamespacedPodDisruptionBudget({
        namespace: 'default',
        body: { metadata: { name: 'pinned' }, spec: { minAvailable: 1, selector: { matchLabels: { app: 'pinned' } } } },
      });

      const replace = await world.server.request<Operation>('DELETE', `${poolPath(world, cluster.id, pools.digitalocean)}/nodes/${old.id}`);
      expect(replace.status).toBe(202);
      expect(replace.body).toMatchObject({ kind: 'replace-node' });
      expect(['pending', 'running']).toContain(replace.body.status);
      const again = await world.server.request<{ code: string }>('DELETE', `${poolPath(world, cluster.id, pools.digitalocean)}/nodes/${old.id}`);
      expect(again.status).toBe(409);
      expect(again.body.code).toBe('node_already_leaving');

      // Until the replacement is Ready the old node stays, marked Replacing, still schedulable.
      const snapshots: PoolNode[][] = [];
      const blocked = await eventually(
        async () => {
          snapshots.push(await nodesOf('digitalocean'));
          return (await clusterEvents(world, cluster.id)).find((event) => event.reason === 'NodeDrainBlocked' && event.message.includes(old.name));
        },
        `the drain of ${old.name} to be held by the budget`,
        240_000,
        250,
      );
      expect(blocked.type).toBe('Warning');
      for (const rows of snapshots) {
        const oldRow = rows.find((row) => row.id === old.id);
        const replacementReady = rows.some((row) => row.id !== old.id && row.phase === 'Ready');
        if (!replacementReady) expect(oldRow?.phase).toBe('Replacing');
      }
      expect(snapshots.some((rows) => rows.find((row) => row.id === old.id)?.phase === 'Replacing')).toBe(true);

      // The removal has begun: the replacement is Ready and in the tenant, the old Node is cordoned.
      const during = await nodesOf('digitalocean');
      const replacement = during.find((row) => row.id !== old.id);
      expect(replacement?.phase).toBe('Ready');
      expect(during.find((row) => row.id === old.id)?.phase).toBe('Deleting');
      expect(await readyTenantNodes(tenant)).toContain(replacement!.name);
      expect((await tenant.readNode({ name: old.name })).spec?.unschedulable).toBe(true);
      expect((await getOperation(world, replace.body.id)).status).toBe('running');
      expect(machineOf('digitalocean', old).terminated).toBe(false);

      await policy.deleteNamespacedPodDisruptionBudget({ name: 'pinned', namespace: 'default' });
      const done = await waitForOperation(world, replace.body.id, 'succeeded');
      expect(done.message).toContain(old.name);
      await expect(tenant.readNamespacedPod({ name: 'pinned', namespace: 'default' })).rejects.toMatchObject({ code: 404 });
      await tenantNodeGone(old.name);
      const after = await nodesOf('digitalocean');
      expect(after.map((row) => [row.id, row.phase])).toEqual([[replacement!.id, 'Ready']]);
      await eventually(async () => machineOf('digitalocean', old).terminated, `the droplet of ${old.name} to be destroyed`, 60_000, 500);
      const live = machinesOf('digitalocean').filter((machine) => !machine.terminated);
      expect(live.map((machine) => machine.nodeId)).toEqual([replacement!.id]);
      expect(world.fleet.instanceIds()).not.toContain(fleetKey('digitalocean', oldMachine));

      // The timeline: requested, the new node provisioned and joined, and only then the old one removed.
      const events = await clusterEvents(world, cluster.id);
      const requested = eventIndex(events, 'NodeReplacementRequested', old.name);
      const provisioning = eventIndex(events, 'NodeProvisioning', replacement!.name);
      const joined = eventIndex(events, 'NodeJoined', replacement!.name);
      const removing = eventIndex(events, 'NodeRemoving', old.name);
      const removed = eventIndex(events, 'NodeRemoved', old.name);
      expect(requested).toBeGreaterThan(-1);
      expect(
        [requested, provisioning, joined, removing, removed].every((index, position, all) => index > -1 && (position === 0 || index > all[position - 1])),
      ).toBe(true);
    },
    scaled(420_000),
  );

  it(
    'deletes the cluster: every machine of both pools ends terminated',
    async () => {
      const deleted = await world.server.request<{ id: string }>('DELETE', clusterPath(world, cluster.id));
      expect(deleted.status).toBe(202);
      await eventually(async () => (await world.server.request('GET', clusterPath(world, cluster.id))).status === 404, 'the cluster to be gone', 180_000, 500);
      for (const provider of ['aws', 'digitalocean'] as const) {
        await eventually(
          async () => {
            const seen = machines(world, provider, { clusterId: cluster.id });
            return seen.length > 0 && seen.every((machine) => machine.terminated);
          },
          `every ${provider} machine of the cluster to be terminated`,
          60_000,
          500,
        );
      }
    },
    scaled(300_000),
  );
});
