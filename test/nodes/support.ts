// A world for worker-node tests: a process seed (tenant control planes run as real processes),
// the EC2 and DigitalOcean simulators with the test credentials' accounts, a node fleet that
// boots every running instance's user data as a node simulator (and stops it when the instance
// is gone), and the built Harbormaster process pointed at the simulators. Helpers drive it
// through the HTTP API and read the tenant through the kubeconfig the API hands out.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, type V1Node } from '@kubernetes/client-node';
import { startDigitalOceanSimulator, type DigitalOceanSimulator } from '../../services/sandbox/src/clouds/digitalocean/index.js';
import { startEc2Simulator, type Ec2Simulator } from '../../services/sandbox/src/clouds/ec2/index.js';
import { createNodeFleet, type FleetNodeOptions, type NodeFleet } from '../../services/sandbox/src/nodes/index.js';
import { awsCredential, doCredential, sshPublicKey } from '../support/fixtures.js';
import { TestServer } from '../support/server.js';
import { eventually, scaledSeconds } from '../support/time.js';
import { startProcessSeed, type ProcessSeed } from '../control-plane/support.js';
import { ensureBuilt } from '../support/build.js';

export type Provider = 'aws' | 'digitalocean';
export const PROVIDERS: readonly Provider[] = ['aws', 'digitalocean'];

export interface Cluster {
  id: string;
  name: string;
  version: string;
  phase: string;
  phaseReason: string;
  endpoint: string | null;
}
export interface Pool {
  id: string;
  name: string;
  replicas: number;
  provider: Provider;
}
export interface PoolNode {
  id: string;
  name: string;
  cloudId: string | null;
  phase: string;
  phaseReason: string;
  createdAt: string;
}
export interface Operation {
  id: string;
  kind: string;
  status: string;
  progress: Record<string, number>;
  message: string;
}
export interface ClusterEvent {
  id: number;
  type: string;
  reason: string;
  message: string;
}

/** One cloud machine as the simulator sees it, whatever the provider. */
export interface SimulatedMachine {
  id: string;
  nodeId: string | undefined;
  clusterId: string | undefined;
  poolId: string | undefined;
  /** Gone for good (EC2 terminated, DigitalOcean destroyed). */
  terminated: boolean;
  state: string;
}

/** The seed a node world registers: kubesim with a process kubelet, or a real one (test/control-plane/real-seed.ts). */
export interface WorldSeed {
  /** The kubeconfig the seed is registered with. */
  kubeconfig: string;
  stop(): Promise<void>;
}

export interface NodeWorld {
  seed: WorldSeed;
  ec2: Ec2Simulator;
  digitalocean: DigitalOceanSimulator;
  fleet: NodeFleet;
  server: TestServer;
  projectId: string;
  credentials: Record<Provider, string>;
  stop(): Promise<void>;
}

export interface NodeWorldOptions {
  /** Extra environment for the Harbormaster process (e.g. shorter health intervals). */
  env?: Record<string, string>;
  fleet?: FleetNodeOptions;
  cloudTiming?: { bootMs?: number; shutdownMs?: number };
  /** Starts the seed; by default a kubesim seed with a process kubelet. */
  seed?: () => Promise<WorldSeed>;
  /** Starts Harbormaster with the world's environment; by default the all-in-one process over PGlite. */
  startServer?: (env: Record<string, string>) => Promise<TestServer>;
}

async function processWorldSeed(): Promise<WorldSeed> {
  const seed: ProcessSeed = await startProcessSeed({ pods: true });
  return { kubeconfig: seed.kubesim.adminKubeconfig, stop: () => seed.stop() };
}

const AWS = awsCredential();
const DIGITALOCEAN = doCredential();
/** The fleet keys nodes by instance id; droplets get a prefix so their numeric ids read as what they are. */
const dropletKey = (id: number | string) => `droplet-${id}`;

/** The fleet's key for a machine's node simulator. */
export const fleetKey = (provider: Provider, machine: SimulatedMachine): string => (provider === 'aws' ? machine.id : dropletKey(machine.id));

