import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { DomainError } from '../../../core/src/index.js';
import { IdentityService } from '../identity/identity.service.js';
import { PUBLIC_ROUTE, type AuthenticatedRequest } from './principal.js';

/** Every route needs a bearer API token unless it is marked @Public(). */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly identity: IdentityService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, [context.getHandler(), context.getClass()])) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const header = request.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match) throw new DomainError('unauthenticated', 'unauthenticated', 'send an API token as "Authorization: Bearer <token>"');
    request.principal = await this.identity.authenticate(match[1]);
    return true;
  }
}
