import { createParamDecorator, SetMetadata, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import type { AuditEntry } from '../../../db/src/index.js';

export interface Principal {
  userId: string;
  email: string;
  isAdmin: boolean;
  tokenId: string;
}

/** Who is asking and from where: what every service method needs for authorisation and audit. */
export interface Actor {
  principal: Principal;
  sourceIp: string | null;
  userAgent: string | null;
}

export type AuthenticatedRequest = Request & { principal?: Principal };

export const PUBLIC_ROUTE = 'harbormaster:public';
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(PUBLIC_ROUTE, true);

export const CurrentActor = createParamDecorator((_: unknown, context: ExecutionContext): Actor => {
  const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
  // A route wiring bug, not a client error: it must stay an opaque 500.
  // eslint-disable-next-line no-restricted-syntax -- programming error (decorator on a public route), nothing a caller can fix
  if (!request.principal) throw new Error('CurrentActor used on a public route');
  return { principal: request.principal, sourceIp: request.ip ?? null, userAgent: request.headers['user-agent'] ?? null };
});

export function auditBase(actor: Actor, projectId: string | null): Pick<AuditEntry, 'actorUserId' | 'actorTokenId' | 'projectId' | 'sourceIp' | 'userAgent'> {
  return { actorUserId: actor.principal.userId, actorTokenId: actor.principal.tokenId, projectId, sourceIp: actor.sourceIp, userAgent: actor.userAgent };
}
