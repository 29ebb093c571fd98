import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { registerSeedSchema } from '../../../core/src/index.js';
import { CurrentActor, type Actor } from '../auth/principal.js';
import { ApiProblems, ApiZodBody } from '../http/openapi.js';
import { SeedsService } from './seeds.service.js';

@ApiTags('seeds')
@ApiBearerAuth()
@ApiProblems(401, 403)
@Controller('seeds')
export class SeedsController {
  constructor(private readonly seeds: SeedsService) {}

  @Post()
  @ApiOperation({ summary: 'Register a seed from a kubeconfig (admin); its API server must answer /version' })
  @ApiZodBody(registerSeedSchema)
  @ApiProblems(409, 422)
  register(@CurrentActor() actor: Actor, @Body() body: unknown) {
    return this.seeds.register(actor, body);
  }

  @Get()
  @ApiOperation({ summary: 'List seeds with capacity and health (admin)' })
  async list(@CurrentActor() actor: Actor) {
    return { items: await this.seeds.list(actor) };
  }

  @Get(':seedId')
  @ApiProblems(404)
  get(@CurrentActor() actor: Actor, @Param('seedId') seedId: string) {
    return this.seeds.get(actor, seedId);
  }

  @Post(':seedId/cordon')
  @HttpCode(200)
  @ApiOperation({ summary: 'Stop placing new clusters on the seed' })
  cordon(@CurrentActor() actor: Actor, @Param('seedId') seedId: string) {
    return this.seeds.setCordoned(actor, seedId, true);
  }

  @Post(':seedId/uncordon')
  @HttpCode(200)
  uncordon(@CurrentActor() actor: Actor, @Param('seedId') seedId: string) {
    return this.seeds.setCordoned(actor, seedId, false);
  }

  @Post(':seedId/health-check')
  @HttpCode(202)
  @ApiOperation({ summary: 'Queue an immediate health check of the seed' })
  checkNow(@CurrentActor() actor: Actor, @Param('seedId') seedId: string) {
    return this.seeds.checkNow(actor, seedId);
  }

  @Delete(':seedId')
  @HttpCode(204)
  @ApiOperation({ summary: 'Remove a seed; refused while clusters live on it' })
  @ApiProblems(404, 409)
  async delete(@CurrentActor() actor: Actor, @Param('seedId') seedId: string): Promise<void> {
    await this.seeds.delete(actor, seedId);
  }
}
