import { useId, useState, type SubmitEvent } from 'react';
import { describeError, projectPath, type Invitation, type Member, type ProjectRole } from '../api.js';
import { Empty, ResourceView, ScrollTable } from '../components/states.js';
import { useResource, type Resource } from '../hooks.js';
import { roleIn, useSession } from '../session.js';

const ROLES: ProjectRole[] = ['owner', 'editor', 'viewer'];

export function MembersPage({ projectId }: { projectId: string }) {
  const session = useSession();
  const project = session.projects.find((candidate) => candidate.id === projectId);
  const members = useResource(() => session.api.list<Member>(`${projectPath(projectId)}/members`), projectId);
  const isOwner = roleIn(session, projectId) === 'owner';
  // Only owners may read invitations; nobody else asks (a 403 would be noise).
  const invitations = useResource(
    () => (isOwner ? session.api.list<Invitation>(`${projectPath(projectId)}/invitations`) : Promise.resolve([])),
    `${projectId}:${String(isOwner)}`,
  );
  return (
    <>
      <div className="page-head">
        <h1>Members</h1>
        <p className="muted">of {project?.displayName ?? project?.name ?? 'this project'}</p>
      </div>
      <section aria-labelledby="member-list-title">
        <h2 id="member-list-title" className="visually-hidden">
          Members
        </h2>
        <ResourceView resource={members} what="members">
          {(items) =>
            items.length === 0 ? (
              <Empty title="No members." />
            ) : (
              <ScrollTable label="Members">
                <table className="table">
                  <thead>
                    <tr>
                      <th scope="col">User</th>
                      <th scope="col">Role</th>
                      {isOwner && <th scope="col">Actions</th>}
                    </tr>
                  </thead>
                  <tbody>
                    {items.map((member) => (
                      <MemberRow key={member.userId} projectId={projectId} member={member} isOwner={isOwner} onChanged={() => void members.reload()} />
                    ))}
                  </tbody>
                </table>
              </ScrollTable>
            )
          }
        </ResourceView>
      </section>
      {isOwner && <PendingInvitations projectId={projectId} invitations={invitations} />}
      {isOwner && <InviteMember projectId={projectId} onInvited={() => void invitations.reload()} />}
    </>
  );
}

function MemberRow({ projectId, member, isOwner, onChanged }: { projectId: string; member: Member; isOwner: boolean; onChanged: () => void }) {
  const session = useSession();
  const [error, setError] = useState<string | undefined>(undefined);
  const roleId = useId();
  const act = async (work: () => Promise<unknown>) => {
    setError(undefined);
    try {
      await work();
      onChanged();
    } catch (caught) {
      setError(describeError(caught));
    }
  };
  const path = `${projectPath(projectId)}/members/${member.userId}`;
  return (
    <tr>
      <td>
        {member.email}
        {member.name ? <span className="muted"> ({member.name})</span> : null}
      </td>
      <td>
        {isOwner ? (
          <>
            <label htmlFor={roleId} className="visually-hidden">
              Role of {member.email}
            </label>
            <select id={roleId} value={member.role} onChange={(event) => void act(() => session.api.patch(path, { role: event.target.value }))}>
              {ROLES.map((role) => (
                <option key={role} value={role}>
                  {role}
                </option>
              ))}
            </select>
          </>
        ) : (
          member.role
        )}
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
      </td>
      {isOwner && (
        <td>
          <button type="button" className="button button-quiet" onClick={() => void act(() => session.api.delete(path))} aria-label={`Remove ${member.email}`}>
            Remove
          </button>
        </td>
      )}
    </tr>
  );
}

function InviteMember({ projectId, onInvited }: { projectId: string; onInvited: () => void }) {
  const session = useSession();
  const ids = { email: useId(), role: useId() };
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<ProjectRole>('viewer');
  const [error, setError] = useState<string | undefined>(undefined);
  const [sent, setSent] = useState<string | undefined>(undefined);
  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    setError(undefined);
    setSent(undefined);
    try {
      const invitation = await session.api.post<Invitation>(`${projectPath(projectId)}/invitations`, { email: email.trim(), role });
      setEmail('');
      setSent(`Invitation sent to ${invitation.email}.`);
      onInvited();
    } catch (caught) {
      setError(describeError(caught));
    }
  };
  return (
    <section className="card" aria-labelledby="invite-member-title">
      <h2 id="invite-member-title">Invite a member</h2>
      <p className="muted">They join once they accept, signed in with an account of this e-mail address.</p>
      <form onSubmit={(event) => void submit(event)} className="inline-form">
        <div className="field">
          <label htmlFor={ids.email}>E-mail</label>
          <input id={ids.email} type="email" required value={email} onChange={(event) => setEmail(event.target.value)} autoComplete="off" />
        </div>
        <div className="field">
          <label htmlFor={ids.role}>Role</label>
          <select id={ids.role} value={role} onChange={(event) => setRole(event.target.value as ProjectRole)}>
            {ROLES.map((candidate) => (
              <option key={candidate} value={candidate}>
                {candidate}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" className="button button-primary" disabled={!email.trim()}>
          Invite
        </button>
        {sent && (
          <p className="muted" role="status">
            {sent}
          </p>
        )}
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
      </form>
    </section>
  );
}

/** The project's open invitations (owners only: the API lists them to nobody else). */
function PendingInvitations({ projectId, invitations }: { projectId: string; invitations: Resource<Invitation[]> }) {
  return (
    <section aria-labelledby="invitation-list-title">
      <h2 id="invitation-list-title">Pending invitations</h2>
      <ResourceView resource={invitations} what="invitations">
        {(items) =>
          items.length === 0 ? (
            <Empty title="No pending invitations." />
          ) : (
            <ScrollTable label="Pending invitations">
              <table className="table">
                <thead>
                  <tr>
                    <th scope="col">E-mail</th>
                    <th scope="col">Role</th>
                    <th scope="col">Expires</th>
                    <th scope="col">Actions</th>
                  </tr>
                </thead>
                <tbody>
                  {items.map((invitation) => (
                    <InvitationRow key={invitation.id} projectId={projectId} invitation={invitation} onRevoked={() => void invitations.reload()} />
                  ))}
                </tbody>
              </table>
            </ScrollTable>
          )
        }
      </ResourceView>
    </section>
  );
}

function InvitationRow({ projectId, invitation, onRevoked }: { projectId: string; invitation: Invitation; onRevoked: () => void }) {
  const session = useSession();
  const [error, setError] = useState<string | undefined>(undefined);
  const revoke = async () => {
    setError(undefined);
    try {
      await session.api.delete(`${projectPath(projectId)}/invitations/${invitation.id}`);
      onRevoked();
    } catch (caught) {
      setError(describeError(caught));
    }
  };
  return (
    <tr data-invitation-state={invitation.state}>
      <td>
        {invitation.email}
        {invitation.invitedBy ? <span className="muted"> (by {invitation.invitedBy.email})</span> : null}
      </td>
      <td>{invitation.role}</td>
      <td>
        {invitation.state === 'expired' ? (
          <span className="badge badge-failed">expired</span>
        ) : (
          <time dateTime={invitation.expiresAt}>{new Date(invitation.expiresAt).toLocaleString()}</time>
        )}
      </td>
      <td>
        <button type="button" className="button button-quiet" onClick={() => void revoke()} aria-label={`Revoke the invitation for ${invitation.email}`}>
          Revoke
        </button>
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
      </td>
    </tr>
  );
}
