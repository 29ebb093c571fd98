// Crash safety of node provisioning: the worker runs as its own process (HM_ROLE=worker over
// PostgreSQL, as in production) and is killed with SIGKILL at random points while it provisions
// 50 machines on each cloud simulator, both injecting 5xx and throttling on 10% of requests each
// (plus a few lost responses: the create takes effect, the answer never arrives). After the last
// restart the world must converge to exactly 50 live machines per pool, every live machine owned
// by a live node row and every live row by one live machine, and never two machines for one node.
//
// The kill schedule and the simulators' fault dice come from one seeded generator; the seed is
// printed, and HM_CRASH_SEED=<seed> replays a run.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDigitalOceanSimulator, type DigitalOceanSimulator } from '../../services/sandbox/src/clouds/digitalocean/index.js';
import { startEc2Simulator, type Ec2Simulator } from '../../services/sandbox/src/clouds/ec2/index.js';
import { startProcessSeed, type ProcessSeed } from '../control-plane/support.js';
import { sshPublicKey } from '../support/fixtures.js';
import { ROOT, TestServer } from '../support/server.js';
import { eventually, scaled } from '../support/time.js';
import { ensureBuilt } from '../support/build.js';

type Provider = 'aws' | 'digitalocean';
const PROVIDERS: Provider[] = ['aws', 'digitalocean'];
const NODES_PER_POOL = 50;
const KILLS = 3;
const FAULT_PROBABILITY = 0.1;

const SEED = Number(process.env.HM_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));

