// The local world of the embedded default (`npm run up`): a kubesim seed with its built-in
// controllers and a process kubelet that really runs tenant control-plane pods, registered as
// the seed `sandbox`, and simulated EC2 and DigitalOcean clouds whose instances boot simulated
// nodes (see simulated-clouds.ts). The seed and the clouds keep their state in memory, so after
// a restart the reconcilers rebuild control planes and machines from the database.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { Inject, Injectable, Module, type OnApplicationBootstrap, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { sealingContext, type SecretBox } from '../../../core/src/index.js';
import { SeedRepository } from '../../../db/src/index.js';
import { APP_CONFIG, CloudAccess, LOGGER, SECRET_BOX, type AppConfig } from '../../../platform/src/index.js';
import { startControllers } from '../kubesim/controllers/roles.js';
import { createSeed, type SeedHandle } from '../kubesim/index.js';
import { startProcessKubelet, type ProcessKubelet } from '../kubelet/index.js';
import { startSimulatedClouds, type SimulatedClouds } from './simulated-clouds.js';

export const SANDBOX_SEED_NAME = 'sandbox';

@Injectable()
export class EmbeddedSandbox implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown {
  private seed: SeedHandle | undefined;
  private stopControllers: (() => Promise<void>) | undefined;
  private kubelet: ProcessKubelet | undefined;
  private readonly clouds: Promise<SimulatedClouds>;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(SECRET_BOX) private readonly secrets: SecretBox,
    private readonly seeds: SeedRepository,
    cloudAccess: CloudAccess,
  ) {
    // Installed before any module starts its workers: a nodes job that runs early waits for the
    // simulators instead of reaching a real cloud.
    this.clouds = startSimulatedClouds({
      nodesDir: join(config.dataDir, 'sandbox', 'nodes'),
      installationDir: join(config.dataDir, 'sandbox'),
      sshPort: config.nodeSsh.port,
      log: (level, message, fields) => logger[level]({ component: 'simulated-clouds', ...fields }, message),
    });
    this.clouds.catch(() => undefined);
    cloudAccess.useEndpointResolver({ endpointFor: async (credentials) => (await this.clouds).endpointFor(credentials) });
  }

  async onModuleInit(): Promise<void> {
    const clouds = await this.clouds;
    this.logger.info({ ec2: clouds.ec2.url, digitalOcean: clouds.digitalOcean.url }, 'simulated clouds running');
  }

  async onApplicationBootstrap(): Promise<void> {
    this.seed = await createSeed({ authorizationModes: ['RBAC'] });
    const kubeconfig = new KubeConfig();
    kubeconfig.loadFromString(this.seed.adminKubeconfig);
    this.stopControllers = await startControllers(kubeconfig, { garbageCollectorIntervalMs: 2_000 });
    this.kubelet = await startProcessKubelet({
      kubeconfig: this.seed.adminKubeconfig,
      stateDir: join(this.config.dataDir, 'sandbox'),
      log: (message) => this.logger.debug({ component: 'process-kubelet' }, message),
    });
    await this.register(this.seed);
    this.logger.info({ seed: SANDBOX_SEED_NAME, url: this.seed.url }, 'sandbox seed running');
  }

  private async register(seed: SeedHandle): Promise<void> {
    const existing = await this.seeds.findByName(SANDBOX_SEED_NAME);
    const id = existing?.id ?? randomUUID();
    const sealed = this.secrets.seal(seed.adminKubeconfig, sealingContext.seedKubeconfig(id));
    if (existing) {
      await this.seeds.updateConnection(id, sealed, seed.url, 'kubesim');
      return;
    }
    await this.seeds.insert({
      id,
      name: SANDBOX_SEED_NAME,
      provider: 'sandbox',
      region: 'local',
      labels: { 'harbormaster.dev/sandbox': 'true' },
      sealed_kubeconfig: sealed,
      server_url: seed.url,
      server_version: 'kubesim',
      max_clusters: 50,
      cordoned: false,
      health: 'Healthy',
      health_message: 'embedded sandbox seed',
      health_checked_at: new Date(),
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await (await this.clouds.catch(() => undefined))?.stop();
    await this.kubelet?.stop();
    await this.stopControllers?.();
    await this.seed?.close();
  }
}

@Module({ providers: [EmbeddedSandbox] })
export class EmbeddedSandboxModule {}
