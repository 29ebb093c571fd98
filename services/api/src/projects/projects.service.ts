import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import {
  DomainError,
  addMemberSchema,
  conflict,
  createProjectSchema,
  isUuid,
  notFound,
  parseInput,
  updateMemberSchema,
  updateProjectSchema,
  sealingContext,
  type SecretBox,
  required,
} from '../../../core/src/index.js';
import {
  AuditRepository,
  ClusterRepository,
  IdentityRepository,
  NodePoolRepository,
  ProjectRepository,
  UnitOfWork,
  type CredentialRow,
  type MemberWithUser,
  type ProjectRow,
} from '../../../db/src/index.js';
import { SECRET_BOX } from '../../../platform/src/index.js';
import { createCredentialSchema, sealCredential } from '../../../clouds/src/providers/index.js';
import { auditBase, type Actor } from '../auth/principal.js';
import { ProjectAccess } from './project-access.js';

export const presentProject = (row: ProjectRow, role?: string) => ({
  id: row.id,
  name: row.name,
  displayName: row.display_name,
  createdAt: row.created_at.toISOString(),
  ...(role ? { role } : {}),
});

const presentMember = (row: MemberWithUser) => ({
  userId: row.user_id,
  email: row.email,
  name: row.name,
  role: row.role,
  addedAt: row.created_at.toISOString(),
});

export const presentCredential = (row: CredentialRow) => ({
  id: row.id,
  name: row.name,
  provider: row.provider,
  summary: row.summary,
  createdAt: row.created_at.toISOString(),
});

@Injectable()
export class ProjectsService {
  constructor(
    private readonly unitOfWork: UnitOfWork,
    @Inject(SECRET_BOX) private readonly secrets: SecretBox,
    private readonly projects: ProjectRepository,
    private readonly identities: IdentityRepository,
    private readonly clusters: ClusterRepository,
    private readonly pools: NodePoolRepository,
    private readonly audit: AuditRepository,
    private readonly access: ProjectAccess,
  ) {}

  async create(actor: Actor, body: unknown) {
    const input = parseInput(createProjectSchema, body);
    if (await this.projects.findByName(input.name)) throw conflict('project_exists', `a project named ${input.name} already exists`);
    const id = randomUUID();
    await this.unitOfWork.run(async (trx) => {
      await this.projects.insert({ id, name: input.name, displayName: input.displayName ?? input.name }, trx);
      await this.projects.upsertMember({ projectId: id, userId: actor.principal.userId, role: 'owner' }, trx);
      await this.audit.append(
        { ...auditBase(actor, id), action: 'project.create', resourceType: 'project', resourceId: id, details: { name: input.name } },
        trx,
      );
    });
    return presentProject(required(await this.projects.findById(id), 'project just created'), 'owner');
  }

  async list(actor: Actor) {
    if (actor.principal.isAdmin) return (await this.projects.listAll()).map((row) => presentProject(row, 'owner'));
    return (await this.projects.listForUser(actor.principal.userId)).map((row) => presentProject(row, row.role));
  }

  async get(actor: Actor, projectId: string) {
    const { project, role } = await this.access.require(actor, projectId, 'viewer');
    return presentProject(project, role);
  }

  async update(actor: Actor, projectId: string, body: unknown) {
    await this.access.require(actor, projectId, 'owner');
    const input = parseInput(updateProjectSchema, body);
    await this.unitOfWork.run(async (trx) => {
      await this.projects.updateDisplayName(projectId, input.displayName, trx);
      await this.audit.append(
        { ...auditBase(actor, projectId), action: 'project.update', resourceType: 'project', resourceId: projectId, details: input },
        trx,
      );
    });
    return this.get(actor, projectId);
  }

  async delete(actor: Actor, projectId: string): Promise<void> {
    await this.access.require(actor, projectId, 'owner');
    if ((await this.clusters.countLiveInProject(projectId)) > 0) {
      throw conflict('project_has_clusters', 'delete the project’s clusters first');
    }
    await this.unitOfWork.run(async (trx) => {
      // Rows of deleted clusters only remain for history; they go with the project.
      await this.clusters.deleteAllInProject(projectId, trx);
      await this.projects.delete(projectId, trx);
      await this.audit.append({ ...auditBase(actor, null), action: 'project.delete', resourceType: 'project', resourceId: projectId }, trx);
    });
  }

  async listMembers(actor: Actor, projectId: string) {
    await this.access.require(actor, projectId, 'viewer');
    return (await this.projects.listMembers(projectId)).map(presentMember);
  }

