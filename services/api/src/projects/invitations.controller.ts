import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { createInvitationSchema } from '../../../core/src/index.js';
import { CurrentActor, type Actor } from '../auth/principal.js';
import { ApiProblems, ApiZodBody } from '../http/openapi.js';
import { InvitationsService } from './invitations.service.js';

@ApiTags('invitations')
@ApiBearerAuth()
@ApiProblems(401, 404)
@Controller()
export class InvitationsController {
  constructor(private readonly invitations: InvitationsService) {}

  @Post('projects/:projectId/invitations')
  @ApiOperation({
    summary: 'Invite an e-mail address to the project (owner); never creates an account, and answers alike whether one exists',
  })
  @ApiZodBody(createInvitationSchema)
  @ApiProblems(403, 409, 422)
  invite(@CurrentActor() actor: Actor, @Param('projectId') projectId: string, @Body() body: unknown) {
    return this.invitations.invite(actor, projectId, body);
  }

  @Get('projects/:projectId/invitations')
  @ApiOperation({ summary: 'The project’s pending invitations, lapsed ones as expired (owner)' })
  @ApiProblems(403)
  async listForProject(@CurrentActor() actor: Actor, @Param('projectId') projectId: string) {
    return { items: await this.invitations.listForProject(actor, projectId) };
  }

  @Delete('projects/:projectId/invitations/:invitationId')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke a pending invitation (owner)' })
  @ApiProblems(403, 409)
  async revoke(@CurrentActor() actor: Actor, @Param('projectId') projectId: string, @Param('invitationId') invitationId: string): Promise<void> {
    await this.invitations.revoke(actor, projectId, invitationId);
  }

  @Get('me/invitations')
  @ApiOperation({ summary: 'Invitations addressed to the caller’s e-mail that can still be accepted' })
  async listOwn(@CurrentActor() actor: Actor) {
    return { items: await this.invitations.listOwn(actor) };
  }

  @Post('me/invitations/:invitationId/accept')
  @HttpCode(200)
  @ApiOperation({ summary: 'Accept an invitation: the caller joins the project with the invited role; answers the project' })
  @ApiProblems(410)
  accept(@CurrentActor() actor: Actor, @Param('invitationId') invitationId: string) {
    return this.invitations.accept(actor, invitationId);
  }

  @Post('me/invitations/:invitationId/decline')
  @HttpCode(204)
  @ApiOperation({ summary: 'Decline an invitation' })
  @ApiProblems(410)
  async decline(@CurrentActor() actor: Actor, @Param('invitationId') invitationId: string): Promise<void> {
    await this.invitations.decline(actor, invitationId);
  }
}