/** mulberry32: small, seedable, good enough for dice. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Machine {
  id: string;
  nodeId: string | undefined;
  poolId: string | undefined;
  live: boolean;
}

interface NodeRow {
  id: string;
  pool_id: string;
  phase: string;
  cloud_id: string | null;
  deleted_at: Date | null;
}

const AWS_ACCOUNT = {
  accessKeyId: `AKIA${randomBytes(8).toString('hex').toUpperCase()}`,
  secretAccessKey: randomBytes(30).toString('base64'),
  region: 'us-east-1',
};
const DO_TOKEN = `dop_v1_${randomBytes(32).toString('hex')}`;

describe('node provisioning survives SIGKILL of the worker', () => {
  const random = seededRandom(SEED);
  let seed: ProcessSeed;
  let ec2: Ec2Simulator;
  let digitalOcean: DigitalOceanSimulator;
  let api: TestServer;
  let database: pg.Client;
  let worker: ChildProcess | undefined;
  let workerLog = '';
  const pools = {} as Record<Provider, { clusterId: string; poolId: string }>;
  const killLog: string[] = [];

  const machines = (provider: Provider): Machine[] =>
    provider === 'aws'
      ? ec2.instances().map((instance) => ({
          id: instance.instanceId,
          nodeId: instance.tags['harbormaster.io/node-id'],
          poolId: instance.tags['harbormaster.io/pool-id'],
          live: instance.state !== 'terminated' && instance.state !== 'shutting-down',
        }))
      : digitalOcean.instances().map((droplet) => {
          const tagged = (prefix: string) => droplet.tags.find((tag) => tag.startsWith(prefix))?.slice(prefix.length);
          return { id: String(droplet.id), nodeId: tagged('hm-node:'), poolId: tagged('hm-pool:'), live: !droplet.deleted };
        });

  const nodeRows = async (poolId: string): Promise<NodeRow[]> =>
    (await database.query<NodeRow>('select id, pool_id, phase, cloud_id, deleted_at from nodes where pool_id = $1', [poolId])).rows;

  async function startWorker(): Promise<void> {
    const marker = workerLog.length;
    const child = spawn(process.execPath, [join(ROOT, 'dist/services/worker/src/main.js')], {
      env: api.workerEnv({
        HM_SANDBOX: 'false',
        HM_AWS_ENDPOINT: ec2.url,
        HM_DIGITALOCEAN_ENDPOINT: digitalOcean.url,
        HM_RESYNC_INTERVAL_SECONDS: '5',
        HM_CLUSTER_HEALTH_INTERVAL_SECONDS: '3',
        // Slow enough that provisioning takes several seconds, so the kills land in the middle of it.
        HM_CLOUD_RATE_LIMIT_PER_SECOND: '5',
        LOG_LEVEL: 'info',
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (chunk: Buffer) => (workerLog += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (workerLog += chunk.toString()));
    worker = child;
    await eventually(async () => workerLog.slice(marker).includes('harbormaster worker running'), 'the worker to start', 60_000, 100);
  }

  async function killWorker(): Promise<void> {
    const child = worker;
    if (child?.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    worker = undefined;
  }

  beforeAll(async () => {
    process.stdout.write(`crash-safety seed ${SEED} (replay with HM_CRASH_SEED=${SEED})\n`);
    ensureBuilt();
    seed = await startProcessSeed({ pods: true });
    // No boot hook: the machines run but no node joins, so the test measures the machines alone.
    const timing = { bootMs: 500, shutdownMs: 500 };
    ec2 = await startEc2Simulator({ accounts: [AWS_ACCOUNT], timing, random });
    digitalOcean = await startDigitalOceanSimulator({
      accounts: [{ name: 'crash', tokens: [DO_TOKEN] }],
      timing: { ...timing, archiveRetentionMs: 60 * 60_000 },
      random,
    });
    api = await TestServer.start({ backend: 'postgres', env: { HM_ROLE: 'api', HM_QUOTA_NODES_PER_PROJECT: '200' } });
    database = new pg.Client({ connectionString: api.databaseUrl });
    await database.connect();
    await startWorker();

    const registered = await api.request('POST', '/api/v1/seeds', { body: { name: 'crash-seed', kubeconfig: seed.kubesim.adminKubeconfig, maxClusters: 5 } });
    expect(registered.status).toBe(201);
    const project = (await api.request<{ id: string }>('POST', '/api/v1/projects', { body: { name: 'crash' } })).body;
    const credentials = {
      aws: (await api.request<{ id: string }>('POST', `/api/v1/projects/${project.id}/credentials`, { body: { name: 'aws', provider: 'aws', ...AWS_ACCOUNT } }))
        .body.id,
      digitalocean: (
        await api.request<{ id: string }>('POST', `/api/v1/projects/${project.id}/credentials`, {
          body: { name: 'do', provider: 'digitalocean', token: DO_TOKEN },
        })
      ).body.id,
    };
    for (const provider of PROVIDERS) {
      const placement =
        provider === 'aws'
          ? { region: 'us-east-1', size: 't3.medium', image: 'ami-0123456789abcdef0' }
          : { region: 'fra1', size: 's-2vcpu-4gb', image: 'ubuntu-24-04-x64' };
      const cluster = await api.request<{ id: string }>('POST', `/api/v1/projects/${project.id}/clusters`, {
        body: {
          name: `crash-${provider === 'aws' ? 'aws' : 'do'}`,
          etcdReplicas: 1,
          nodePool: { name: 'workers', credentialId: credentials[provider], replicas: 0, sshPublicKeys: [sshPublicKey()], ...placement },
        },
      });
      expect(cluster.status).toBe(201);
      const poolList = await api.request<{ items: Array<{ id: string }> }>('GET', `/api/v1/projects/${project.id}/clusters/${cluster.body.id}/nodepools`);
      pools[provider] = { clusterId: cluster.body.id, poolId: poolList.body.items[0].id };
    }
    for (const provider of PROVIDERS) {
      await eventually(
        async () => {
          const cluster = (await api.request<{ phase: string }>('GET', `/api/v1/projects/${project.id}/clusters/${pools[provider].clusterId}`)).body;
          return cluster.phase === 'Running' ? true : undefined;
        },
        `the ${provider} cluster to run`,
        180_000,
        500,
      );
    }
    for (const simulator of [ec2, digitalOcean]) {
      simulator.faults.setProbability('server-error', FAULT_PROBABILITY).setProbability('throttle', FAULT_PROBABILITY);
    }
    // Lost responses: the machine is created, the worker hears a 500 and must not create another.
    ec2.faults.failNext('server-error', 3, { operation: 'RunInstances', phase: 'after' });
    digitalOcean.faults.failNext('server-error', 3, { operation: 'droplets_create', phase: 'after' });
    for (const provider of PROVIDERS) {
      const scaled = await api.request('PATCH', `/api/v1/projects/${project.id}/clusters/${pools[provider].clusterId}/nodepools/${pools[provider].poolId}`, {
        body: { replicas: NODES_PER_POOL },
      });
      expect(scaled.status).toBe(202);
    }
  }, scaled(300_000));

  afterAll(async () => {
    if (process.env.HM_TEST_SERVER_LOG) {
      const { appendFileSync } = await import('node:fs');
      appendFileSync(process.env.HM_TEST_SERVER_LOG, workerLog);
    }
    if (worker?.exitCode === null) {
      const exited = new Promise((resolve) => worker!.once('exit', resolve));
      worker.kill('SIGTERM');
      await exited;
    }
    await database?.end();
    await api?.destroy();
    await ec2?.close();
    await digitalOcean?.close();
    await seed?.stop();
  }, scaled(120_000));

  it(
    `converges to exactly ${NODES_PER_POOL} machines per cloud with no orphan and no duplicate after ${KILLS} kills`,
    async () => {
      const liveCount = () => PROVIDERS.map((provider) => machines(provider).filter((machine) => machine.live).length);
      const requestCounts = () => [ec2.requests().length, digitalOcean.requests().length];
      const inProgress: boolean[] = [];
      for (let kill = 1; kill <= KILLS; kill++) {
        // Kill only while the worker is busy at the clouds: after a restart the killed worker's jobs
        // come back once BullMQ finds them stalled, so wait for cloud traffic to resume first.
        // Each cloud still provisioning must be hearing from the worker again, so every kill can hit both.
        const baseline = requestCounts();
        const resumed = () => {
          const live = liveCount();
          return requestCounts().every((count, index) => live[index] >= NODES_PER_POOL || count > baseline[index] + 3);
        };
        await eventually(async () => (resumed() ? true : undefined), 'cloud traffic to resume', 90_000, 100);
        await new Promise((resolve) => setTimeout(resolve, random() * 2_500));
        const before = liveCount();
        await killWorker();
        inProgress.push(before.some((count) => count < NODES_PER_POOL));
        const [awsRequests, doRequests] = requestCounts();
        killLog.push(
          `kill ${kill} at ${new Date().toISOString()}: live machines aws=${before[0]} digitalocean=${before[1]} (requests so far aws=${awsRequests} digitalocean=${doRequests})`,
        );
        await new Promise((resolve) => setTimeout(resolve, random() * 1_000));
        await startWorker();
      }
      process.stdout.write(`${killLog.join('\n')}\n`);
      // The kills must have hit provisioning in progress, or the test proves nothing.
      expect(inProgress.filter(Boolean).length).toBeGreaterThanOrEqual(KILLS - 1);

      const converged = async (): Promise<boolean> => {
        for (const provider of PROVIDERS) {
          const live = machines(provider).filter((machine) => machine.live && machine.poolId === pools[provider].poolId);
          const rows = (await nodeRows(pools[provider].poolId)).filter((row) => row.deleted_at === null);
          if (live.length !== NODES_PER_POOL || rows.length !== NODES_PER_POOL) return false;
          if (rows.some((row) => row.cloud_id === null || row.phase === 'Deleting' || row.phase === 'Provisioning')) return false;
        }
        return true;
      };
      await eventually(async () => ((await converged()) ? true : undefined), 'the pools to converge after the last restart', 150_000, 1_000);
      // Stable: a further resync round changes nothing.
      await new Promise((resolve) => setTimeout(resolve, 6_000));
      expect(await converged()).toBe(true);

      for (const provider of PROVIDERS) {
        const { poolId } = pools[provider];
        const all = machines(provider).filter((machine) => machine.poolId === poolId);
        const live = all.filter((machine) => machine.live);
        const rows = await nodeRows(poolId);
        const liveRows = rows.filter((row) => row.deleted_at === null);
        const liveRowIds = new Set(liveRows.map((row) => row.id));
        expect(live, `${provider}: live machines`).toHaveLength(NODES_PER_POOL);
        // No orphans: every live machine belongs to a live node row, and every live row to a live machine.
        expect(
          live.filter((machine) => !machine.nodeId || !liveRowIds.has(machine.nodeId)),
          `${provider}: orphaned machines`,
        ).toEqual([]);
        const liveByNode = new Map(live.map((machine) => [machine.nodeId, machine]));
        expect(
          liveRows.filter((row) => liveByNode.get(row.id)?.id !== row.cloud_id),
          `${provider}: rows without their machine`,
        ).toEqual([]);
        // No duplicates: one node id never had two machines, live or terminated.
        const perNode = new Map<string, number>();
        for (const machine of all) if (machine.nodeId) perNode.set(machine.nodeId, (perNode.get(machine.nodeId) ?? 0) + 1);
        expect(
          [...perNode].filter(([, count]) => count > 1),
          `${provider}: node ids with more than one machine`,
        ).toEqual([]);
      }
      // The faults really happened.
      const failures = (requests: Array<{ status: number }>) => requests.filter((request) => request.status >= 429).length;
      expect(failures(ec2.requests())).toBeGreaterThan(5);
      expect(failures(digitalOcean.requests())).toBeGreaterThan(5);
      expect(ec2.internalErrors()).toEqual([]);
      expect(digitalOcean.specViolations()).toEqual([]);
    },
    scaled(240_000),
  );
});
