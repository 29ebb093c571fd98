import { sql, type Kysely } from 'kysely';
import { runner, type Tx } from '../unit-of-work.js';
import type { Database, InvitationRow, InvitationState, MemberRow } from '../schema.js';

export interface InvitationWithInviter extends InvitationRow {
  inviter_email: string | null;
}

export interface InvitationWithProject extends InvitationWithInviter {
  project_name: string;
  project_display_name: string;
}

/** The partial unique index's predicate, written out so ON CONFLICT can infer that index. */
const isPending = sql<boolean>`${sql.ref('state')} = ${sql.lit('pending')}`;

export class InvitationRepository {
  constructor(private readonly db: Kysely<Database>) {}

  private withInviter(tx?: Tx) {
    return runner(this.db, tx)
      .selectFrom('project_invitations')
      .leftJoin('users as inviter', 'inviter.id', 'project_invitations.invited_by')
      .selectAll('project_invitations')
      .select('inviter.email as inviter_email');
  }

  /**
   * Stores a pending invitation unless the address already has one open in the project; false
   * then. The unique index decides, so two owners inviting at once cannot both succeed.
   */
  async insertPending(
    invitation: { id: string; projectId: string; email: string; role: MemberRow['role']; invitedBy: string; expiresAt: Date },
    tx?: Tx,
  ): Promise<boolean> {
    const result = await runner(this.db, tx)
      .insertInto('project_invitations')
      .values({
        id: invitation.id,
        project_id: invitation.projectId,
        email: invitation.email,
        role: invitation.role,
        state: 'pending',
        invited_by: invitation.invitedBy,
        expires_at: invitation.expiresAt,
      })
      .onConflict((oc) => oc.columns(['project_id', 'email']).where(isPending).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  /** Closes the address's pending invitation in the project if it lapsed, so a new one can be sent. */
  async closeLapsed(projectId: string, email: string, now: Date, tx?: Tx): Promise<void> {
    await runner(this.db, tx)
      .updateTable('project_invitations')
      .set({ state: 'expired' })
      .where('project_id', '=', projectId)
      .where('email', '=', email)
      .where('state', '=', 'pending')
      .where('expires_at', '<=', now)
      .execute();
  }

  findInProject(projectId: string, id: string, tx?: Tx): Promise<InvitationWithInviter | undefined> {
    return this.withInviter(tx).where('project_invitations.project_id', '=', projectId).where('project_invitations.id', '=', id).executeTakeFirst();
  }

  /** Pending invitations of a project, lapsed ones included (the owner sees them as expired), oldest first. */
  listPendingInProject(projectId: string): Promise<InvitationWithInviter[]> {
    return this.withInviter()
      .where('project_invitations.project_id', '=', projectId)
      .where('project_invitations.state', '=', 'pending')
      .orderBy('project_invitations.created_at')
      .orderBy('project_invitations.id')
      .execute();
  }

  /** What an address can still accept: pending and not lapsed, with the project it leads to. */
  listAcceptableFor(email: string, now: Date): Promise<InvitationWithProject[]> {
    return this.db
      .selectFrom('project_invitations')
      .innerJoin('projects', 'projects.id', 'project_invitations.project_id')
      .leftJoin('users as inviter', 'inviter.id', 'project_invitations.invited_by')
      .selectAll('project_invitations')
      .select(['inviter.email as inviter_email', 'projects.name as project_name', 'projects.display_name as project_display_name'])
      .where('project_invitations.email', '=', email)
      .where('project_invitations.state', '=', 'pending')
      .where('project_invitations.expires_at', '>', now)
      .orderBy('project_invitations.created_at')
      .orderBy('project_invitations.id')
      .execute();
  }

  /** Reads an invitation and holds its row until the transaction ends, so it is answered once. */
  lockForAnswer(id: string, tx: Tx): Promise<InvitationRow | undefined> {
    return runner(this.db, tx).selectFrom('project_invitations').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
  }

  async close(id: string, state: Exclude<InvitationState, 'pending'>, at: Date, tx?: Tx): Promise<void> {
    await runner(this.db, tx).updateTable('project_invitations').set({ state, answered_at: at }).where('id', '=', id).execute();
  }
}
