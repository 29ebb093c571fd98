import { useState } from 'react';
import { describeError, type OwnInvitation, type Project } from '../api.js';
import { useResource } from '../hooks.js';
import { useRouter } from '../router.js';
import { useSession } from '../session.js';

/**
 * The signed-in user's pending invitations, on every page until answered: accepting joins the
 * project and opens it; declining only removes the invitation.
 */
export function InvitationsBanner() {
  const session = useSession();
  const invitations = useResource(() => session.api.list<OwnInvitation>('/me/invitations'), session.me.id);
  const items = invitations.data ?? [];
  if (items.length === 0) return null;
  return (
    <section className="card invitations" aria-labelledby="own-invitations-title">
      <h2 id="own-invitations-title">{items.length === 1 ? 'You are invited to a project' : `You are invited to ${items.length} projects`}</h2>
      <ul>
        {items.map((invitation) => (
          <OwnInvitationItem key={invitation.id} invitation={invitation} onAnswered={() => void invitations.reload()} />
        ))}
      </ul>
    </section>
  );
}

function OwnInvitationItem({ invitation, onAnswered }: { invitation: OwnInvitation; onAnswered: () => void }) {
  const session = useSession();
  const { navigate } = useRouter();
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const projectName = invitation.project.displayName || invitation.project.name;
  const answer = async (action: 'accept' | 'decline') => {
    setBusy(true);
    setError(undefined);
    try {
      const joined = await session.api.post<Project | undefined>(`/me/invitations/${invitation.id}/${action}`);
      if (joined) {
        await session.reloadProjects();
        navigate(`/projects/${joined.id}/clusters`);
      }
      onAnswered();
    } catch (caught) {
      setError(describeError(caught));
      onAnswered();
    } finally {
      setBusy(false);
    }
  };
  return (
    <li data-invitation-id={invitation.id}>
      <p>
        {invitation.invitedBy ? `${invitation.invitedBy.email} invited you` : 'You are invited'} to <strong>{projectName}</strong> as {invitation.role}.{' '}
        <span className="muted">
          Open until <time dateTime={invitation.expiresAt}>{new Date(invitation.expiresAt).toLocaleString()}</time>.
        </span>
      </p>
      <div className="actions">
        <button
          type="button"
          className="button button-primary"
          disabled={busy}
          onClick={() => void answer('accept')}
          aria-label={`Accept the invitation to ${projectName}`}
        >
          Accept
        </button>
        <button type="button" className="button" disabled={busy} onClick={() => void answer('decline')} aria-label={`Decline the invitation to ${projectName}`}>
          Decline
        </button>
      </div>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
    </li>
  );
}
