import { Inject, Module, type OnApplicationBootstrap } from '@nestjs/common';
import { NodeHealthRepository, type DatabaseHandle } from '../../db/src/index.js';
import { APP_CONFIG, DATABASE, JOBS, QueueService, type AppConfig } from '../../platform/src/index.js';
import { ClusterReconciler } from './cluster-reconciler.js';
import { ControlPlaneSteps } from './control-plane/control-plane-steps.js';
import { ClusterHealthChecker } from './control-plane/health-checker.js';
import { SeedClients } from './control-plane/seed-clients.js';
import { SeedWatches } from './control-plane/seed-watches.js';
import { JobRunner } from './job-runner.js';
import { CloudDrivers } from './nodes/cloud-drivers.js';
import { NodeHealthChecker } from './nodes/node-health-checker.js';
import { NodeRemoval } from './nodes/node-removal.js';
import { NodePoolReconciler } from './nodes/node-pool-reconciler.js';
import { PoolCredentials } from './nodes/pool-credentials.js';
import { PoolConditions } from './nodes/pool-conditions.js';
import { PoolEvents } from './nodes/pool-events.js';
import { PoolMachines } from './nodes/pool-machines.js';
import { PoolOperations } from './nodes/pool-operations.js';
import { PoolPlanner } from './nodes/pool-plan.js';
import { PoolTenants } from './nodes/pool-tenant.js';
import { ControlPlaneProcessor, HealthProcessor, NodesProcessor, SeedsProcessor } from './processors.js';

class ResyncSchedules implements OnApplicationBootstrap {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly queues: QueueService,
  ) {}

  /** Job schedulers are upserted by id, so every worker replica may do this safely. */
  async onApplicationBootstrap(): Promise<void> {
    await this.queues.controlPlane.upsertJobScheduler(
      'resync',
      { every: this.config.resyncIntervalSeconds * 1000 },
      { name: JOBS.resync, data: {}, opts: { removeOnComplete: 100, removeOnFail: 100 } },
    );
    await this.queues.health.upsertJobScheduler(
      'node-health',
      { every: this.config.nodeHealthIntervalSeconds * 1000 },
      { name: JOBS.nodeHealthResync, data: {}, opts: { removeOnComplete: 100, removeOnFail: 100 } },
    );
    await this.queues.health.upsertJobScheduler(
      'cluster-health',
      { every: this.config.clusterHealthIntervalSeconds * 1000 },
      { name: JOBS.resync, data: {}, opts: { removeOnComplete: 100, removeOnFail: 100 } },
    );
    await this.queues.seeds.upsertJobScheduler(
      'seed-health',
      { every: this.config.seedHealthIntervalSeconds * 1000 },
      { name: JOBS.resync, data: {}, opts: { removeOnComplete: 100, removeOnFail: 100 } },
    );
  }
}

@Module({
  providers: [
    JobRunner,
    ClusterReconciler,
    ControlPlaneSteps,
    ClusterHealthChecker,
    SeedClients,
    SeedWatches,
    NodePoolReconciler,
    PoolEvents,
    PoolConditions,
    PoolOperations,
    PoolCredentials,
    PoolTenants,
    PoolMachines,
    PoolPlanner,
    NodeRemoval,
    NodeHealthChecker,
    { provide: NodeHealthRepository, inject: [DATABASE], useFactory: (database: DatabaseHandle) => new NodeHealthRepository(database.db) },
    CloudDrivers,
    ControlPlaneProcessor,
    NodesProcessor,
    HealthProcessor,
    SeedsProcessor,
    {
      provide: ResyncSchedules,
      inject: [APP_CONFIG, QueueService],
      useFactory: (config: AppConfig, queues: QueueService) => new ResyncSchedules(config, queues),
    },
  ],
})
export class WorkerModule {}
