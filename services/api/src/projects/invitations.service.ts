import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DomainError, ROLE_RANK, conflict, createInvitationSchema, isUuid, notFound, parseInput, required, type ProjectRole } from '../../../core/src/index.js';
import {
  AuditRepository,
  InvitationRepository,
  ProjectRepository,
  UnitOfWork,
  type InvitationRow,
  type InvitationWithInviter,
  type InvitationWithProject,
  type Tx,
} from '../../../db/src/index.js';
import { APP_CONFIG, type AppConfig } from '../../../platform/src/index.js';
import { auditBase, type Actor } from '../auth/principal.js';
import { ProjectAccess } from './project-access.js';
import { presentProject } from './projects.service.js';

/** What an invitation is now: a pending one past its expiry is expired, whatever the row says. */
const stateOf = (row: InvitationRow, now: Date) => (row.state === 'pending' && row.expires_at <= now ? 'expired' : row.state);

// Nothing here depends on whether an account with the address exists: no user id, no name.
const presentInvitation = (row: InvitationWithInviter, now = new Date()) => ({
  id: row.id,
  projectId: row.project_id,
  email: row.email,
  role: row.role,
  state: stateOf(row, now),
  createdAt: row.created_at.toISOString(),
  expiresAt: row.expires_at.toISOString(),
  invitedBy: row.invited_by && row.inviter_email ? { userId: row.invited_by, email: row.inviter_email } : null,
});

const presentOwnInvitation = (row: InvitationWithProject) => ({
  ...presentInvitation(row),
  project: { id: row.project_id, name: row.project_name, displayName: row.project_display_name },
});

const invitationNotFound = () => notFound('invitation');

/**
 * Project invitations: an owner invites an e-mail address, and whoever holds an account with
 * that address accepts or declines. Inviting never creates an account and answers the same
 * whether one exists, so owners cannot use it to find out which addresses have accounts.
 */
@Injectable()
export class InvitationsService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly unitOfWork: UnitOfWork,
    private readonly invitations: InvitationRepository,
    private readonly projects: ProjectRepository,
    private readonly audit: AuditRepository,
    private readonly access: ProjectAccess,
  ) {}

  async invite(actor: Actor, projectId: string, body: unknown) {
    await this.access.require(actor, projectId, 'owner');
    const input = parseInput(createInvitationSchema, body);
    const id = randomUUID();
    const now = new Date();
    await this.unitOfWork.run(async (trx) => {
      // Members are listed to owners anyway, so saying so reveals nothing; the query is the same
      // whether or not the address has an account.
      if (await this.projects.findMembershipByEmail(projectId, input.email, trx)) {
        throw conflict('already_member', `${input.email} is already a member of this project`);
      }
      await this.invitations.closeLapsed(projectId, input.email, now, trx);
      const stored = await this.invitations.insertPending(
        {
          id,
          projectId,
          email: input.email,
          role: input.role,
          invitedBy: actor.principal.userId,
          expiresAt: new Date(now.getTime() + this.config.invitationTtlMs),
        },
        trx,
      );
      if (!stored) throw conflict('invitation_pending', `${input.email} already has a pending invitation to this project; revoke it to send another`);
      await this.audit.append(
        {
          ...auditBase(actor, projectId),
          action: 'invitation.create',
          resourceType: 'invitation',
          resourceId: id,
          details: { email: input.email, role: input.role },
        },
        trx,
      );
    });
    return presentInvitation(required(await this.invitations.findInProject(projectId, id), 'invitation just created'));
  }

  async listForProject(actor: Actor, projectId: string) {
    await this.access.require(actor, projectId, 'owner');
    const now = new Date();
    return (await this.invitations.listPendingInProject(projectId)).map((row) => presentInvitation(row, now));
  }

  async revoke(actor: Actor, projectId: string, invitationId: string): Promise<void> {
    await this.access.require(actor, projectId, 'owner');
    if (!isUuid(invitationId)) throw invitationNotFound();
    await this.unitOfWork.run(async (trx) => {
      const invitation = await this.invitations.lockForAnswer(invitationId, trx);
      if (invitation?.project_id !== projectId) throw invitationNotFound();
      // A lapsed invitation can still be revoked: it stops showing as expired.
      if (invitation.state !== 'pending') throw conflict('invitation_not_pending', `the invitation was already ${invitation.state}`);
      await this.invitations.close(invitationId, 'revoked', new Date(), trx);
      await this.audit.append(
        {
          ...auditBase(actor, projectId),
          action: 'invitation.revoke',
          resourceType: 'invitation',
          resourceId: invitationId,
          details: { email: invitation.email, role: invitation.role },
        },
        trx,
      );
    });
  }

  async listOwn(actor: Actor) {
    return (await this.invitations.listAcceptableFor(actor.principal.email, new Date())).map(presentOwnInvitation);
  }

  /** Makes the caller a member with the invited role, or keeps a higher role they got meanwhile. */
  async accept(actor: Actor, invitationId: string) {
    const projectId = await this.unitOfWork.run(async (trx) => {
      const invitation = await this.answerable(actor, invitationId, trx);
      const membership = await this.projects.findMembership(invitation.project_id, actor.principal.userId, trx);
      const role: ProjectRole = membership && ROLE_RANK[membership.role] >= ROLE_RANK[invitation.role] ? membership.role : invitation.role;
      await this.projects.upsertMember({ projectId: invitation.project_id, userId: actor.principal.userId, role }, trx);
      await this.invitations.close(invitation.id, 'accepted', new Date(), trx);
      await this.audit.append(
        {
          ...auditBase(actor, invitation.project_id),
          action: 'invitation.accept',
          resourceType: 'invitation',
          resourceId: invitation.id,
          details: { email: invitation.email, role },
        },
        trx,
      );
      return invitation.project_id;
    });
    const project = required(await this.projects.findById(projectId), 'project just joined');
    const membership = required(await this.projects.findMembership(projectId, actor.principal.userId), 'membership just created');
    return presentProject(project, membership.role);
  }

  async decline(actor: Actor, invitationId: string): Promise<void> {
    await this.unitOfWork.run(async (trx) => {
      const invitation = await this.answerable(actor, invitationId, trx);
      await this.invitations.close(invitation.id, 'declined', new Date(), trx);
      await this.audit.append(
        {
          ...auditBase(actor, invitation.project_id),
          action: 'invitation.decline',
          resourceType: 'invitation',
          resourceId: invitation.id,
          details: { email: invitation.email, role: invitation.role },
        },
        trx,
      );
    });
  }

  /**
   * The caller's invitation, locked for this transaction, if it can still be answered. Another
   * address's invitation is not found, exactly as one that does not exist; a closed or lapsed one
   * of the caller's is gone (410) with the reason as its code.
   */
  private async answerable(actor: Actor, invitationId: string, trx: Tx): Promise<InvitationRow> {
    const invitation = isUuid(invitationId) ? await this.invitations.lockForAnswer(invitationId, trx) : undefined;
    if (invitation?.email !== actor.principal.email.toLowerCase()) throw invitationNotFound();
    const state = stateOf(invitation, new Date());
    if (state !== 'pending')
      throw new DomainError('gone', `invitation_${state}`, `this invitation was ${state === 'expired' ? 'not accepted in time' : state}`);
    return invitation;
  }
}
