import { useEffect, useId, type ReactNode } from 'react';
import { InvitationsBanner } from './components/InvitationsBanner.js';
import { Loading } from './components/states.js';
import { ClusterPage } from './pages/ClusterPage.js';
import { ClustersPage } from './pages/ClustersPage.js';
import { CredentialsPage } from './pages/CredentialsPage.js';
import { MembersPage } from './pages/MembersPage.js';
import { ProjectsPage } from './pages/ProjectsPage.js';
import { SeedsPage } from './pages/SeedsPage.js';
import { SignInPage } from './pages/SignInPage.js';
import { TokensPage } from './pages/TokensPage.js';
import { Link, matchPath, useRouter } from './router.js';
import { rememberProject, rememberedProject, useSession, useSessionState } from './session.js';

export function App() {
  const { session, restoring } = useSessionState();
  if (restoring) {
    return (
      <main id="main" className="center">
        <Loading what="your session" />
      </main>
    );
  }
  if (!session) return <SignInPage />;
  return <Shell />;
}

interface Route {
  pattern: string;
  render: (params: Record<string, string>) => ReactNode;
  section?: 'clusters' | 'credentials' | 'members';
}

const ROUTES: Route[] = [
  { pattern: '/projects', render: () => <ProjectsPage /> },
  { pattern: '/projects/:projectId/clusters', section: 'clusters', render: (p) => <ClustersPage key={p.projectId} projectId={p.projectId} /> },
  {
    pattern: '/projects/:projectId/clusters/:clusterId',
    section: 'clusters',
    render: (p) => <ClusterPage key={p.clusterId} projectId={p.projectId} clusterId={p.clusterId} />,
  },
  { pattern: '/projects/:projectId/credentials', section: 'credentials', render: (p) => <CredentialsPage key={p.projectId} projectId={p.projectId} /> },
  { pattern: '/projects/:projectId/members', section: 'members', render: (p) => <MembersPage key={p.projectId} projectId={p.projectId} /> },
  { pattern: '/tokens', render: () => <TokensPage /> },
  { pattern: '/seeds', render: () => <SeedsPage /> },
];

function Shell() {
  const session = useSession();
  const { path, navigate } = useRouter();
  const switcherId = useId();
  const matched = ROUTES.map((route) => ({ route, params: matchPath(route.pattern, path) })).find((candidate) => candidate.params);
  const currentProjectId = matched?.params?.projectId;
  const project = session.projects.find((candidate) => candidate.id === currentProjectId) ?? rememberedProject(session.projects);
  const section = matched?.route.section ?? 'clusters';

  useEffect(() => {
    if (currentProjectId) rememberProject(currentProjectId);
  }, [currentProjectId]);

  useEffect(() => {
    if (path === '/' || path === '') navigate(project ? `/projects/${project.id}/clusters` : '/projects', { replace: true });
  }, [path, project, navigate]);

  useEffect(() => {
    const heading = document.querySelector('main h1');
    document.title = heading?.textContent ? `${heading.textContent} · Harbormaster` : 'Harbormaster';
  });

  const isCurrent = (to: string) => (path === to || path.startsWith(`${to}/`) ? 'page' : undefined);

  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <div className="brand">
          <Link to="/">Harbormaster</Link>
        </div>
        {session.projects.length > 0 && (
          <div className="switcher">
            <label htmlFor={switcherId}>Project</label>
            <select id={switcherId} value={project?.id ?? ''} onChange={(event) => navigate(`/projects/${event.target.value}/${section}`)}>
              {session.projects.map((candidate) => (
                <option key={candidate.id} value={candidate.id}>
                  {candidate.displayName || candidate.name}
                  {candidate.role ? ` (${candidate.role})` : ''}
                </option>
              ))}
            </select>
          </div>
        )}
        <div className="account">
          <span className="account-email" title={session.me.email}>
            {session.me.email}
            {session.me.admin ? ' · admin' : ''}
          </span>
          <button type="button" className="button button-quiet" onClick={session.signOut}>
            Sign out
          </button>
        </div>
      </header>
      <nav className="nav" aria-label="Main">
        <ul>
          {project && (
            <>
              <li>
                <Link to={`/projects/${project.id}/clusters`} aria-current={isCurrent(`/projects/${project.id}/clusters`)}>
                  Clusters
                </Link>
              </li>
              <li>
                <Link to={`/projects/${project.id}/credentials`} aria-current={isCurrent(`/projects/${project.id}/credentials`)}>
                  Credentials
                </Link>
              </li>
              <li>
                <Link to={`/projects/${project.id}/members`} aria-current={isCurrent(`/projects/${project.id}/members`)}>
                  Members
                </Link>
              </li>
            </>
          )}
          <li>
            <Link to="/projects" aria-current={path === '/projects' ? 'page' : undefined}>
              Projects
            </Link>
          </li>
          <li>
            <Link to="/tokens" aria-current={isCurrent('/tokens')}>
              API tokens
            </Link>
          </li>
          {session.me.admin && (
            <li>
              <Link to="/seeds" aria-current={isCurrent('/seeds')}>
                Seeds
              </Link>
            </li>
          )}
        </ul>
      </nav>
      <main id="main" tabIndex={-1}>
        <InvitationsBanner />
        {matched?.params ? matched.route.render(matched.params) : path === '/' ? <Loading what="your projects" /> : <NotFound />}
      </main>
    </>
  );
}

function NotFound() {
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        <Link to="/">Back to your clusters</Link>
      </p>
    </section>
  );
}
