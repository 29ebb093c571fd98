import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { Logger } from 'pino';
import {
  DomainError,
  createTokenSchema,
  createUserSchema,
  isUuid,
  issueApiToken,
  notFound,
  parseApiToken,
  parseInput,
  tokenSecretMatches,
  conflict,
  required,
} from '../../../core/src/index.js';
import { AuditRepository, IdentityRepository, UnitOfWork, type ApiTokenRow, type UserRow } from '../../../db/src/index.js';
import { LOGGER } from '../../../platform/src/index.js';
import { auditBase, type Actor, type Principal } from '../auth/principal.js';

const BOOTSTRAPPED = 'admin_bootstrapped';
const TOUCH_INTERVAL_MS = 60_000;

export interface TokenView {
  id: string;
  name: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export const presentToken = (row: ApiTokenRow): TokenView => ({
  id: row.id,
  name: row.name,
  createdAt: row.created_at.toISOString(),
  expiresAt: row.expires_at?.toISOString() ?? null,
  lastUsedAt: row.last_used_at?.toISOString() ?? null,
  revokedAt: row.revoked_at?.toISOString() ?? null,
});

export const presentUser = (row: UserRow) => ({ id: row.id, email: row.email, name: row.name, admin: row.is_admin, createdAt: row.created_at.toISOString() });

@Injectable()
export class IdentityService implements OnApplicationBootstrap {
  constructor(
    private readonly unitOfWork: UnitOfWork,
    private readonly identities: IdentityRepository,
    private readonly audit: AuditRepository,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** On the very first start, create the admin and print its token once, outside the logs. */
  async onApplicationBootstrap(): Promise<void> {
    const plaintext = await this.unitOfWork.run(async (trx) => {
      if ((await this.identities.lockSetting(BOOTSTRAPPED, trx)) !== undefined) return undefined;
      const userId = randomUUID();
      const token = issueApiToken();
      await this.identities.insertUser({ id: userId, email: 'admin@harbormaster.local', name: 'Administrator', isAdmin: true }, trx);
      await this.identities.insertToken({ id: token.id, userId, name: 'first-start admin token', secretHash: token.hash, expiresAt: null }, trx);
      await this.identities.putSetting(BOOTSTRAPPED, new Date().toISOString(), trx);
      return token.plaintext;
    });
    if (plaintext) {
      this.logger.warn('created the admin user; its API token is printed once on standard output');
      process.stdout.write(`\nHarbormaster admin API token (shown once, store it now):\n  HM_ADMIN_TOKEN=${plaintext}\n\n`);
    }
  }

  async authenticate(bearer: string): Promise<Principal> {
    const parsed = parseApiToken(bearer);
    // Made only when thrown: an Error's stack trace was a measurable share of every request's CPU.
    const rejected = () => new DomainError('unauthenticated', 'invalid_token', 'the API token is invalid, expired or revoked');
    if (!parsed) throw rejected();
    const found = await this.identities.findTokenWithUser(parsed.id);
    const now = new Date();
    if (!found) throw rejected();
    const { token, user } = found;
    if (token.revoked_at || (token.expires_at && token.expires_at <= now) || !tokenSecretMatches(parsed.secret, token.secret_hash)) throw rejected();
    if (!token.last_used_at || now.getTime() - token.last_used_at.getTime() > TOUCH_INTERVAL_MS) {
      await this.identities.touchToken(token.id, now);
    }
    return { userId: user.id, email: user.email, isAdmin: user.is_admin, tokenId: token.id };
  }

  /**
   * For requests that outlive their authentication (event streams): the principal as it stands
   * now, or undefined once its token is revoked or expired or its user is gone.
   */
  async reauthenticate(principal: Principal): Promise<Principal | undefined> {
    const token = await this.identities.findToken(principal.tokenId);
    const now = new Date();
    if (!token || token.revoked_at || (token.expires_at && token.expires_at <= now) || token.user_id !== principal.userId) return undefined;
    const user = await this.identities.findUserById(token.user_id);
    if (!user) return undefined;
    return { userId: user.id, email: user.email, isAdmin: user.is_admin, tokenId: token.id };
  }

  async me(actor: Actor) {
    const user = await this.identities.findUserById(actor.principal.userId);
    if (!user) throw notFound('user');
    return presentUser(user);
  }

  requireAdmin(actor: Actor): void {
    if (!actor.principal.isAdmin) throw new DomainError('forbidden', 'admin_required', 'this operation needs a platform administrator');
  }

  async listUsers(actor: Actor) {
    this.requireAdmin(actor);
    return (await this.identities.listUsers()).map(presentUser);
  }

  async createUser(actor: Actor, body: unknown) {
    this.requireAdmin(actor);
    const input = parseInput(createUserSchema, body);
    if (await this.identities.findUserByEmail(input.email)) throw conflict('user_exists', `a user with email ${input.email} already exists`);
    const id = randomUUID();
    await this.unitOfWork.run(async (trx) => {
      await this.identities.insertUser({ id, email: input.email, name: input.name ?? input.email, isAdmin: input.admin }, trx);
      await this.audit.append(
        { ...auditBase(actor, null), action: 'user.create', resourceType: 'user', resourceId: id, details: { email: input.email, admin: input.admin } },
        trx,
      );
    });
    return presentUser(required(await this.identities.findUserById(id), 'user just created'));
  }

  /** Creates a token for the caller, or (admins only) for another user. The secret is returned once. */
  async createToken(actor: Actor, body: unknown, forUserId?: string) {
    const input = parseInput(createTokenSchema, body);
    const userId = forUserId ?? actor.principal.userId;
    if (forUserId) {
      this.requireAdmin(actor);
      if (!isUuid(forUserId) || !(await this.identities.findUserById(forUserId))) throw notFound('user');
    }
    const token = issueApiToken();
    const expiresAt = input.expiresInDays ? new Date(Date.now() + input.expiresInDays * 86_400_000) : null;
    await this.unitOfWork.run(async (trx) => {
      await this.identities.insertToken({ id: token.id, userId, name: input.name, secretHash: token.hash, expiresAt }, trx);
      await this.audit.append(
        { ...auditBase(actor, null), action: 'token.create', resourceType: 'api_token', resourceId: token.id, details: { userId, name: input.name } },
        trx,
      );
    });
    return { ...presentToken(required(await this.identities.findToken(token.id), 'token just created')), token: token.plaintext };
  }

  async listTokens(actor: Actor) {
    return (await this.identities.listTokens(actor.principal.userId)).map(presentToken);
  }

  async revokeToken(actor: Actor, tokenId: string): Promise<void> {
    const token = await this.identities.findToken(tokenId);
    if (!token || (token.user_id !== actor.principal.userId && !actor.principal.isAdmin)) throw notFound('api_token');
    await this.unitOfWork.run(async (trx) => {
      await this.identities.revokeToken(tokenId, new Date(), trx);
      await this.audit.append({ ...auditBase(actor, null), action: 'token.revoke', resourceType: 'api_token', resourceId: tokenId }, trx);
    });
  }
}