function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export async function startNodeWorld(options: NodeWorldOptions = {}): Promise<NodeWorld> {
  ensureBuilt();
  const fleetRoot = mkdtempSync(join(tmpdir(), 'hm-fleet-'));
  // Every node's sshd listens on the same port of its own loopback address, as real machines all
  // use 22, so the health checker's SSH probe (HM_NODE_SSH_PORT) reaches each. Not 22 itself: test
  // files run in parallel and their simulators hand out the same addresses.
  const sshPort = await freeLoopbackPort();
  const fleet = createNodeFleet(fleetRoot, {
    leaseRenewIntervalMs: 2_000,
    discoveryTimeoutMs: 120_000,
    certificateTimeoutMs: 120_000,
    sshPort,
    ...options.fleet,
  });
  const timing = { bootMs: 1_000, shutdownMs: 1_000, ...options.cloudTiming };
  const seed = await (options.seed ?? processWorldSeed)();
  const ec2 = await startEc2Simulator({
    accounts: [{ accessKeyId: AWS.accessKeyId, secretAccessKey: AWS.secretAccessKey }],
    timing,
    onInstanceRunning: async (instance, userData) => {
      await fleet.boot(instance.instanceId, instance.privateIp, userData);
    },
    onInstanceTerminated: (instance) => fleet.terminate(instance.instanceId),
  });
  const digitalocean = await startDigitalOceanSimulator({
    accounts: [{ name: 'nodes-test', tokens: [DIGITALOCEAN.token] }],
    // Destroyed droplets stay listed in the simulator (not through the API) so the test can count them.
    timing: { ...timing, archiveRetentionMs: 60 * 60_000 },
    onInstanceRunning: async (droplet, userData) => {
      await fleet.boot(dropletKey(droplet.id), droplet.privateIp, userData);
    },
    onInstanceTerminated: (droplet) => fleet.terminate(dropletKey(droplet.id)),
  });
  const startServer = options.startServer ?? ((env: Record<string, string>) => TestServer.start({ backend: 'pglite', env }));
  const server = await startServer({
    HM_AWS_ENDPOINT: ec2.url,
    HM_DIGITALOCEAN_ENDPOINT: digitalocean.url,
    HM_CLUSTER_HEALTH_INTERVAL_SECONDS: '2',
    HM_RESYNC_INTERVAL_SECONDS: '5',
    HM_NODE_HEALTH_INTERVAL_SECONDS: '2',
    // The product's own timeout, set on purpose: a probe of a live node under load answers late, not never.
    HM_NODE_SSH_TIMEOUT_SECONDS: String(scaledSeconds(5)),
    HM_NODE_SSH_PORT: String(sshPort),
    HM_CLOUD_RATE_LIMIT_PER_SECOND: '50',
    ...options.env,
  });
  const registered = await server.request('POST', '/api/v1/seeds', { body: { name: 'node-seed', kubeconfig: seed.kubeconfig, maxClusters: 5 } });
  if (registered.status !== 201) throw new Error(`seed registration failed: ${registered.text}`);
  const project = await server.request<{ id: string }>('POST', '/api/v1/projects', { body: { name: 'nodes' } });
  if (project.status !== 201) throw new Error(`project create failed: ${project.text}`);
  const projectId = project.body.id;
  const credentials = {} as Record<Provider, string>;
  for (const [provider, body] of [
    ['aws', AWS],
    ['digitalocean', DIGITALOCEAN],
  ] as const) {
    const created = await server.request<{ id: string }>('POST', `/api/v1/projects/${projectId}/credentials`, { body });
    if (created.status !== 201) throw new Error(`credential create failed: ${created.text}`);
    credentials[provider] = created.body.id;
  }
  return {
    seed,
    ec2,
    digitalocean,
    fleet,
    server,
    projectId,
    credentials,
    async stop() {
      await server.destroy();
      await fleet.stopAll();
      await ec2.close();
      await digitalocean.close();
      await seed.stop();
      if (!process.env.HM_TEST_KEEP_STATE) rmSync(fleetRoot, { recursive: true, force: true });
    },
  };
}

/** A valid pool for the provider's simulator (its regions, sizes and image formats). */
export function poolBody(world: NodeWorld, provider: Provider, replicas: number, name = 'workers'): Record<string, unknown> {
  const placement =
    provider === 'aws'
      ? { region: AWS.region, size: 't3.medium', image: 'ami-0123456789abcdef0' }
      : { region: 'fra1', size: 's-2vcpu-4gb', image: 'ubuntu-24-04-x64' };
  return {
    name,
    credentialId: world.credentials[provider],
    replicas,
    sshPublicKeys: [sshPublicKey()],
    labels: { 'harbormaster.dev/pool': name },
    ...placement,
  };
}

export async function createClusterWithPool(
  world: NodeWorld,
  provider: Provider,
  replicas: number,
  name: string,
  /** More create-cluster fields, e.g. `{ cni: 'flannel', addons: { metricsServer: true } }`. */
  extra: Record<string, unknown> = {},
): Promise<{ cluster: Cluster; pool: Pool }> {
  const created = await world.server.request<Cluster>('POST', `/api/v1/projects/${world.projectId}/clusters`, {
    body: { name, etcdReplicas: 1, nodePool: poolBody(world, provider, replicas), ...extra },
  });
  if (created.status !== 201) throw new Error(`cluster create failed: ${created.text}`);
  const pools = await world.server.request<{ items: Pool[] }>('GET', `/api/v1/projects/${world.projectId}/clusters/${created.body.id}/nodepools`);
  return { cluster: created.body, pool: pools.body.items[0] };
}

