import { Injectable } from '@nestjs/common';
import { DomainError, isUuid, notFound, ROLE_RANK, type ProjectRole } from '../../../core/src/index.js';
import { ProjectRepository, type ProjectRow } from '../../../db/src/index.js';
import type { Actor } from '../auth/principal.js';

export interface ProjectAccessGrant {
  project: ProjectRow;
  role: ProjectRole;
}

/**
 * Project-scoped authorisation. Non-members get 404, never 403, so nobody learns that another
 * project's resources exist; members below the needed role get 403.
 */
@Injectable()
export class ProjectAccess {
  constructor(private readonly projects: ProjectRepository) {}

  async require(actor: Actor, projectId: string, needed: ProjectRole): Promise<ProjectAccessGrant> {
    const found = isUuid(projectId) ? await this.projects.findWithRole(projectId, actor.principal.userId) : undefined;
    if (!found) throw notFound('project');
    const { project } = found;
    const role: ProjectRole | null = actor.principal.isAdmin ? 'owner' : found.role;
    if (!role) throw notFound('project');
    if (ROLE_RANK[role] < ROLE_RANK[needed]) {
      throw new DomainError('forbidden', 'insufficient_role', `this needs the ${needed} role in the project; you are ${role}`);
    }
    return { project, role };
  }
}

export const canSeeSecrets = (role: ProjectRole): boolean => role !== 'viewer';