  /**
   * Adds an existing account directly, by user id: platform admins only, who see every account
   * anyway. Owners invite (InvitationsService), so the addressee agrees and no answer here tells an
   * owner whether an account exists. The admin check comes first, so the answer to anyone else
   * does not depend on the project either.
   */
  async addMember(actor: Actor, projectId: string, body: unknown) {
    if (!actor.principal.isAdmin) {
      throw new DomainError('forbidden', 'admin_required', 'adding an account directly is for administrators; invite its e-mail address instead');
    }
    await this.access.require(actor, projectId, 'owner');
    const input = parseInput(addMemberSchema, body);
    const user = await this.identities.findUserById(input.userId);
    if (!user) throw notFound('user');
    const userId = user.id;
    if (await this.projects.findMembership(projectId, userId)) throw conflict('member_exists', `${user.email} is already a member`);
    await this.unitOfWork.run(async (trx) => {
      await this.projects.upsertMember({ projectId, userId, role: input.role }, trx);
      await this.audit.append(
        { ...auditBase(actor, projectId), action: 'member.add', resourceType: 'member', resourceId: userId, details: { email: user.email, role: input.role } },
        trx,
      );
    });
    const member = required(
      (await this.projects.listMembers(projectId)).find((row) => row.user_id === userId),
      'member just added',
    );
    return presentMember(member);
  }

  async updateMember(actor: Actor, projectId: string, userId: string, body: unknown) {
    await this.access.require(actor, projectId, 'owner');
    const input = parseInput(updateMemberSchema, body);
    const membership = isUuid(userId) ? await this.projects.findMembership(projectId, userId) : undefined;
    if (!membership) throw notFound('member');
    await this.unitOfWork.run(async (trx) => {
      if (membership.role === 'owner' && input.role !== 'owner' && (await this.projects.countOwners(projectId, trx)) <= 1) {
        throw conflict('last_owner', 'a project needs at least one owner');
      }
      await this.projects.upsertMember({ projectId, userId, role: input.role }, trx);
      await this.audit.append(
        { ...auditBase(actor, projectId), action: 'member.update', resourceType: 'member', resourceId: userId, details: { role: input.role } },
        trx,
      );
    });
    return presentMember(
      required(
        (await this.projects.listMembers(projectId)).find((row) => row.user_id === userId),
        'member just updated',
      ),
    );
  }

  async removeMember(actor: Actor, projectId: string, userId: string): Promise<void> {
    await this.access.require(actor, projectId, 'owner');
    const membership = isUuid(userId) ? await this.projects.findMembership(projectId, userId) : undefined;
    if (!membership) throw notFound('member');
    await this.unitOfWork.run(async (trx) => {
      if (membership.role === 'owner' && (await this.projects.countOwners(projectId, trx)) <= 1)
        throw conflict('last_owner', 'a project needs at least one owner');
      await this.projects.removeMember(projectId, userId, trx);
      await this.audit.append({ ...auditBase(actor, projectId), action: 'member.remove', resourceType: 'member', resourceId: userId }, trx);
    });
  }

  async listCredentials(actor: Actor, projectId: string) {
    await this.access.require(actor, projectId, 'viewer');
    return (await this.projects.listCredentials(projectId)).map(presentCredential);
  }

  async createCredential(actor: Actor, projectId: string, body: unknown) {
    await this.access.require(actor, projectId, 'editor');
    const input = parseInput(createCredentialSchema, body);
    if ((await this.projects.listCredentials(projectId)).some((row) => row.name === input.name)) {
      throw conflict('credential_exists', `a credential named ${input.name} already exists in this project`);
    }
    const id = randomUUID();
    const { secret, summary } = sealCredential(input);
    await this.unitOfWork.run(async (trx) => {
      await this.projects.insertCredential(
        {
          id,
          project_id: projectId,
          name: input.name,
          provider: input.provider,
          summary,
          sealed_secret: this.secrets.sealJson(secret, sealingContext.providerCredential(id)),
        },
        trx,
      );
      await this.audit.append(
        {
          ...auditBase(actor, projectId),
          action: 'credential.create',
          resourceType: 'credential',
          resourceId: id,
          details: { name: input.name, provider: input.provider },
        },
        trx,
      );
    });
    return presentCredential(required(await this.projects.findCredential(projectId, id), 'credential just created'));
  }

  async deleteCredential(actor: Actor, projectId: string, credentialId: string): Promise<void> {
    await this.access.require(actor, projectId, 'editor');
    if (!isUuid(credentialId) || !(await this.projects.findCredential(projectId, credentialId))) throw notFound('credential');
    if ((await this.pools.countUsingCredential(credentialId)) > 0) throw conflict('credential_in_use', 'node pools still use this credential');
    await this.unitOfWork.run(async (trx) => {
      await this.projects.deleteCredential(credentialId, trx);
      await this.audit.append({ ...auditBase(actor, projectId), action: 'credential.delete', resourceType: 'credential', resourceId: credentialId }, trx);
    });
  }

  async listAudit(actor: Actor, projectId: string | undefined, beforeId: number | undefined) {
    if (projectId) await this.access.require(actor, projectId, 'owner');
    else if (!actor.principal.isAdmin) throw new DomainError('forbidden', 'admin_required', 'the platform audit log is for administrators');
    const rows = await this.audit.list({ projectId, beforeId, limit: 200 });
    return rows.map((row) => ({
      id: row.id,
      at: row.at.toISOString(),
      actorUserId: row.actor_user_id,
      actorTokenId: row.actor_token_id,
      projectId: row.project_id,
      action: row.action,
      resourceType: row.resource_type,
      resourceId: row.resource_id,
      sourceIp: row.source_ip,
      userAgent: row.user_agent,
      details: row.details,
    }));
  }
}
