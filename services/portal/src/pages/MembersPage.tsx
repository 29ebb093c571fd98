import { useId, useState, type SubmitEvent } from 'react';
import { describeError, projectPath, type Member, type ProjectRole } from '../api.js';
import { Empty, ResourceView, ScrollTable } from '../components/states.js';
import { useResource } from '../hooks.js';
import { roleIn, useSession } from '../session.js';

const ROLES: ProjectRole[] = ['owner', 'editor', 'viewer'];

export function MembersPage({ projectId }: { projectId: string }) {
  const session = useSession();
  const project = session.projects.find((candidate) => candidate.id === projectId);
  const members = useResource(() => session.api.list<Member>(`${projectPath(projectId)}/members`), projectId);
  const isOwner = roleIn(session, projectId) === 'owner';
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
      {isOwner && <AddMember projectId={projectId} onAdded={() => void members.reload()} />}
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

function AddMember({ projectId, onAdded }: { projectId: string; onAdded: () => void }) {
  const session = useSession();
  const ids = { email: useId(), role: useId() };
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<ProjectRole>('viewer');
  const [error, setError] = useState<string | undefined>(undefined);
  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    setError(undefined);
    try {
      await session.api.post(`${projectPath(projectId)}/members`, { email: email.trim(), role });
      setEmail('');
      onAdded();
    } catch (caught) {
      setError(describeError(caught));
    }
  };
  return (
    <section className="card" aria-labelledby="add-member-title">
      <h2 id="add-member-title">Add a member</h2>
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
          Add member
        </button>
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
      </form>
    </section>
  );
}
