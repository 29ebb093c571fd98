import { Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { AuthGuard } from './auth/auth.guard.js';
import { ClustersController } from './clusters/clusters.controller.js';
import { ClustersService } from './clusters/clusters.service.js';
import { NodePoolsController } from './clusters/node-pools.controller.js';
import { NodePoolsService } from './clusters/node-pools.service.js';
import { ProblemFilter } from './http/problem.filter.js';
import { IdentityController } from './identity/identity.controller.js';
import { IdentityService } from './identity/identity.service.js';
import { CatalogController } from './ops/catalog.controller.js';
import { OpsController } from './ops/ops.controller.js';
import { OperationsService } from './operations/operations.service.js';
import { InvitationsController } from './projects/invitations.controller.js';
import { InvitationsService } from './projects/invitations.service.js';
import { ProjectAccess } from './projects/project-access.js';
import { PlatformAuditController, ProjectsController } from './projects/projects.controller.js';
import { ProjectsService } from './projects/projects.service.js';
import { SeedsController } from './seeds/seeds.controller.js';
import { SeedsService } from './seeds/seeds.service.js';

/** The HTTP edge. It expects PlatformModule to be imported by the application root. */
@Module({
  controllers: [
    OpsController,
    IdentityController,
    ProjectsController,
    PlatformAuditController,
    InvitationsController,
    SeedsController,
    CatalogController,
    ClustersController,
    NodePoolsController,
  ],
  providers: [
    { provide: APP_GUARD, useClass: AuthGuard },
    { provide: APP_FILTER, useClass: ProblemFilter },
    IdentityService,
    ProjectAccess,
    ProjectsService,
    InvitationsService,
    SeedsService,
    OperationsService,
    ClustersService,
    NodePoolsService,
  ],
  exports: [SeedsService],
})
export class ApiModule {}
