import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { createNodePoolSchema, scaleNodePoolSchema } from '../../../core/src/index.js';
import { CurrentActor, type Actor } from '../auth/principal.js';
import { ApiProblems, ApiZodBody } from '../http/openapi.js';
import { NodePoolsService } from './node-pools.service.js';

@ApiTags('node pools')
@ApiBearerAuth()
@ApiProblems(401, 404)
@Controller('projects/:projectId/clusters/:clusterId/nodepools')
export class NodePoolsController {
  constructor(private readonly pools: NodePoolsService) {}

  @Post()
  @ApiZodBody(createNodePoolSchema)
  @ApiProblems(403, 409, 422)
  create(@CurrentActor() actor: Actor, @Param('projectId') projectId: string, @Param('clusterId') clusterId: string, @Body() body: unknown) {
    return this.pools.create(actor, projectId, clusterId, body);
  }

  @Get()
  async list(@CurrentActor() actor: Actor, @Param('projectId') projectId: string, @Param('clusterId') clusterId: string) {
    return { items: await this.pools.list(actor, projectId, clusterId) };
  }

  @Get(':poolId')
  get(@CurrentActor() actor: Actor, @Param('projectId') projectId: string, @Param('clusterId') clusterId: string, @Param('poolId') poolId: string) {
    return this.pools.get(actor, projectId, clusterId, poolId);
  }

  @Patch(':poolId')
  @HttpCode(202)
  @ApiOperation({ summary: 'Node scaling: set replicas; answers 202 with an operation to follow' })
  @ApiZodBody(scaleNodePoolSchema)
  @ApiProblems(403, 409, 422)
  scale(
    @CurrentActor() actor: Actor,
    @Param('projectId') projectId: string,
    @Param('clusterId') clusterId: string,
    @Param('poolId') poolId: string,
    @Body() body: unknown,
  ) {
    return this.pools.scale(actor, projectId, clusterId, poolId, body);
  }

  @Delete(':poolId')
  @HttpCode(202)
  @ApiProblems(403)
  delete(@CurrentActor() actor: Actor, @Param('projectId') projectId: string, @Param('clusterId') clusterId: string, @Param('poolId') poolId: string) {
    return this.pools.delete(actor, projectId, clusterId, poolId);
  }

  @Post(':poolId/rollout')
  @HttpCode(202)
  @ApiOperation({
    summary:
      "Rolling update: replace the pool's nodes one at a time (surge 1, unavailable 0) with nodes at the cluster's version; answers 202 with an operation to follow",
  })
  @ApiProblems(403, 409)
  rollout(@CurrentActor() actor: Actor, @Param('projectId') projectId: string, @Param('clusterId') clusterId: string, @Param('poolId') poolId: string) {
    return this.pools.rollout(actor, projectId, clusterId, poolId);
  }

  @Get(':poolId/nodes')
  async nodes(@CurrentActor() actor: Actor, @Param('projectId') projectId: string, @Param('clusterId') clusterId: string, @Param('poolId') poolId: string) {
    return { items: await this.pools.listNodes(actor, projectId, clusterId, poolId) };
  }

  @Delete(':poolId/nodes/:nodeId')
  @HttpCode(202)
  @ApiOperation({ summary: 'Replace a node: a new one joins first, then this one is drained and removed' })
  @ApiProblems(403, 409)
  replace(
    @CurrentActor() actor: Actor,
    @Param('projectId') projectId: string,
    @Param('clusterId') clusterId: string,
    @Param('poolId') poolId: string,
    @Param('nodeId') nodeId: string,
  ) {
    return this.pools.replaceNode(actor, projectId, clusterId, poolId, nodeId);
  }
}
