// The world a chaos scenario breaks: Harbormaster as production runs it (the api and the worker
// as separate processes over PostgreSQL and Redis), with a PostgreSQL and a Redis of its own so
// they can be restarted or wiped, a kubesim seed whose kubelet runs the control planes, the EC2
// and DigitalOcean simulators and a node fleet that joins their machines (test/nodes/support.ts).
// The seed registers Harbormaster under an identity of its own, so a seed fault can hit
// Harbormaster's requests while the seed's own kubelet and controllers keep running.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProcessSeed, type ProcessSeed } from '../control-plane/support.js';
import { startNodeWorld, type NodeWorld } from '../nodes/support.js';
import { OwnPostgres } from '../support/postgres.js';
import { OwnRedis } from '../support/redis.js';
import { ROOT, TestServer } from '../support/server.js';
import { eventually } from '../support/time.js';

/** The user Harbormaster's seed kubeconfig authenticates as: seed faults are scoped to it. */
export const HARBORMASTER_SEED_USER = 'harbormaster-chaos';

/** The worker deployable as its own process, killed with SIGKILL as a node crash would. */
export class WorkerProcess {
  private child: ChildProcess | undefined;
  private output = '';

  constructor(private readonly env: () => NodeJS.ProcessEnv) {}

  get log(): string {
    return this.output;
  }

  async start(): Promise<void> {
    const marker = this.output.length;
    const child = spawn(process.execPath, [join(ROOT, 'dist/services/worker/src/main.js')], { env: this.env(), stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.child = child;
    await eventually(() => this.output.slice(marker).includes('harbormaster worker running'), 'the worker to start', 60_000, 100);
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (child?.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
    this.child = undefined;
  }

  /** kill -9, then a new worker process: what a crashed pod and its restart look like. */
  async crashAndRestart(): Promise<void> {
    await this.stop('SIGKILL');
    await this.start();
  }
}

export interface ChaosWorld extends NodeWorld {
  redis: OwnRedis;
  postgres: OwnPostgres;
  processSeed: ProcessSeed;
  worker: WorkerProcess;
}

export async function startChaosWorld(env: Record<string, string> = {}): Promise<ChaosWorld> {
  const redis = await OwnRedis.start();
  const postgres = await OwnPostgres.start();
  const dataDir = mkdtempSync(join(tmpdir(), 'hm-chaos-'));
  const masterKey = randomBytes(32).toString('base64');
  let processSeed: ProcessSeed | undefined;
  let worker: WorkerProcess | undefined;
  const nodeWorld = await startNodeWorld({
    env: {
      REDIS_URL: redis.url,
      // Production's resync is a minute; here shorter, so a lost job costs seconds, not a minute.
      HM_RESYNC_INTERVAL_SECONDS: '10',
      HM_SCHEDULE_CHECK_SECONDS: '2',
      HM_SEED_HEALTH_INTERVAL_SECONDS: '2',
      ...env,
    },
    seed: async () => {
      processSeed = await startProcessSeed({ pods: true });
      const seed = processSeed;
      return { kubeconfig: await seed.kubesim.userKubeconfig(HARBORMASTER_SEED_USER, ['system:masters']), stop: () => seed.stop() };
    },
    startServer: async (serverEnv) => {
      const api = await TestServer.start({
        backend: 'postgres',
        reuse: { dataDir, databaseUrl: postgres.url, masterKey },
        env: { ...serverEnv, HM_ROLE: 'api' },
      });
      worker = new WorkerProcess(() => api.workerEnv(serverEnv));
      await worker.start();
      return api;
    },
  });
  if (!processSeed || !worker) throw new Error('the node world started without its seed or worker');
  const startedWorker = worker;
  return {
    ...nodeWorld,
    redis,
    postgres,
    processSeed,
    worker: startedWorker,
    async stop() {
      if (process.env.HM_TEST_SERVER_LOG) {
        const { appendFileSync } = await import('node:fs');
        appendFileSync(process.env.HM_TEST_SERVER_LOG, startedWorker.log);
      }
      await startedWorker.stop();
      await nodeWorld.stop();
      await redis.kill();
      postgres.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
