import { useId, useState, type SubmitEvent } from 'react';
import { describeError, type Project } from '../api.js';
import { Empty } from '../components/states.js';
import { Link, useRouter } from '../router.js';
import { useSession } from '../session.js';

export function ProjectsPage() {
  const session = useSession();
  return (
    <>
      <div className="page-head">
        <h1>Projects</h1>
      </div>
      <section aria-labelledby="project-list-title">
        <h2 id="project-list-title" className="visually-hidden">
          Your projects
        </h2>
        {session.projects.length === 0 ? (
          <Empty title="You are not in any project yet.">
            <p>Create one below, or ask a project owner to invite your e-mail address.</p>
          </Empty>
        ) : (
          <ul className="cards">
            {session.projects.map((project) => (
              <li key={project.id} className="card">
                <h3>
                  <Link to={`/projects/${project.id}/clusters`}>{project.displayName || project.name}</Link>
                </h3>
                <p className="muted">
                  {project.name} · your role: {project.role ?? 'member'}
                </p>
                <p>
                  <Link to={`/projects/${project.id}/members`}>Members</Link> · <Link to={`/projects/${project.id}/credentials`}>Credentials</Link>
                </p>
              </li>
            ))}
          </ul>
        )}
      </section>
      <CreateProject />
    </>
  );
}

function CreateProject() {
  const session = useSession();
  const { navigate } = useRouter();
  const ids = { name: useId(), display: useId(), hint: useId() };
  const [name, setName] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const project = await session.api.post<Project>('/projects', { name: name.trim(), ...(displayName.trim() ? { displayName: displayName.trim() } : {}) });
      await session.reloadProjects();
      navigate(`/projects/${project.id}/clusters`);
    } catch (caught) {
      setError(describeError(caught));
      setBusy(false);
    }
  };
  return (
    <section className="card" aria-labelledby="create-project-title">
      <h2 id="create-project-title">Create a project</h2>
      <form onSubmit={(event) => void submit(event)} className="stack">
        <div className="grid">
          <div className="field">
            <label htmlFor={ids.name}>Name</label>
            <input
              id={ids.name}
              required
              value={name}
              onChange={(event) => setName(event.target.value)}
              aria-describedby={ids.hint}
              autoComplete="off"
              spellCheck={false}
            />
            <p id={ids.hint} className="hint">
              Lower-case letters, digits and “-”.
            </p>
          </div>
          <div className="field">
            <label htmlFor={ids.display}>Display name (optional)</label>
            <input id={ids.display} value={displayName} onChange={(event) => setDisplayName(event.target.value)} />
          </div>
        </div>
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        <div>
          <button type="submit" className="button button-primary" disabled={busy || !name.trim()}>
            Create project
          </button>
        </div>
      </form>
    </section>
  );
}
