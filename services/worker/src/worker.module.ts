import { Module } from '@nestjs/common';
import { NodeHealthRepository, type DatabaseHandle } from '../../db/src/index.js';
import { DATABASE } from '../../platform/src/index.js';
import { ClusterReconciler } from './cluster-reconciler.js';
import { ControlPlaneSteps } from './control-plane/control-plane-steps.js';
import { ClusterHealthChecker } from './control-plane/health-checker.js';
import { SeedClients } from './control-plane/seed-clients.js';
import { SeedWatches } from './control-plane/seed-watches.js';
import { JobRunner } from './job-runner.js';
import { JobSchedules } from './job-schedules.js';
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
import { DeletionWatch } from './control-plane/deletion-watch.js';
import { ControlPlaneProcessor, HealthProcessor, NodesProcessor, SeedsProcessor } from './processors.js';

@Module({
  providers: [
    JobRunner,
    ClusterReconciler,
    ControlPlaneSteps,
    DeletionWatch,
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
    JobSchedules,
  ],
})
export class WorkerModule {}
