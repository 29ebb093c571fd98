import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { createTokenSchema, createUserSchema } from '../../../core/src/index.js';
import { CurrentActor, type Actor } from '../auth/principal.js';
import { ApiProblems, ApiZodBody } from '../http/openapi.js';
import { IdentityService } from './identity.service.js';

@ApiTags('identity')
@ApiBearerAuth()
@ApiProblems(401)
@Controller()
export class IdentityController {
  constructor(private readonly identity: IdentityService) {}

  @Get('me')
  @ApiOperation({ summary: 'The user behind the calling token' })
  me(@CurrentActor() actor: Actor) {
    return this.identity.me(actor);
  }

  @Get('users')
  @ApiOperation({ summary: 'List users (admin)' })
  async listUsers(@CurrentActor() actor: Actor) {
    return { items: await this.identity.listUsers(actor) };
  }

  @Post('users')
  @ApiOperation({ summary: 'Create a user (admin)' })
  @ApiZodBody(createUserSchema)
  @ApiProblems(403, 409, 422)
  createUser(@CurrentActor() actor: Actor, @Body() body: unknown) {
    return this.identity.createUser(actor, body);
  }

  @Post('users/:userId/tokens')
  @ApiOperation({ summary: 'Issue an API token for a user (admin); the secret is returned once' })
  @ApiZodBody(createTokenSchema)
  createTokenFor(@CurrentActor() actor: Actor, @Param('userId') userId: string, @Body() body: unknown) {
    return this.identity.createToken(actor, body, userId);
  }

  @Get('tokens')
  @ApiOperation({ summary: 'List the caller’s API tokens (never their secrets)' })
  async listTokens(@CurrentActor() actor: Actor) {
    return { items: await this.identity.listTokens(actor) };
  }

  @Post('tokens')
  @ApiOperation({ summary: 'Create an API token for the caller; the secret is returned once' })
  @ApiZodBody(createTokenSchema)
  @ApiProblems(422)
  createToken(@CurrentActor() actor: Actor, @Body() body: unknown) {
    return this.identity.createToken(actor, body);
  }

  @Delete('tokens/:tokenId')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke an API token' })
  @ApiProblems(404)
  async revokeToken(@CurrentActor() actor: Actor, @Param('tokenId') tokenId: string): Promise<void> {
    await this.identity.revokeToken(actor, tokenId);
  }
}