export const clusterPath = (world: NodeWorld, clusterId: string) => `/api/v1/projects/${world.projectId}/clusters/${clusterId}`;
export const poolPath = (world: NodeWorld, clusterId: string, poolId: string) => `${clusterPath(world, clusterId)}/nodepools/${poolId}`;

export function waitForCluster(world: NodeWorld, clusterId: string, phase: string, timeoutMs = 180_000): Promise<Cluster> {
  return eventually(
    async () => {
      const cluster = (await world.server.request<Cluster>('GET', clusterPath(world, clusterId))).body;
      return cluster.phase === phase ? cluster : undefined;
    },
    `cluster ${clusterId} to be ${phase}`,
    timeoutMs,
    500,
  );
}

export async function scalePool(world: NodeWorld, clusterId: string, poolId: string, replicas: number): Promise<Operation> {
  const response = await world.server.request<Operation>('PATCH', poolPath(world, clusterId, poolId), { body: { replicas } });
  if (response.status !== 202) throw new Error(`scale failed: ${response.text}`);
  return response.body;
}

export async function getOperation(world: NodeWorld, operationId: string): Promise<Operation> {
  return (await world.server.request<Operation>('GET', `/api/v1/projects/${world.projectId}/operations/${operationId}`)).body;
}

export async function waitForOperation(world: NodeWorld, operationId: string, status: string, timeoutMs = 180_000): Promise<Operation> {
  // A failed operation ends the wait at once (eventually retries a probe that throws).
  const operation = await eventually(
    async () => {
      const current = await getOperation(world, operationId);
      return current.status === status || current.status === 'failed' ? current : undefined;
    },
    `operation ${operationId} to be ${status}`,
    timeoutMs,
    500,
  );
  if (operation.status !== status) throw new Error(`operation ${operationId} failed: ${operation.message}`);
  return operation;
}

export async function poolNodes(world: NodeWorld, clusterId: string, poolId: string): Promise<PoolNode[]> {
  return (await world.server.request<{ items: PoolNode[] }>('GET', `${poolPath(world, clusterId, poolId)}/nodes`)).body.items;
}

/** The whole timeline: the API answers a page at a time (`after` = the last id seen). */
export async function clusterEvents(world: NodeWorld, clusterId: string): Promise<ClusterEvent[]> {
  const events: ClusterEvent[] = [];
  for (;;) {
    const after = events.length > 0 ? `?after=${events[events.length - 1].id}` : '';
    const page = (await world.server.request<{ items: ClusterEvent[] }>('GET', `${clusterPath(world, clusterId)}/events${after}`)).body.items;
    if (page.length === 0) return events;
    events.push(...page);
  }
}

/** The admin kubeconfig the API serves, loaded for @kubernetes/client-node. */
export async function tenantConfig(world: NodeWorld, clusterId: string): Promise<KubeConfig> {
  const response = await world.server.request<string>('GET', `${clusterPath(world, clusterId)}/kubeconfig`);
  if (response.status !== 200) throw new Error(`kubeconfig download failed: ${response.text}`);
  const config = new KubeConfig();
  config.loadFromString(response.text);
  return config;
}

export async function tenantApi(world: NodeWorld, clusterId: string): Promise<CoreV1Api> {
  return (await tenantConfig(world, clusterId)).makeApiClient(CoreV1Api);
}

export const isNodeReady = (node: V1Node): boolean =>
  node.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True') ?? false;

export async function readyTenantNodes(core: CoreV1Api): Promise<string[]> {
  return (await core.listNode()).items
    .filter(isNodeReady)
    .map((node) => node.metadata!.name!)
    .sort();
}

/** The simulator's view of a cluster's machines (optionally one pool), terminated ones included. */
export function machines(world: NodeWorld, provider: Provider, filter: { clusterId: string; poolId?: string }): SimulatedMachine[] {
  const all: SimulatedMachine[] =
    provider === 'aws'
      ? world.ec2.instances().map((instance) => ({
          id: instance.instanceId,
          nodeId: instance.tags['harbormaster.io/node-id'],
          clusterId: instance.tags['harbormaster.io/cluster-id'],
          poolId: instance.tags['harbormaster.io/pool-id'],
          terminated: instance.state === 'terminated',
          state: instance.state,
        }))
      : world.digitalocean.instances().map((droplet) => {
          const tagged = (prefix: string) => droplet.tags.find((tag) => tag.startsWith(prefix))?.slice(prefix.length);
          return {
            id: String(droplet.id),
            nodeId: tagged('hm-node:'),
            clusterId: tagged('hm-cluster:'),
            poolId: tagged('hm-pool:'),
            terminated: droplet.deleted && droplet.status === 'archive',
            state: droplet.deleted ? `deleted/${droplet.status}` : droplet.status,
          };
        });
  return all.filter((machine) => machine.clusterId === filter.clusterId && (!filter.poolId || machine.poolId === filter.poolId));
}
