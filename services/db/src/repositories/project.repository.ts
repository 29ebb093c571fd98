import type { Kysely } from 'kysely';
import { runner, type Tx } from '../unit-of-work.js';
import type { CredentialRow, Database, MemberRow, ProjectRow } from '../schema.js';

export interface MemberWithUser extends MemberRow {
  email: string;
  name: string;
}

export class ProjectRepository {
  constructor(private readonly db: Kysely<Database>) {}

  findById(id: string): Promise<ProjectRow | undefined> {
    return this.db.selectFrom('projects').selectAll().where('id', '=', id).executeTakeFirst();
  }

  findByName(name: string): Promise<ProjectRow | undefined> {
    return this.db.selectFrom('projects').selectAll().where('name', '=', name).executeTakeFirst();
  }

  listAll(): Promise<ProjectRow[]> {
    return this.db.selectFrom('projects').selectAll().orderBy('name').execute();
  }

  listForUser(userId: string): Promise<Array<ProjectRow & { role: MemberRow['role'] }>> {
    return this.db
      .selectFrom('projects')
      .innerJoin('project_members', 'project_members.project_id', 'projects.id')
      .selectAll('projects')
      .select('project_members.role')
      .where('project_members.user_id', '=', userId)
      .orderBy('projects.name')
      .execute();
  }

  async insert(project: { id: string; name: string; displayName: string }, tx?: Tx): Promise<void> {
    await runner(this.db, tx).insertInto('projects').values({ id: project.id, name: project.name, display_name: project.displayName }).execute();
  }

  async updateDisplayName(id: string, displayName: string, tx?: Tx): Promise<void> {
    await runner(this.db, tx).updateTable('projects').set({ display_name: displayName }).where('id', '=', id).execute();
  }

  async delete(id: string, tx?: Tx): Promise<void> {
    await runner(this.db, tx).deleteFrom('projects').where('id', '=', id).execute();
  }

  /** A project with the user's role in it (null when not a member), in one round trip: every project-scoped request asks. */
  async findWithRole(projectId: string, userId: string): Promise<{ project: ProjectRow; role: MemberRow['role'] | null } | undefined> {
    const found = await this.db
      .selectFrom('projects')
      .leftJoin('project_members', (join) => join.onRef('project_members.project_id', '=', 'projects.id').on('project_members.user_id', '=', userId))
      .selectAll('projects')
      .select('project_members.role as member_role')
      .where('projects.id', '=', projectId)
      .executeTakeFirst();
    if (!found) return undefined;
    const { member_role: role, ...project } = found;
    return { project, role };
  }

  findMembership(projectId: string, userId: string, tx?: Tx): Promise<MemberRow | undefined> {
    return runner(this.db, tx).selectFrom('project_members').selectAll().where('project_id', '=', projectId).where('user_id', '=', userId).executeTakeFirst();
  }

  /** The membership of whoever holds the address, if they are in the project: one query either way. */
  findMembershipByEmail(projectId: string, email: string, tx?: Tx): Promise<MemberRow | undefined> {
    return runner(this.db, tx)
      .selectFrom('project_members')
      .innerJoin('users', 'users.id', 'project_members.user_id')
      .selectAll('project_members')
      .where('project_members.project_id', '=', projectId)
      .where('users.email', '=', email.toLowerCase())
      .executeTakeFirst();
  }

  listMembers(projectId: string): Promise<MemberWithUser[]> {
    return this.db
      .selectFrom('project_members')
      .innerJoin('users', 'users.id', 'project_members.user_id')
      .selectAll('project_members')
      .select(['users.email', 'users.name'])
      .where('project_id', '=', projectId)
      .orderBy('users.email')
      .execute();
  }

  async upsertMember(member: { projectId: string; userId: string; role: MemberRow['role'] }, tx?: Tx): Promise<void> {
    await runner(this.db, tx)
      .insertInto('project_members')
      .values({ project_id: member.projectId, user_id: member.userId, role: member.role })
      .onConflict((oc) => oc.columns(['project_id', 'user_id']).doUpdateSet({ role: member.role }))
      .execute();
  }

  async removeMember(projectId: string, userId: string, tx?: Tx): Promise<void> {
    await runner(this.db, tx).deleteFrom('project_members').where('project_id', '=', projectId).where('user_id', '=', userId).execute();
  }

  async countOwners(projectId: string, tx?: Tx): Promise<number> {
    const row = await runner(this.db, tx)
      .selectFrom('project_members')
      .select((eb) => eb.fn.countAll<string | number | bigint>().as('count'))
      .where('project_id', '=', projectId)
      .where('role', '=', 'owner')
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  listCredentials(projectId: string): Promise<CredentialRow[]> {
    return this.db.selectFrom('provider_credentials').selectAll().where('project_id', '=', projectId).orderBy('name').execute();
  }

  findCredential(projectId: string, id: string, tx?: Tx): Promise<CredentialRow | undefined> {
    return runner(this.db, tx).selectFrom('provider_credentials').selectAll().where('project_id', '=', projectId).where('id', '=', id).executeTakeFirst();
  }

  async insertCredential(row: Omit<CredentialRow, 'created_at' | 'summary'> & { summary: Record<string, string> }, tx?: Tx): Promise<void> {
    await runner(this.db, tx)
      .insertInto('provider_credentials')
      .values({ ...row, summary: JSON.stringify(row.summary) })
      .execute();
  }

  async deleteCredential(id: string, tx?: Tx): Promise<void> {
    await runner(this.db, tx).deleteFrom('provider_credentials').where('id', '=', id).execute();
  }
}
