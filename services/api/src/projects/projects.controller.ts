import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { addMemberSchema, createProjectSchema, updateMemberSchema, updateProjectSchema } from '../../../core/src/index.js';
import { createCredentialSchema } from '../../../clouds/src/providers/index.js';
import { CurrentActor, type Actor } from '../auth/principal.js';
import { cursorParam } from '../http/query.js';
import { ApiProblems, ApiZodBody } from '../http/openapi.js';
import { ProjectsService } from './projects.service.js';

@ApiTags('projects')
@ApiBearerAuth()
@ApiProblems(401, 404)
@Controller('projects')
export class ProjectsController {
  constructor(private readonly projects: ProjectsService) {}

  @Post()
  @ApiOperation({ summary: 'Create a project; the caller becomes its owner' })
  @ApiZodBody(createProjectSchema)
  @ApiProblems(409, 422)
  create(@CurrentActor() actor: Actor, @Body() body: unknown) {
    return this.projects.create(actor, body);
  }

  @Get()
  @ApiOperation({ summary: 'List the projects the caller belongs to' })
  async list(@CurrentActor() actor: Actor) {
    return { items: await this.projects.list(actor) };
  }

  @Get(':projectId')
  get(@CurrentActor() actor: Actor, @Param('projectId') projectId: string) {
    return this.projects.get(actor, projectId);
  }

  @Patch(':projectId')
  @ApiZodBody(updateProjectSchema)
  @ApiProblems(403, 422)
  update(@CurrentActor() actor: Actor, @Param('projectId') projectId: string, @Body() body: unknown) {
    return this.projects.update(actor, projectId, body);
  }

  @Delete(':projectId')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a project (owner); refused while it has clusters' })
  @ApiProblems(403, 409)
  async delete(@CurrentActor() actor: Actor, @Param('projectId') projectId: string): Promise<void> {
    await this.projects.delete(actor, projectId);
  }

  @Get(':projectId/members')
  async listMembers(@CurrentActor() actor: Actor, @Param('projectId') projectId: string) {
    return { items: await this.projects.listMembers(actor, projectId) };
  }

  @Post(':projectId/members')
  @ApiOperation({ summary: 'Add an existing account by user id (admin); owners invite an e-mail address instead' })
  @ApiZodBody(addMemberSchema)
  @ApiProblems(403, 409, 422)
  addMember(@CurrentActor() actor: Actor, @Param('projectId') projectId: string, @Body() body: unknown) {
    return this.projects.addMember(actor, projectId, body);
  }

  @Patch(':projectId/members/:userId')
  @ApiZodBody(updateMemberSchema)
  @ApiProblems(403, 409, 422)
  updateMember(@CurrentActor() actor: Actor, @Param('projectId') projectId: string, @Param('userId') userId: string, @Body() body: unknown) {
    return this.projects.updateMember(actor, projectId, userId, body);
  }

  @Delete(':projectId/members/:userId')
  @HttpCode(204)
  @ApiProblems(403, 409)
  async removeMember(@CurrentActor() actor: Actor, @Param('projectId') projectId: string, @Param('userId') userId: string): Promise<void> {
    await this.projects.removeMember(actor, projectId, userId);
  }

  @Get(':projectId/credentials')
  @ApiOperation({ summary: 'List provider credentials, without their secrets' })
  async listCredentials(@CurrentActor() actor: Actor, @Param('projectId') projectId: string) {
    return { items: await this.projects.listCredentials(actor, projectId) };
  }

  @Post(':projectId/credentials')
  @ApiOperation({ summary: 'Store AWS or DigitalOcean credentials (encrypted at rest, never returned)' })
  @ApiZodBody(createCredentialSchema)
  @ApiProblems(403, 409, 422)
  createCredential(@CurrentActor() actor: Actor, @Param('projectId') projectId: string, @Body() body: unknown) {
    return this.projects.createCredential(actor, projectId, body);
  }

  @Delete(':projectId/credentials/:credentialId')
  @HttpCode(204)
  @ApiProblems(403, 409)
  async deleteCredential(@CurrentActor() actor: Actor, @Param('projectId') projectId: string, @Param('credentialId') credentialId: string): Promise<void> {
    await this.projects.deleteCredential(actor, projectId, credentialId);
  }

  @Get(':projectId/audit')
  @ApiOperation({ summary: 'The project’s audit log, newest first (owner)' })
  @ApiProblems(403)
  async audit(@CurrentActor() actor: Actor, @Param('projectId') projectId: string, @Query('before') before?: unknown) {
    return { items: await this.projects.listAudit(actor, projectId, cursorParam('before', before)) };
  }
}

@ApiTags('audit')
@ApiBearerAuth()
@Controller('audit')
export class PlatformAuditController {
  constructor(private readonly projects: ProjectsService) {}

  @Get()
  @ApiOperation({ summary: 'The platform audit log, newest first (admin)' })
  @ApiProblems(401, 403)
  async list(@CurrentActor() actor: Actor, @Query('before') before?: unknown) {
    return { items: await this.projects.listAudit(actor, undefined, cursorParam('before', before)) };
  }
}
